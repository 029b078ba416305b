"""Exercise 3: place_order and get_order."""

import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex3")

NOT_ENTERED = (
    "place_order receives a unit of work that is not entered yet: open it with `async with uow:` and "
    "commit at the end of the block."
)


def returned(observed, call):
    """What the service returned, or a failed check naming what it raised."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is not None:
        hint = NOT_ENTERED if answer["raised"] == "AttributeError" else ""
        expect(False, f"`{call}` raised {answer['raised']}: {answer['message']}", hint)
    return answer


def raised(observed, call, expected):
    """Check that the service raised ``expected`` (by name) and not something else."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is None:
        expect(
            False,
            f"`{call}` returned {answer['value']} instead of raising {expected}.",
            "If the code raises inside `async with uow:` and still returns, `__aexit__` swallowed the exception.",
        )
    expect(
        answer["raised"] == expected,
        f"`{call}` raised {answer['raised']} ({answer['message']}), expected {expected}.",
        NOT_ENTERED if answer["raised"] == "AttributeError" else "",
    )
    return answer


def changed_tables(before, after):
    return [table for table in before if before[table] != after.get(table)]


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
