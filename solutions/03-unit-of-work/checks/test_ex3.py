"""Exercise 3: place_order and get_order."""

import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex3")

NOT_ENTERED = (
    "place_order receives a unit of work that is not entered yet: open it with `async with uow:` and "
    "commit at the end of the block."
)


def shown(value):
    """A service's return value as the message shows it: a mapped object's fields, anything else its repr."""
    return value["repr"] if isinstance(value, dict) and "repr" in value else value


def returned(observed, call):
    """What the service returned, or a failed check naming what it raised."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is not None:
        hint = NOT_ENTERED if answer["raised"] == "AttributeError" else ""
        expect(False, f"`{call}` raised {answer['raised']}: {answer['message']}", hint)
    return answer


def raised(observed, call, expected, hint="", key_line=""):
    """Check that the service raised ``expected`` (by name) and not something else; ``hint`` and ``key_line`` are
    for another exception than the unit of work's AttributeError."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is None:
        expect(
            False,
            f"`{call}` returned {shown(answer['value'])} instead of raising {expected}.",
            "If the code raises inside `async with uow:` and still returns, `__aexit__` swallowed the exception.",
        )
    expect(
        answer["raised"] == expected,
        f"`{call}` raised {answer['raised']} ({answer['message']}), expected {expected}.",
        NOT_ENTERED if answer["raised"] == "AttributeError" else hint,
        "" if answer["raised"] == "AttributeError" else key_line,
    )
    return answer


def changed_tables(before, after):
    return [table for table in before if before[table] != after.get(table)]


