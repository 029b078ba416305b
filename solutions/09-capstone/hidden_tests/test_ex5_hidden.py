import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


async def service(probe, fixtures, db, shop, module, function, **kwargs):
    observed = await probe(
        fixtures.service_probe,
        database_url=db.url,
        module=module,
        function=function,
        kwargs=kwargs,
        jwt_secret=shop.SECRET,
    )
    return fixtures.expect_probe_ok(observed, f"Calling app.services.{module}.{function}")


@pytest.mark.points(2)
async def test_place_order_all_or_nothing(probe, db, fixtures, shop):
    """place_order takes stock for every line or none; orders are seen only by their customer"""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    shop.add_customer(1, "ada@example.com")
    shop.add_customer(2, "grace@example.com")
    before = db.snapshot()
    for customer_id, lines, error in (
        (1, [[1, 1], [2, 5]], "OutOfStock"),
        (1, [[1, 1], [99, 1]], "BookNotFound"),
        (99, [[1, 1]], "CustomerNotFound"),
    ):
        answer = await service(probe, fixtures, db, shop, "orders", "place_order", customer_id=customer_id, lines=lines)
        expect(
            answer["raised"] == error,
            f"place_order(uow, {customer_id}, {lines}) gave {answer['raised'] or answer['value']}, expected {error}.",
            "Raise the domain exception inside `async with uow:` (BookNotFound, OutOfStock when take_stock "
            "refuses, CustomerNotFound).",
            answer="if not await uow.books.take_stock(book_id, quantity):\n"
            '    raise OutOfStock(f"fewer than {quantity} copies of book {book_id} are in stock")',
        )
        expect(
            db.snapshot() == before,
            f"place_order(uow, {customer_id}, {lines}) raised {error}, yet the database changed "
            f"(stock: {shop.stock()}).",
            "Commit once, after the loop: an exception inside `async with uow:` then rolls back everything.",
            answer="uow.orders.add(order)\nawait uow.commit()  # after the loop, inside `async with uow:`",
        )
    placed = await service(probe, fixtures, db, shop, "orders", "place_order", customer_id=1, lines=[[1, 2], [2, 1]])
    order = placed["value"] or {}
    expect(
        placed["raised"] is None and order.get("customer_id") == 1 and order.get("lines") == [[1, 2], [2, 1]],
        f"place_order(uow, 1, [(1, 2), (2, 1)]) gave {placed['raised'] or order}, expected customer 1's order "
        "with both lines.",
        "Each line of the order is an OrderLine on the order's `lines`; add the order through uow.orders, commit "
        "once, and return it.",
        answer="order.lines.append(OrderLine(book_id=book_id, quantity=quantity))",
    )
    expect(
        shop.stock()[1] == 1 and shop.stock()[2] == 1,
        f"After ordering 2 of book 1 and 1 of book 2 the stock is {shop.stock()}, expected book 1: 1, book 2: 1.",
        "Take the stock of every line with the provided uow.books.take_stock, which says whether there were "
        "enough copies.",
        answer="if not await uow.books.take_stock(book_id, quantity):",
    )
    other = await service(probe, fixtures, db, shop, "orders", "get_order", customer_id=2, order_id=order.get("id"))
    expect(
        other["raised"] == "OrderNotFound",
        f"get_order for customer 2 of customer 1's order gave {other['raised'] or other['value']}, expected "
        "OrderNotFound.",
        "Ask the order repository for this customer's order of that id; None means OrderNotFound.",
        answer="order = await uow.orders.get_for_customer(order_id, customer_id)  # inside `async with uow:`\n"
        "if order is None:\n"
        '    raise OrderNotFound(f"you have no order {order_id}")',
    )
    own = await service(probe, fixtures, db, shop, "orders", "list_orders", customer_id=1, limit=10, offset=0)
    expect(
        own["raised"] is None and [o.get("id") for o in own["value"] or []] == [order.get("id")],
        f"list_orders for customer 1 gave {own['raised'] or own['value']}, expected their one order.",
        "Ask the order repository for the customer's page, inside `async with uow:`.",
        answer="async with uow:\n"
        "    return await uow.orders.page_for_customer(customer_id, limit=limit, offset=offset)",
    )


@pytest.mark.points(2)
async def test_current_customer_and_catalogue(probe, db, fixtures, shop):
    """current_customer refuses every bad token; get_book and list_books answer the catalogue"""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    shop.add_customer(1, "ada@example.com")
    good = await service(probe, fixtures, db, shop, "customers", "current_customer", token=shop.token("1"))
    expect(
        good["raised"] is None and (good["value"] or {}).get("id") == 1,
        f"current_customer with a valid token for customer 1 gave {good['raised'] or good['value']}.",
        "Decode the token with decode_access_token, then load the customer whose id is the `sub` claim (a string).",
        answer="claims = decode_access_token(settings, token, now)\n"
        'customer = await uow.customers.get(int(claims["sub"]))  # once sub is known to be all digits',
    )
    for label, token in (
        ("a customer who does not exist", shop.token("999")),
        ("a sub that is not an id", shop.token("admin")),
        ("a token signed with another key", shop.token("1", key="another key, 32 bytes or more......")),
        ("an expired token", shop.token("1", minutes=-1)),
    ):
        refused = await service(probe, fixtures, db, shop, "customers", "current_customer", token=token)
        expect(
            refused["raised"] == "InvalidToken",
            f"current_customer with {label} gave {refused['raised'] or refused['value']}, expected InvalidToken.",
            "Raise InvalidToken when the sub is not all digits or no customer has that id; decode_access_token "
            "raises it for a bad signature or an expired token.",
            answer="if not isinstance(subject, str) or not subject.isdigit():\n    raise InvalidToken(TOKEN_REFUSED)",
        )
    book = await service(probe, fixtures, db, shop, "catalogue", "get_book", book_id=2)
    expect(
        book["raised"] is None and (book["value"] or {}).get("title") == "Kindred" and book["value"].get("author"),
        f"get_book(uow, 2) gave {book['raised'] or book['value']}, expected Kindred with its author loaded.",
        "Return the book the repository's `get` finds (it loads the author).",
        answer="book = await uow.books.get(book_id)  # inside `async with uow:`",
    )
    missing = await service(probe, fixtures, db, shop, "catalogue", "get_book", book_id=99)
    expect(
        missing["raised"] == "BookNotFound",
        f"get_book(uow, 99) gave {missing['raised'] or missing['value']}, expected BookNotFound.",
        "None from the repository means BookNotFound.",
        answer='if book is None:\n    raise BookNotFound(f"there is no book {book_id}")',
    )
    page = await service(probe, fixtures, db, shop, "catalogue", "list_books", limit=2, offset=1)
    expect(
        page["raised"] is None and [b.get("id") for b in page["value"] or []] == [2, 3],
        f"list_books(uow, limit=2, offset=1) gave {page['raised'] or page['value']}, expected books 2 and 3.",
        "Ask the book repository for the page, inside `async with uow:`.",
        answer="async with uow:\n    return await uow.books.page(limit=limit, offset=offset)",
    )
