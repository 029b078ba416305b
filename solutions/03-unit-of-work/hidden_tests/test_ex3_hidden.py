import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex3")


def expect_raised(observed, call, expected):
    """Check that the service raised ``expected`` (by name) and not something else."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is None:
        expect(False, f"`{call}` returned {answer['value']} instead of raising {expected}.")
    expect(
        answer["raised"] == expected,
        f"`{call}` raised {answer['raised']} ({answer['message']}), expected {expected}.",
        "Services raise the domain exceptions (CustomerNotFound, BookNotFound, OutOfStock), not HTTPException.",
    )


def expect_unchanged(before, after, call):
    changed = [table for table in before if before[table] != after.get(table)]
    expect(
        not changed,
        f"`{call}` raised, but {', '.join(changed)} changed anyway.",
        "Raise inside `async with uow:` and commit only at the end, so that the unit of work rolls back the rest.",
    )


async def order_last_copy(ns, database_url, book_id, side):
    """Probe: one side of a race, a place_order call for one copy of a book with its own unit of work."""
    from grader.checks.bookshop import race_side

    for name in ("place_order", "UnitOfWork"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")

    async def order(sessions):
        await ns["place_order"](ns["UnitOfWork"](sessions), side + 1, [(book_id, 1)])  # customers 1 and 2

    return await race_side(ns, database_url, order, "placed")


@pytest.mark.points(1)
async def test_place_order_unknown_customer_or_book(call_service, tables, shop):
    """an unknown customer or book raises CustomerNotFound or BookNotFound and changes nothing"""
    shop(tables)
    before = tables.snapshot()
    call = "place_order(uow, 99, [(1, 1)])"
    expect_raised(await call_service("place_order", 99, [[1, 1]]), call, "CustomerNotFound")
    expect_unchanged(before, tables.snapshot(), call)
    call = "place_order(uow, 1, [(1, 1), (99, 1)])"
    expect_raised(await call_service("place_order", 1, [[1, 1], [99, 1]]), call, "BookNotFound")
    expect_unchanged(before, tables.snapshot(), call)


@pytest.mark.points(1)
async def test_same_book_on_two_lines(call_service, tables, shop):
    """two lines for the same book take stock for both, all or nothing"""
    shop(tables)
    before = tables.snapshot()
    call = "place_order(uow, 1, [(3, 1), (3, 2)])"
    expect_raised(await call_service("place_order", 1, [[3, 1], [3, 2]]), call, "OutOfStock")
    expect_unchanged(before, tables.snapshot(), call)
    call = "place_order(uow, 1, [(3, 1), (3, 1)])"
    observed = await call_service("place_order", 1, [[3, 1], [3, 1]])
    expect(
        observed.ok and observed.value["raised"] is None,
        f"`{call}` with 2 copies of book 3 in stock raised "
        f"{observed.value['raised'] if observed.ok else observed.describe_error()}.",
    )
    stock = tables.rows("SELECT stock FROM books WHERE id = 3")[0]["stock"]
    expect(stock == 0, f"After `{call}` with 2 copies in stock, book 3's stock is {stock}, expected 0.")


@pytest.mark.points(1)
async def test_get_order_service(call_service, tables, shop):
    """get_order returns the order with its lines, and raises OrderNotFound for an unknown id"""
    shop(tables)
    observed = await call_service("get_order", 1)
    expect(observed.ok, f"`get_order(uow, 1)` could not run: {observed.describe_error()}.")
    answer = observed.value
    expect(
        answer["raised"] is None,
        f"`get_order(uow, 1)` raised {answer['raised']}: {answer['message']}",
        "Use `uow.orders.get(order_id)` inside `async with uow:`.",
        answer="async with uow: order = await uow.orders.get(order_id)",
    )
    order = answer["value"]
    expect(
        not (isinstance(order, dict) and order.get("expired")),
        "`get_order(uow, 1)` returned an order whose attributes were expired: it cannot be read any more.",
        "Leaving the unit of work normally must not call `rollback()`, which expires every object the session "
        "loaded; `close()` alone discards what was not committed and keeps them readable.",
    )
    expect(
        isinstance(order, dict) and order.get("id") == 1 and order.get("customer_id") == 2,
        f"`get_order(uow, 1)` returned {order}, expected order 1 of customer 2.",
    )
    expect(
        order.get("lines") == [[3, 1]],
        f"The order from `get_order(uow, 1)` has lines {order.get('lines')}, expected [[3, 1]] (loaded).",
        "OrderRepository.get must load the lines in the same query, with a loader option on the select.",
        answer="select(Order).where(Order.id == order_id).options(selectinload(Order.lines))",
    )
    call = "get_order(uow, 999)"
    expect_raised(await call_service("get_order", 999), call, "OrderNotFound")


@pytest.mark.points(2)
async def test_place_order_race_for_last_copy(learner, tables, seeder):
    """two place_order calls at once for the last copy: exactly one succeeds, stock never below zero"""
    book_ids = [1, 2, 3, 4]
    seeder(
        tables,
        authors=[(1, "Ted Chiang")],
        books=[(n, f"Last copy {n}", 100, 1, 1) for n in book_ids],
        customers=[(1, "Ada"), (2, "Grace")],
    )
    outcomes = [await bookshop.race(learner, order_last_copy, database_url=tables.url, book_id=n) for n in book_ids]
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    sold = {
        row["book_id"]: row["copies"]
        for row in tables.rows("SELECT book_id, SUM(quantity) AS copies FROM order_lines GROUP BY book_id")
    }
    for book_id, results in zip(book_ids, outcomes, strict=True):
        expect(
            sorted(results) == ["OutOfStock", "placed"] and stock[book_id] == 0 and sold.get(book_id) == 1,
            f"Two customers ordered the last copy of a book at the same time: place_order gave {results}, "
            f"{sold.get(book_id, 0)} copies were sold and the stock is now {stock[book_id]}. Exactly one order may "
            "succeed; the other must raise OutOfStock.",
            "Checking `book.stock` in Python and writing it back loses the race: both requests read stock 1. "
            "Take the stock with `uow.books.take_stock(book_id, quantity)`, the one conditional UPDATE, and raise "
            "OutOfStock when it returns False.",
        )
