"""Exercise 2: the unit of work."""

import pytest

from grader.checks import expect
from grader.checks.bookshop import expect_no_open_transaction

pytestmark = pytest.mark.exercise("ex2")

OPEN_SESSION = "self.session = self.sessionmaker()"


def entered(observed, what):
    """The scenario's observations, once it is clear the unit of work could be entered and written through."""
    expect(observed.ok, f"{what} raised {observed.describe_error()}.")
    seen = observed.value
    if not seen["entered"]:
        expect(
            False,
            f"Entering `async with uow:` failed: {seen['came_out']}.",
            "Open the session in `__aenter__`.",
            answer=OPEN_SESSION,
        )
    expect(
        seen["same"],
        "`async with uow as value:` did not give the unit of work itself.",
        "`async with uow as value:` binds what `__aenter__` returns: the unit of work itself.",
        answer="return self",
    )
    expect(
        seen["session"] == "AsyncSession",
        f"Inside `async with uow:`, `uow.session` is a {seen['session']}, expected an AsyncSession.",
        "In `__aenter__`, create a session by calling the session factory the unit of work was built with.",
        answer=OPEN_SESSION,
    )
    return seen


async def uow_with_customers(ns, database_url, scenario):
    """Probe: a UnitOfWork on the test database (its tables made by the grader) in one of three scenarios:

    "leave": customer Hedy written through `uow.session` and flushed, the block left without commit();
    "rollback": Hedy flushed, `await uow.rollback()`, then Katherine flushed and `await uow.commit()`;
    "read-after": customer 4 (seeded by the grader) loaded inside the block, its name read after a normal exit.

    Right after the block, ``checkpoint`` has the grader look from outside for a transaction left open.
    """
    from grader.checks.bookshop import checkpoint, close_session

    for name in ("UnitOfWork", "make_engine", "make_sessionmaker", "Customer"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    customer = ns["Customer"]
    uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
    seen = {"came_out": None}
    try:
        try:
            async with uow:
                session = uow.session
                if scenario == "read-after":
                    loaded = await session.get(customer, 4)
                else:
                    session.add(customer(name="Hedy"))
                    await session.flush()
                if scenario == "rollback":
                    await uow.rollback()
                    session.add(customer(name="Katherine"))
                    await session.flush()
                    await uow.commit()
        except Exception as exc:
            seen["came_out"] = f"{type(exc).__name__}: {exc}"[:300]
        seen["checked_out"] = engine.pool.checkedout()
        await checkpoint(database_url)
        if scenario == "read-after" and seen["came_out"] is None:
            try:
                seen["name"] = loaded.name
            except Exception as exc:
                seen["name"] = f"{type(exc).__name__}: {exc}"[:200]
        return seen
    finally:
        await close_session(uow)
        await engine.dispose()


@pytest.mark.points(1)
async def test_commit_persists(unit_of_work, db):
    """`async with uow:` opens a session and the repositories; commit() writes"""
    seen = entered(await unit_of_work("commit"), "A unit of work that commits")
    expect(
        seen["repositories"]
        == {"customers": "CustomerRepository", "books": "BookRepository", "orders": "OrderRepository"},
        f"Inside `async with uow:` the repositories are {seen['repositories']}.",
        "Build `self.customers`, `self.books` and `self.orders` on the new session in `__aenter__`.",
        answer="self.books = BookRepository(self.session)",
    )
    expect(seen["came_out"] is None, f"Committing inside the unit of work raised {seen['came_out']}.")
    rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    expect(
        rows == ["written inside the unit of work"],
        f"After `await uow.commit()` the authors table holds {rows}.",
        "`commit()` hands the commit to the unit of work's session.",
        answer="await self.session.commit()",
    )
    expect(
        seen["checked_out"] == 0,
        f"After the block, {seen['checked_out']} connection(s) were still checked out of the pool.",
        "Close the session in `__aexit__`, whatever happened in the block.",
        answer="await self.session.close()",
    )


@pytest.mark.points(1)
async def test_exception_rolls_back(unit_of_work, db):
    """an exception inside the unit of work rolls back and gives the connection back"""
    observed = await unit_of_work("raise")
    seen = entered(observed, "A unit of work that raises")
    rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    expect(
        rows == [],
        f"An exception was raised inside `async with uow:` after an author was flushed, and the author is in the "
        f"database: {rows}. The unit of work committed (or failed to roll back) on the way out.",
        "`__aexit__` must roll back whatever was not committed, never commit: roll back when the block raised, "
        "then close the session.",
        answer="if exc_type is not None: await self.rollback()",
    )
    expect(
        seen["checked_out"] == 0,
        f"After an exception inside the unit of work, {seen['checked_out']} connection(s) were still checked "
        "out: the transaction stays open and keeps the database locked for every other request.",
        "Roll back and close in `__aexit__` whatever happened in the block (`try`/`finally`).",
        answer="finally: await self.session.close()",
    )
    expect_no_open_transaction(
        observed,
        db,
        "after an exception inside the unit of work",
        "Roll back and close in `__aexit__` whatever happened in the block (`try`/`finally`).",
    )


@pytest.mark.points(1)
async def test_exception_propagates(unit_of_work, db):
    """an exception inside the unit of work comes out of `async with`"""
    seen = entered(await unit_of_work("raise"), "A unit of work that raises")
    expect(
        seen["came_out"] is not None,
        "An exception raised inside `async with uow:` never reached the caller: `__aexit__` swallowed it "
        "(it returned True). The caller carries on as if the operation had succeeded.",
        "`__aexit__` returns None: write no `return` at all, and no `except` without `raise`.",
    )
    expect(
        seen["came_out"] == "ProbeError",
        f"An exception raised inside `async with uow:` came out as {seen['came_out']}, not as itself.",
        "Let the original exception continue; do not raise another one from `__aexit__`.",
    )


@pytest.mark.points(1)
async def test_open_once_at_a_time(unit_of_work, db):
    """`async with uow:` inside an open block of the same uow raises RuntimeError and the outer work is kept"""
    seen = entered(await unit_of_work("nested"), "A unit of work entered twice")
    expect(
        seen.get("nested") == "RuntimeError",
        "`async with uow:` inside an open `async with uow:` block "
        + ("was entered" if seen.get("nested") == "entered" else f"raised {seen.get('nested')}")
        + ", expected RuntimeError: a second session replaces the first, and the outer block's work is lost "
        "without a word.",
        "A unit of work is open once at a time: at the top of `__aenter__`, refuse when `self.session` is already set.",
        answer="if self.session is not None: raise RuntimeError(...)",
    )
    expect(
        seen.get("same_session_after_nesting") is True and seen["came_out"] is None,
        "After the refused nested `async with uow:`, the outer block "
        + ("failed: " + str(seen["came_out"]) if seen["came_out"] else "had lost its session")
        + ".",
        "Refuse before touching anything: raise before `self.session = ...`.",
        answer="if self.session is not None: raise RuntimeError(...)",
    )
    rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    expect(
        rows == ["written inside the unit of work"],
        f"The outer block committed after the refused nested entry, and the authors table holds {rows}.",
    )
    expect(
        seen.get("session_after_block") == "None" and seen.get("entered_again") == "ok",
        f"After the block, `uow.session` is {seen.get('session_after_block')} and entering the unit of work again "
        f"{'worked' if seen.get('entered_again') == 'ok' else 'raised ' + str(seen.get('entered_again'))}; "
        "expected None, and a unit of work that opens again.",
        "In `__aexit__`, once the session is closed, put `self.session` back as the given `__init__` left it.",
        answer="self.session = None",
    )


@pytest.mark.points(1)
async def test_leaving_without_commit_keeps_nothing(learner, tables):
    """leaving `async with uow:` without commit() keeps nothing written in the block and gives the connection back"""
    observed = await learner.probe(uow_with_customers, database_url=tables.url, scenario="leave")
    expect(observed.ok, f"A unit of work left without commit raised {observed.describe_error()}.")
    seen = observed.value
    expect(seen["came_out"] is None, f"A unit of work left without commit raised {seen['came_out']}.")
    rows = [row["name"] for row in tables.rows("SELECT name FROM customers")]
    expect(
        rows == [],
        f"A customer was written and flushed inside `async with uow:`, the block was left without `commit()`, and "
        f"the customers table holds {rows}: the unit of work commits on its own.",
        "Only `commit()` makes work permanent: on the way out, `__aexit__` commits nothing, whether the block "
        "raised or not. A service that forgot its commit must store nothing.",
        answer="await self.session.close()",
    )
    expect(
        seen["checked_out"] == 0,
        f"After leaving the unit of work without commit, {seen['checked_out']} connection(s) were still checked out.",
        "Close the session in `__aexit__` on every exit, not only after an exception.",
        answer="await self.session.close()",
    )
    expect_no_open_transaction(
        observed, tables, "after leaving the unit of work without commit", "Close the session in `__aexit__`."
    )


@pytest.mark.points(1)
async def test_rollback_undoes_and_uow_stays_usable(learner, tables):
    """uow.rollback() undoes what the block wrote so far, and a commit after it keeps only what came after"""
    observed = await learner.probe(uow_with_customers, database_url=tables.url, scenario="rollback")
    expect(observed.ok, f"A unit of work that rolls back, then commits, raised {observed.describe_error()}.")
    came_out = observed.value["came_out"]
    expect(
        came_out is None,
        f"Writing, `await uow.rollback()`, writing again and `await uow.commit()` in one block raised {came_out}.",
        ""
        if str(came_out).startswith("NotImplementedError")
        else "`rollback()` ends the transaction, not the unit of work: the session stays open until `__aexit__`.",
        answer="await self.session.rollback()",
    )
    rows = [row["name"] for row in tables.rows("SELECT name FROM customers ORDER BY id")]
    expect(
        rows == ["Katherine"],
        f"Hedy was written, `await uow.rollback()` called, Katherine written and `await uow.commit()` called; the "
        f"customers table holds {rows}, expected ['Katherine'].",
        "`rollback()` hands the rollback to the unit of work's session, and that call must be awaited to happen.",
        answer="await self.session.rollback()",
    )


@pytest.mark.points(1)
async def test_loaded_customer_readable_after_exit(learner, tables, seeder):
    """a customer loaded inside `async with uow:` can still be read after the block ends normally"""
    seeder(tables, customers=[(4, "Katherine Johnson")])
    observed = await learner.probe(uow_with_customers, database_url=tables.url, scenario="read-after")
    expect(observed.ok, f"Loading a customer inside a unit of work raised {observed.describe_error()}.")
    seen = observed.value
    expect(seen["came_out"] is None, f"Loading customer 4 inside `async with uow:` raised {seen['came_out']}.")
    expect(
        seen["name"] == "Katherine Johnson",
        f"Customer 4, loaded inside `async with uow:`, could not be read after the block: {seen['name']}.",
        "A normal exit only closes the session. `rollback()` expires every object the session loaded (as a commit "
        "with expire_on_commit would): keep it for the exit of a block that raised.",
        answer="if exc_type is not None: await self.rollback()",
    )
