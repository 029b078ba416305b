"""Exercise 2: the unit of work."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


async def uow_scenario(ns, database_url, scenario):
    """Enter a UnitOfWork, write an author through uow.session and flush, then follow ``scenario``:

    "commit" commits; "raise" raises ProbeError inside the block; "leave" just leaves;
    "commit-then-write" commits, then writes and flushes a second author without committing;
    "rollback-then-write" rolls back, then writes a second author and commits.
    """
    import contextlib

    for name in ("UnitOfWork", "make_engine", "make_sessionmaker", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    async with engine.begin() as connection:
        await connection.run_sync(ns["Base"].metadata.create_all)
    author = ns["Author"]

    class ProbeError(Exception):
        pass

    uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
    seen = {"entered": False, "same": None, "repositories": None, "session": None, "came_out": None}
    try:
        try:
            async with uow as entered:
                seen["entered"] = True
                seen["same"] = entered is uow
                seen["repositories"] = {
                    name: type(getattr(uow, name, None)).__name__ for name in ("customers", "books", "orders")
                }
                session = getattr(uow, "session", None)
                seen["session"] = type(session).__name__
                session.add(author(name="written inside the unit of work"))
                await session.flush()
                if scenario == "commit":
                    await uow.commit()
                elif scenario == "raise":
                    raise ProbeError("raised inside the unit of work")
                elif scenario == "commit-then-write":
                    await uow.commit()
                    session.add(author(name="written after commit"))
                    await session.flush()
                elif scenario == "rollback-then-write":
                    await uow.rollback()
                    session.add(author(name="written after rollback"))
                    await session.flush()
                    await uow.commit()
        except ProbeError:
            seen["came_out"] = "ProbeError"
        except Exception as exc:
            seen["came_out"] = f"{type(exc).__name__}: {exc}"[:300]
        seen["checked_out"] = engine.pool.checkedout()
        return seen
    finally:
        leftover = getattr(uow, "session", None)
        if leftover is not None and hasattr(leftover, "close"):
            with contextlib.suppress(Exception):
                await leftover.close()
        await engine.dispose()


def entered(observed, what):
    """The scenario's observations, once it is clear the unit of work could be entered and written through."""
    expect(observed.ok, f"{what} raised {observed.describe_error()}.")
    seen = observed.value
    if not seen["entered"]:
        expect(False, f"Entering `async with uow:` failed: {seen['came_out']}.", "Open the session in `__aenter__`.")
    expect(
        seen["same"],
        "`async with uow as value:` did not give the unit of work itself.",
        "End `__aenter__` with `return self`.",
    )
    expect(
        seen["session"] == "AsyncSession",
        f"Inside `async with uow:`, `uow.session` is a {seen['session']}, expected an AsyncSession.",
        "`self.session = self.sessionmaker()` in `__aenter__`.",
    )
    return seen


@pytest.mark.points(1)
async def test_commit_persists(learner, db):
    """`async with uow:` opens a session and the repositories; commit() writes"""
    seen = entered(
        await learner.probe(uow_scenario, database_url=db.url, scenario="commit"), "A unit of work that commits"
    )
    expect(
        seen["repositories"]
        == {"customers": "CustomerRepository", "books": "BookRepository", "orders": "OrderRepository"},
        f"Inside `async with uow:` the repositories are {seen['repositories']}.",
        "Build `self.customers`, `self.books` and `self.orders` on the new session in `__aenter__`.",
    )
    expect(seen["came_out"] is None, f"Committing inside the unit of work raised {seen['came_out']}.")
    rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    expect(
        rows == ["written inside the unit of work"],
        f"After `await uow.commit()` the authors table holds {rows}.",
        "`commit()` is `await self.session.commit()`.",
    )
    expect(
        seen["checked_out"] == 0,
        f"After the block, {seen['checked_out']} connection(s) were still checked out of the pool.",
        "Close the session in `__aexit__`: `await self.session.close()`.",
    )


@pytest.mark.points(1)
async def test_exception_rolls_back(learner, db):
    """an exception inside the unit of work rolls back and gives the connection back"""
    seen = entered(
        await learner.probe(uow_scenario, database_url=db.url, scenario="raise"), "A unit of work that raises"
    )
    rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    expect(
        rows == [],
        f"An exception was raised inside `async with uow:` after an author was flushed, and the author is in the "
        f"database: {rows}. The unit of work committed (or failed to roll back) on the way out.",
        "`__aexit__` must roll back whatever was not committed, never commit: `await self.rollback()`, "
        "then `await self.session.close()`.",
    )
    expect(
        seen["checked_out"] == 0,
        f"After an exception inside the unit of work, {seen['checked_out']} connection(s) were still checked "
        "out: the transaction stays open and keeps the database locked for every other request.",
        "Roll back and close in `__aexit__` whatever happened in the block (`try`/`finally`).",
    )


@pytest.mark.points(1)
async def test_exception_propagates(learner, db):
    """an exception inside the unit of work comes out of `async with`"""
    seen = entered(
        await learner.probe(uow_scenario, database_url=db.url, scenario="raise"), "A unit of work that raises"
    )
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