async def order_two_copies(ns, database_url, book_id, side):
    """Probe: one side of a race, a place_order call for two copies of a book with its own unit of work."""
    from grader.checks.bookshop import race_side

    for name in ("place_order", "UnitOfWork"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")

    async def order(sessions):
        await ns["place_order"](ns["UnitOfWork"](sessions), 2 - side, [(book_id, 2)])  # customers 2 and 1

    return await race_side(ns, database_url, order, "placed")


@pytest.mark.points(2)
async def test_place_order(call_service, tables, shop):
    """place_order takes the stock of every line, stores the order with its lines, and commits"""
    shop(tables)
    call = "place_order(uow, 1, [(1, 2), (3, 2)])"
    answer = returned(await call_service("place_order", 1, [[1, 2], [3, 2]]), call)
    order = answer["value"]
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    orders = tables.rows("SELECT id, customer_id FROM orders WHERE id != 1")
    expect(
        orders != [] or stock[1] != 5,
        f"`{call}` returned, but no new order is in the database and the stock is unchanged: nothing was committed.",
        "End place_order by adding the order through the unit of work's repository, then committing, inside "
        "`async with uow:`. A commit in the route (or in a dependency) leaves the service incomplete.",
        answer="uow.orders.add(order); await uow.commit()",
    )
    expect(
        len(orders) == 1 and orders[0]["customer_id"] == 1,
        f"After `{call}`, the new orders in the database are {orders}, expected one for customer 1.",
    )
    lines = tables.rows(
        "SELECT book_id, quantity FROM order_lines WHERE order_id = ? ORDER BY book_id", (orders[0]["id"],)
    )
    expect(
        lines == [{"book_id": 1, "quantity": 2}, {"book_id": 3, "quantity": 2}],
        f"After `{call}`, the new order's lines are {lines}.",
        "Append one `OrderLine(book_id=..., quantity=...)` per pair to `order.lines`.",
        answer="order.lines.append(OrderLine(book_id=book_id, quantity=quantity))",
    )
    expect(
        stock == {1: 3, 2: 1, 3: 0},
        f"After `{call}` with stock 5, 1, 2 the stock is {stock}, expected {{1: 3, 2: 1, 3: 0}}.",
        "Take the stock of every line through the unit of work's book repository.",
        answer="if not await uow.books.take_stock(book_id, quantity): raise OutOfStock(book_id)",
    )
    expect(
        isinstance(order, dict) and order.get("type") == "Order" and order.get("id") == orders[0]["id"],
        f"`{call}` returned {order}, expected the new Order with its id.",
        "Return the order after the commit (expire_on_commit=False keeps it readable).",
    )
    expect(
        order.get("lines") is not None and sorted(order["lines"]) == [[1, 2], [3, 2]],
        f"The returned order's lines are {order.get('lines')}.",
        "Attach the lines to the order you return, not only to the session.",
        answer="order.lines.append(OrderLine(book_id=book_id, quantity=quantity))",
    )
    expect(
        answer["checked_out"] == 0,
        f"After place_order returned, {answer['checked_out']} connection(s) were still checked out.",
        "Do the work inside `async with uow:` so the unit of work closes its session.",
    )


@pytest.mark.points(2)
async def test_out_of_stock_changes_nothing(call_service, tables, shop):
    """an order with one line out of stock raises OutOfStock and changes nothing"""
    shop(tables)
    before = tables.snapshot()
    call = "place_order(uow, 1, [(1, 2), (2, 3)])"
    raised(await call_service("place_order", 1, [[1, 2], [2, 3]]), call, "OutOfStock")
    after = tables.snapshot()
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    expect(
        not changed_tables(before, after),
        f"`{call}` raised OutOfStock (book 2 has 1 copy), but {', '.join(changed_tables(before, after))} changed "
        f"(stock is now {stock}): the first line was stored anyway.",
        "All or nothing: raise inside `async with uow:` and commit once, after the loop. A commit inside the "
        "loop, or in `__aexit__`, makes the lines before the failing one permanent.",
    )


@pytest.mark.points(1)
async def test_place_order_not_found_changes_nothing(call_service, tables, shop):
    """place_order raises CustomerNotFound or BookNotFound for an unknown id, and changes nothing"""
    shop(tables)
    before = tables.snapshot()
    call = "place_order(uow, 7, [(2, 1)])"
    raised(
        await call_service("place_order", 7, [[2, 1]]),
        call,
        "CustomerNotFound",
        "Look the customer up through the unit of work's customer repository before anything else, and raise the "
        "domain exception when there is none: the foreign key would refuse the order only at commit, as an "
        "IntegrityError the route cannot answer with a 404.",
        key_line="if await uow.customers.get(customer_id) is None: raise CustomerNotFound(customer_id)",
    )
    expect(
        not changed_tables(before, tables.snapshot()),
        f"`{call}` raised CustomerNotFound, but {', '.join(changed_tables(before, tables.snapshot()))} changed.",
        "Look the customer up before anything is written, and raise inside `async with uow:`.",
    )
    call = "place_order(uow, 2, [(3, 1), (50, 1)])"
    raised(
        await call_service("place_order", 2, [[3, 1], [50, 1]]),
        call,
        "BookNotFound",
        "Look each book up through the unit of work's book repository before taking its stock, and raise the domain "
        "exception when there is none.",
        key_line="if await uow.books.get(book_id) is None: raise BookNotFound(book_id)",
    )
    changed = changed_tables(before, tables.snapshot())
    stock = tables.rows("SELECT stock FROM books WHERE id = 3")[0]["stock"]
    expect(
        not changed,
        f"`{call}` raised BookNotFound for book 50, but {', '.join(changed)} changed (book 3's stock is now {stock}): "
        "the line before the unknown book was kept.",
        "Raise inside `async with uow:` and commit once, after the loop: leaving the block with an exception rolls "
        "back the stock taken for the earlier lines.",
    )


@pytest.mark.points(1)
async def test_two_lines_for_one_book(call_service, tables, shop):
    """two lines for the same book each take their copies: 2 + 3 of 5 are sold, 1 + 1 of 1 is refused"""
    shop(tables)
    call = "place_order(uow, 2, [(1, 2), (1, 3)])"
    answer = returned(await call_service("place_order", 2, [[1, 2], [1, 3]]), call)
    stock = tables.rows("SELECT stock FROM books WHERE id = 1")[0]["stock"]
    lines = tables.rows("SELECT book_id, quantity FROM order_lines WHERE order_id != 1 ORDER BY quantity")
    expect(
        stock == 0 and lines == [{"book_id": 1, "quantity": 2}, {"book_id": 1, "quantity": 3}],
        f"After `{call}` with 5 copies of book 1 in stock, its stock is {stock} and the order's lines are {lines}; "
        "expected stock 0 and both lines.",
        "Every pair of `lines` is a line of its own: take its stock and add its OrderLine, even when an earlier line "
        "named the same book. Grouping the lines by book (a dict) keeps only one of them.",
        answer="for book_id, quantity in lines:",
    )
    expect(
        answer["value"].get("lines") is not None and sorted(answer["value"]["lines"]) == [[1, 2], [1, 3]],
        f"The order `{call}` returned has lines {answer['value'].get('lines')}, expected [[1, 2], [1, 3]].",
    )
    before = tables.snapshot()
    call = "place_order(uow, 2, [(2, 1), (2, 1)])"
    raised(await call_service("place_order", 2, [[2, 1], [2, 1]]), call, "OutOfStock")
    changed = changed_tables(before, tables.snapshot())
    expect(
        not changed,
        f"`{call}` with 1 copy of book 2 in stock raised OutOfStock, but {', '.join(changed)} changed: the first "
        "line's copy was kept.",
        "The second line's take_stock finds no copy left and refuses; the whole order must go, the first line with it.",
    )


@pytest.mark.points(1)
async def test_get_order_returns_lines_or_raises(call_service, tables, seeder):
    """get_order returns the order with its lines loaded, and raises OrderNotFound for an unknown id"""
    seeder(
        tables,
        authors=[(1, "Octavia E. Butler")],
        books=[(1, "Kindred", 999, 5, 1), (2, "Dawn", 899, 2, 1)],
        customers=[(1, "Ada"), (2, "Grace")],
        orders=[(4, 2), (5, 1)],
        lines=[(6, 4, 2, 1), (7, 5, 1, 2), (8, 5, 2, 1)],
    )
    call = "get_order(uow, 5)"
    answer = bookshop.service_answer(await call_service("get_order", 5), call)
    expect(
        answer["raised"] is None,
        f"`{call}` raised {answer['raised']}: {answer['message']}",
        "get_order receives a unit of work that is not entered yet: read the order inside `async with uow:`."
        if answer["raised"] == "AttributeError"
        else "",
        answer="async with uow: order = await uow.orders.get(order_id)",
    )
    order = answer["value"]
    expect(
        not (isinstance(order, dict) and order.get("expired")),
        f"`{call}` returned an order whose attributes were expired: it cannot be read any more.",
        "Leaving the unit of work normally must not expire what it loaded: only a block that raised is rolled back "
        "(exercise 2).",
    )
    expect(
        isinstance(order, dict) and order.get("id") == 5 and order.get("customer_id") == 1,
        f"`{call}` returned {order}, expected order 5 of customer 1.",
        "Read the order through the unit of work's order repository, inside `async with uow:`.",
        answer="async with uow: order = await uow.orders.get(order_id)",
    )
    expect(
        order.get("lines") is not None and sorted(order["lines"]) == [[1, 2], [2, 1]],
        f"The order from `{call}` has lines {order.get('lines')}, expected [[1, 2], [2, 1]], loaded with it.",
        "get_order returns what OrderRepository.get (exercise 1) loads: the order and its lines in one query.",
        answer="select(Order).where(Order.id == order_id).options(selectinload(Order.lines))",
    )
    call = "get_order(uow, 6)"
    answer = bookshop.service_answer(await call_service("get_order", 6), call)
    expect(
        answer["raised"] == "OrderNotFound",
        f"`{call}` for an order that does not exist "
        + (
            f"raised {answer['raised']} ({answer['message']})"
            if answer["raised"]
            else f"returned {shown(answer['value'])}"
        )
        + ", expected OrderNotFound.",
        "The repository answers None for an unknown id; the service turns that into its domain exception.",
        answer="if order is None: raise OrderNotFound(order_id)",
    )


@pytest.mark.points(2)
async def test_place_order_race_for_two_copies(learner, tables, seeder):
    """two place_order calls at once for the same 2 copies: exactly one order is placed, the other raises OutOfStock"""
    book_ids = [5, 6]
    seeder(
        tables,
        authors=[(2, "N. K. Jemisin")],
        books=[(n, f"Two copies {n}", 1599, 2, 2) for n in book_ids],
        customers=[(1, "Ada"), (2, "Grace")],
    )
    outcomes = [await bookshop.race(learner, order_two_copies, database_url=tables.url, book_id=n) for n in book_ids]
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    sold = {
        row["book_id"]: row["copies"]
        for row in tables.rows("SELECT book_id, SUM(quantity) AS copies FROM order_lines GROUP BY book_id")
    }
    for book_id, results in zip(book_ids, outcomes, strict=True):
        errors = [result for result in results if result not in ("OutOfStock", "placed")]
        expect(not errors, f"Two concurrent `place_order(uow, ..., [({book_id}, 2)])` calls gave {results}.")
        expect(
            results != ["placed", "placed"] or sold.get(book_id) != 2 or stock[book_id] != 0,
            f"Two customers ordered the same 2 copies at the same time: both calls returned, yet only one order was "
            f"stored and the stock is {stock[book_id]}: the other call's OutOfStock never reached its caller.",
            "An exception raised inside `async with uow:` must come out of it: `__aexit__` returns None (exercise 2).",
        )
        expect(
            sorted(results) == ["OutOfStock", "placed"] and stock[book_id] == 0 and sold.get(book_id) == 2,
            f"Two customers ordered the same 2 copies at the same time: place_order gave {results}, "
            f"{sold.get(book_id, 0)} copies were sold and the stock is now {stock[book_id]}. Exactly one order may "
            "get them; the other must raise OutOfStock.",
            "A stock read and compared in Python is out of date when it is written back: both orders saw 2 copies. "
            "Let `uow.books.take_stock` decide, the one conditional UPDATE, and raise OutOfStock when it refuses.",
            answer="if not await uow.books.take_stock(book_id, quantity): raise OutOfStock(book_id)",
        )
