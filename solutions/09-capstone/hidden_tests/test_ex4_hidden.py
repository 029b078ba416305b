import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


@pytest.mark.points(2)
async def test_repositories(probe, db, fixtures, shop):
    """customers by id and email; an order only for its customer, with lines; a page of orders in 2 statements"""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    shop.add_customer(1, "ada@example.com")
    shop.add_customer(2, "grace@example.com")
    shop.add_orders(1, 1, 3)
    shop.add_orders(2, 4, 4)
    calls = [
        ["customers", "get", [2], {}],
        ["customers", "get_by_email", ["ada@example.com"], {}],
        ["customers", "get_by_email", ["nobody@example.com"], {}],
        ["orders", "get_for_customer", [2, 1], {}],
        ["orders", "get_for_customer", [4, 1], {}],
        ["orders", "page_for_customer", [1], {"limit": 10, "offset": 0}],
    ]
    results = fixtures.expect_probe_ok(
        await probe(fixtures.repository_probe, database_url=db.url, calls=calls), "Calling the repositories"
    )
    raised = [
        f"{call[0]}.{call[1]}: {result['raised']}"
        for call, result in zip(calls, results, strict=True)
        if result["raised"]
    ]
    expect(not raised, "A repository call raised: " + "; ".join(raised), "Run exercise 4's cells again after changes.")
    by_id, by_email, nobody, own, other, page = (result["value"] for result in results)
    expect(
        (by_id or {}).get("email") == "grace@example.com" and (by_email or {}).get("id") == 1 and nobody is None,
        f"customers.get(2) gave {by_id}, get_by_email('ada@example.com') gave {by_email}, "
        f"get_by_email of an unknown address gave {nobody}.",
        "By id, the session's `get`; by email, a select filtered on the email, run with the session's `scalar` "
        "(one object or None).",
        answer="return await self.session.get(Customer, customer_id)\n"
        "return await self.session.scalar(select(Customer).where(Customer.email == email))",
    )
    expect(
        own is not None and own.get("id") == 2 and own.get("lines") == [[1, 3], [2, 3]],
        f"orders.get_for_customer(2, 1) gave {own}, expected order 2 with its two lines loaded.",
        "Select the order filtered on its id and its customer in one `where`, with its lines loaded by a loader "
        "option.",
        answer="statement = (\n"
        "    select(Order)\n"
        "    .where(Order.id == order_id, Order.customer_id == customer_id)\n"
        "    .options(selectinload(Order.lines))\n"
        ")\n"
        "return await self.session.scalar(statement)",
    )
    expect(
        other is None,
        f"orders.get_for_customer(4, 1) returned customer 2's order: {other}.",
        "Filter on the customer too, in the same `where` as the id.",
        answer=".where(Order.id == order_id, Order.customer_id == customer_id)",
    )
    expect(
        isinstance(page, list) and [order.get("id") for order in page] == [1, 2, 3],
        f"orders.page_for_customer(1, limit=10, offset=0) gave {page}, expected orders 1, 2, 3 in id order.",
        "Filter on customer_id, order by id, then limit and offset.",
        answer=".where(Order.customer_id == customer_id)\n"
        ".options(selectinload(Order.lines))\n"
        ".order_by(Order.id)\n"
        ".limit(limit)\n"
        ".offset(offset)",
    )
    expect(
        all(order.get("lines") is not None and len(order["lines"]) == 2 for order in page),
        f"orders.page_for_customer returned orders without their lines loaded: {page}.",
        "Load the lines in the query, with the loader option for a collection (as AuthorRepository.page does).",
        answer=".options(selectinload(Order.lines))",
    )
    small = results[-1]["statements"]
    shop.add_orders(1, 5, 120)
    again = fixtures.expect_probe_ok(
        await probe(
            fixtures.repository_probe,
            database_url=db.url,
            calls=[["orders", "page_for_customer", [1], {"limit": 100, "offset": 0}]],
        ),
        "Calling the repositories",
    )[0]
    shop.expect_flat(
        "orders.page_for_customer(1, limit=100, offset=0)",
        small,
        again["statements"],
        2,
        ("3 orders", "100"),
        "Load the lines of the whole page at once with selectinload(Order.lines); a query per order grows with "
        "the page.",
        answer=".options(selectinload(Order.lines))",
    )
