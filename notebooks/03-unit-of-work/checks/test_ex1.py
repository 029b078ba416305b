"""Exercise 1: the repositories."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

TAKE_STOCK = "update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)"
GET_ORDER = "select(Order).where(Order.id == order_id).options(selectinload(Order.lines))"


async def book_repository_get(ns, database_url):
    """BookRepository(session).get for a known and an unknown id."""
    for name in ("BookRepository", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            repository = ns["BookRepository"](session)
            found = await repository.get(2)
            missing = await repository.get(999)
        return {
            "found": [type(found).__name__, getattr(found, "id", None), getattr(found, "title", None)],
            "missing": repr(missing)[:100],
        }
    finally:
        await engine.dispose()


async def take_stock_sequence(ns, database_url, book_id, quantities, commit):
    """take_stock(book_id, q) for each q in turn, in one session; commit at the end if asked."""
    for name in ("BookRepository", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            repository = ns["BookRepository"](session)
            taken = [await repository.take_stock(book_id, quantity) for quantity in quantities]
            if commit:
                await session.commit()
        return [repr(value) for value in taken]
    finally:
        await engine.dispose()


async def add_then_get_order(ns, database_url):
    """OrderRepository.add an order with two lines and commit; then OrderRepository.get it in a new session."""
    import inspect

    for name in ("OrderRepository", "Order", "OrderLine", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    sessions = ns["make_sessionmaker"](engine)
    seen = {}
    try:
        async with sessions() as session:
            order = ns["Order"](
                customer_id=1,
                lines=[ns["OrderLine"](book_id=1, quantity=2), ns["OrderLine"](book_id=3, quantity=1)],
            )
            added = ns["OrderRepository"](session).add(order)
            if inspect.isawaitable(added):
                await added
            await session.commit()
            seen["id"] = order.id
        async with sessions() as session:
            repository = ns["OrderRepository"](session)
            found = await repository.get(seen["id"])
            seen["missing"] = repr(await repository.get(999))[:100]
        seen["found"] = type(found).__name__
        try:
            seen["lines"] = sorted([line.book_id, line.quantity] for line in found.lines)
        except Exception as exc:
            seen["lines"] = f"{type(exc).__name__}: {exc}"[:300]
        return seen
    finally:
        await engine.dispose()


@pytest.mark.points(1)
async def test_book_repository_get(learner, tables, shop):
    """BookRepository.get returns the book, or None for an unknown id"""
    shop(tables)
    observed = await learner.probe(book_repository_get, database_url=tables.url)
    expect(observed.ok, f"`BookRepository(session).get(...)` raised {observed.describe_error()}.")
    expect(
        observed.value["found"] == ["Book", 2, "Parable of the Sower"],
        f"`BookRepository(session).get(2)` returned {observed.value['found']}, expected book 2.",
        "Do as the given `CustomerRepository.get` does, for a Book.",
        answer="return await self.session.get(Book, book_id)",
    )
    expect(
        observed.value["missing"] == "None",
        f"`BookRepository(session).get(999)` returned {observed.value['missing']}, expected None.",
        "`session.get` returns None for an unknown id; return that, do not raise.",
        answer="return await self.session.get(Book, book_id)",
    )


@pytest.mark.points(1)
async def test_take_stock(learner, tables, shop):
    """take_stock takes copies when enough are in stock, and refuses (changing nothing) otherwise"""
    shop(tables)
    observed = await learner.probe(
        take_stock_sequence, database_url=tables.url, book_id=1, quantities=[2, 4, 3], commit=True
    )
    expect(observed.ok, f"`BookRepository(session).take_stock(...)` raised {observed.describe_error()}.")
    stock = tables.rows("SELECT stock FROM books WHERE id = 1")[0]["stock"]
    expect(
        observed.value == ["True", "False", "True"],
        f"With 5 copies in stock, take_stock(1, 2), then (1, 4), then (1, 3) returned {observed.value}; "
        "expected True (5 -> 3), False (only 3 left), True (3 -> 0).",
        "Return whether the conditional UPDATE changed a row, as a bool: not the row count or the result.",
        answer="return result.rowcount == 1",
    )
    expect(
        stock == 0,
        f"After taking 2, being refused 4 and taking 3 of 5 copies (and a commit), the stock is {stock}, expected 0.",
        "UPDATE books SET stock = stock - :quantity WHERE id = :book_id AND stock >= :quantity: the worked "
        "example's statement, with the arguments in place of its constants, executed on the session.",
        answer=TAKE_STOCK,
    )
    unknown = await learner.probe(
        take_stock_sequence, database_url=tables.url, book_id=999, quantities=[1], commit=False
    )
    expect(
        unknown.ok and unknown.value == ["False"],
        "`take_stock(999, 1)` for a book that does not exist "
        + (f"returned {unknown.value[0]}" if unknown.ok else f"raised {unknown.describe_error()}")
        + ", expected False.",
        "The UPDATE changes no row for an unknown id: rowcount 0, so return False.",
        answer="return result.rowcount == 1",
    )


@pytest.mark.points(1)
async def test_order_repository_add_and_get(learner, tables, shop):
    """OrderRepository.add stores an order with its lines; get returns it with the lines loaded"""
    shop(tables)
    observed = await learner.probe(add_then_get_order, database_url=tables.url)
    expect(observed.ok, f"Adding an order and getting it back raised {observed.describe_error()}.")
    rows = tables.rows(
        "SELECT book_id, quantity FROM order_lines WHERE order_id = ? ORDER BY book_id", (observed.value["id"],)
    )
    expect(
        rows == [{"book_id": 1, "quantity": 2}, {"book_id": 3, "quantity": 1}],
        f"After `OrderRepository(session).add(order)` and a commit, the order's lines in the database are {rows}.",
        "Adding the order to the session adds the lines attached to it too.",
        answer="self.session.add(order)",
    )
    expect(
        observed.value["found"] == "Order",
        f"`OrderRepository(session).get({observed.value['id']})` returned a {observed.value['found']}, "
        "expected the Order.",
        "Select the order by its id and read one object with `session.scalar`.",
        answer=GET_ORDER,
    )
    lines = observed.value["lines"]
    expect(
        lines == [[1, 2], [3, 1]],
        f"Reading `order.lines` on the order from `OrderRepository.get` gave {lines}.",
        "Order.lines is lazy='raise': load the lines in the same query, with a loader option on the select.",
        answer=GET_ORDER,
    )
    expect(
        observed.value["missing"] == "None",
        f"`OrderRepository(session).get(999)` returned {observed.value['missing']}, expected None.",
        "`session.scalar(...)` is None when no row matches; return that.",
        answer="return await self.session.scalar(statement)",
    )
