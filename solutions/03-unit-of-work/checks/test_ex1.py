"""Exercise 1: the repositories."""

import pytest

from grader.checks import bookshop, expect

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


async def repositories_in_callers_transaction(ns, database_url, finish):
    """The caller writes customer 3, then uses every repository in the same session (BookRepository.get and
    take_stock(3, 2), OrderRepository.add and get for customer 2) and ends with ``finish``, "rollback" or
    "commit": a repository that committed, rolled back or closed the session shows in what is left."""
    import inspect

    needed = ("BookRepository", "OrderRepository", "Customer", "Order", "OrderLine", "make_engine", "make_sessionmaker")
    for name in needed:
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            session.add(ns["Customer"](id=3, name="Hedy"))
            await session.flush()
            books, orders = ns["BookRepository"](session), ns["OrderRepository"](session)
            await books.get(3)
            taken = await books.take_stock(3, 2)
            order = ns["Order"](customer_id=2, lines=[ns["OrderLine"](book_id=3, quantity=2)])
            added = orders.add(order)
            if inspect.isawaitable(added):
                await added
            await session.flush()
            await orders.get(order.id)
            if finish == "rollback":
                await session.rollback()
            else:
                await session.commit()
        return {"taken": repr(taken)}
    finally:
        await engine.dispose()


async def take_copies(ns, database_url, book_id, quantity, side):
    """Probe: one side of a race, a session that calls take_stock(book_id, quantity) and commits."""
    for name in ("BookRepository", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            try:
                taken = await ns["BookRepository"](session).take_stock(book_id, quantity)
                await session.commit()
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"[:200]
            return repr(taken)
    finally:
        await engine.dispose()


async def add_without_await(ns, database_url):
    """OrderRepository(session).add(order) called as a plain function: is the order in the session after it?"""
    import inspect

    for name in ("OrderRepository", "Order", "OrderLine", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            order = ns["Order"](customer_id=2, lines=[ns["OrderLine"](book_id=2, quantity=1)])
            returned = ns["OrderRepository"](session).add(order)
            awaitable = inspect.isawaitable(returned)
            if inspect.iscoroutine(returned):
                returned.close()  # never run: what counts is what the plain call did
            return {"awaitable": awaitable, "in_session": order in session, "returned": repr(returned)[:100]}
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


@pytest.mark.points(1)
async def test_repositories_never_commit_roll_back_or_close(learner, tables, shop):
    """repositories never commit, roll back or close the session: the caller decides what is kept"""
    shop(tables)
    before = tables.snapshot()
    observed = await learner.probe(repositories_in_callers_transaction, database_url=tables.url, finish="rollback")
    expect(observed.ok, f"Using the repositories in one session raised {observed.describe_error()}.")
    expect(
        observed.value["taken"] == "True",
        f"`take_stock(3, 2)` with 2 copies in stock returned {observed.value['taken']}, expected True.",
    )
    changed = [table for table in before if before[table] != tables.snapshot().get(table)]
    expect(
        not changed,
        f"The caller wrote a customer, used the repositories (take_stock(3, 2), OrderRepository.add) and rolled "
        f"back, yet {', '.join(changed)} changed: a repository committed.",
        "A repository only talks to the session (get, add, execute); whether the whole operation is kept is the "
        "caller's decision, the unit of work's in exercise 2.",
    )
    observed = await learner.probe(repositories_in_callers_transaction, database_url=tables.url, finish="commit")
    expect(observed.ok, f"Using the repositories in one session, then committing, raised {observed.describe_error()}.")
    customers = [row["name"] for row in tables.rows("SELECT name FROM customers WHERE id = 3")]
    stock = tables.rows("SELECT stock FROM books WHERE id = 3")[0]["stock"]
    lines = tables.rows(
        "SELECT o.customer_id, l.book_id, l.quantity FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE o.id != 1"
    )
    expect(
        customers == ["Hedy"] and stock == 0 and lines == [{"customer_id": 2, "book_id": 3, "quantity": 2}],
        f"The caller wrote customer 3, used the repositories and committed once at the end; then customer 3 is "
        f"{customers or 'missing'}, book 3's stock {stock} (expected 0) and the new order lines {lines}: a "
        "repository rolled back or closed the session, and what came before it was lost.",
        "A repository neither ends nor closes the transaction it is given: no `rollback()`, no `close()`, and no "
        "`async with` on the session inside a repository method.",
    )


@pytest.mark.points(1)
async def test_order_repository_add_is_plain_def(learner, db):
    """OrderRepository.add is a plain def: called without await, it puts the order in the session"""
    observed = await learner.probe(add_without_await, database_url=db.url)
    expect(observed.ok, f"`OrderRepository(session).add(order)` raised {observed.describe_error()}.")
    expect(
        not observed.value["awaitable"] and observed.value["in_session"],
        "`OrderRepository(session).add(order)`, called as the contract says, "
        + (
            f"returned {observed.value['returned']} and did not add the order: it is an `async def`, whose body "
            "only runs when awaited."
            if observed.value["awaitable"]
            else "did not put the order in the session."
        ),
        "`session.add` does no I/O, so it needs no `await`, and neither does a method that only calls it: the "
        "contract makes `add` a plain `def`.",
        answer="self.session.add(order)",
    )


@pytest.mark.points(1)
async def test_take_stock_race_for_two_of_three_copies(learner, tables, seeder):
    """take_stock(book, 2) run twice at once on 3 copies: exactly one caller gets them, and 1 copy is left"""
    book_ids = [5, 6, 7]
    seeder(tables, authors=[(2, "N. K. Jemisin")], books=[(n, f"Three copies {n}", 1599, 3, 2) for n in book_ids])
    outcomes = [
        await bookshop.race(learner, take_copies, database_url=tables.url, book_id=n, quantity=2) for n in book_ids
    ]
    stock = {row["id"]: row["stock"] for row in tables.rows("SELECT id, stock FROM books")}
    for book_id, results in zip(book_ids, outcomes, strict=True):
        errors = [result for result in results if result not in ("True", "False")]
        expect(not errors, f"Two concurrent `take_stock({book_id}, 2)` calls gave {results}.")
        expect(
            sorted(results) == ["False", "True"] and stock[book_id] == 1,
            f"Two sessions called `take_stock({book_id}, 2)` at the same time on 3 copies: they returned {results} "
            f"and the stock is now {stock[book_id]}. Only one may take 2 copies, leaving 1.",
            "A stock read in Python is out of date by the time it is written back: both callers read 3. Let the "
            "database compare and subtract in the one statement the worked example shows, and return whether it "
            "changed a row.",
            answer=TAKE_STOCK,
        )
