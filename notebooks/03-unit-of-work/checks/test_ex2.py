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
