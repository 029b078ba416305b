import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex1")


async def write_then_roll_back(ns, database_url):
    """take_stock and OrderRepository.add in one session, flush, then roll back: did anything stay?"""
    import inspect

    for name in ("BookRepository", "OrderRepository", "Order", "OrderLine", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            taken = await ns["BookRepository"](session).take_stock(1, 2)
            order = ns["Order"](customer_id=1, lines=[ns["OrderLine"](book_id=1, quantity=2)])
            added = ns["OrderRepository"](session).add(order)
            if inspect.isawaitable(added):
                await added
            await session.flush()
            await session.rollback()
        return {"taken": repr(taken)}
    finally:
        await engine.dispose()


async def take_last_copy(ns, database_url, book_id, side):
    """Probe: one side of a race, a session that calls take_stock(book, 1) and commits."""
    for name in ("BookRepository", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            try:
                taken = await ns["BookRepository"](session).take_stock(book_id, 1)
                await session.commit()
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"[:200]
            return repr(taken)
    finally:
        await engine.dispose()


@pytest.mark.points(1)
async def test_repositories_never_commit(learner, tables, shop):
    """repositories leave committing to the unit of work"""
    shop(tables)
    before = tables.snapshot()
    observed = await learner.probe(write_then_roll_back, database_url=tables.url)
    expect(observed.ok, f"take_stock and OrderRepository.add in one session raised {observed.describe_error()}.")
    expect(
        observed.value["taken"] == "True",
        f"`take_stock(1, 2)` with 5 copies in stock returned {observed.value['taken']}.",
    )
    after = tables.snapshot()
    changed = [table for table in before if before[table] != after.get(table)]
    expect(
        not changed,
        f"take_stock and OrderRepository.add were followed by a rollback, yet {', '.join(changed)} changed: "
        "a repository committed.",
        "Repositories only talk to the session (get, add, execute); `commit()` belongs to the unit of work, "
        "which alone knows when the whole operation is done.",
    )


@pytest.mark.points(1)
async def test_take_stock_is_atomic(learner, tables, seeder):
    """take_stock run twice at once for the last copy gives it to exactly one caller"""
    books = [(n, f"Last copy {n}", 100, 1, 1) for n in range(1, 5)]
    seeder(tables, authors=[(1, "Ted Chiang")], books=books)
    outcomes = [await bookshop.race(learner, take_last_copy, database_url=tables.url, book_id=n) for n in range(1, 5)]
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    for book_id, results in zip([1, 2, 3, 4], outcomes, strict=True):
        errors = [result for result in results if result not in ("True", "False")]
        expect(not errors, f"Two concurrent `take_stock({book_id}, 1)` calls gave {results}.")
        expect(
            sorted(results) == ["False", "True"] and stock[book_id] == 0,
            f"Two sessions called `take_stock({book_id}, 1)` at the same time for the last copy: they returned "
            f"{results} and the stock is now {stock[book_id]}. Exactly one may get it, and stock never goes below 0.",
            "Read-compare-write in Python loses the race: both read stock 1. Let the database check and change in "
            "one statement, `UPDATE books SET stock = stock - :q WHERE id = :id AND stock >= :q`, and return "
            "whether it changed a row (`rowcount == 1`).",
            answer="update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)",
        )
