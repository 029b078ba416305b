"""Exercise 4: the unit of work keeps what was committed and nothing else."""

import pytest

from grader.checks import expect
from grader.checks.bookshop import expect_no_open_transaction

pytestmark = pytest.mark.exercise("ex4")


@pytest.mark.points(2)
async def test_unit_of_work_keeps_only_commits(probe, db, fixtures):
    """a commit is kept; a plain exit and an error keep nothing; the error reaches the caller"""
    observed = await probe(fixtures.unit_of_work_probe, database_url=db.url)
    answer = fixtures.expect_probe_ok(observed, "Using UnitOfWork from app.repositories.unit_of_work")
    expect(
        answer["same"] is True,
        "`async with uow as entered:` gave something other than the unit of work itself.",
        "__aenter__ returns self.",
    )
    wrong = {name: kind for name, kind in answer["repositories"].items() if not kind.endswith("Repository")}
    expect(
        not wrong,
        f"Inside `async with uow:`, {', '.join(f'uow.{name} is {kind}' for name, kind in wrong.items())}.",
        "__aenter__ builds uow.authors, uow.books, uow.customers and uow.orders on the new session.",
        answer="self.session = self.sessionmaker()\n"
        "self.authors = AuthorRepository(self.session)  # books, customers and orders alike",
    )
    expect(
        answer["error"] == "propagated",
        "An exception raised inside `async with uow:` did not reach the caller: __aexit__ swallowed it.",
        "__aexit__ returns None (no `return True`, no `except` without `raise`).",
    )
    emails = {row["email"] for row in db.rows("SELECT email FROM customers")}
    expect(
        "committed@example.com" in emails,
        "A customer added and committed in the unit of work is not in the database.",
        "commit() commits the unit of work's session.",
        answer="await self.session.commit()",
    )
    expect(
        "uncommitted@example.com" not in emails,
        "A customer added without commit() is in the database after the block: leaving the block kept it.",
        "__aexit__ closes the session (which discards an unfinished transaction) and never commits.",
    )
    expect(
        "failed@example.com" not in emails,
        "A customer added (and flushed) in a block that raised is in the database.",
        "__aexit__ rolls back when the block raised: its exc_type argument tells.",
        answer="if exc_type is not None:\n    await self.rollback()",
    )
    expect(
        answer["readable"] == "committed",
        f"A customer loaded in the block could not be read after it: {answer['readable']!r}.",
        "On a normal exit close the session, without rollback(): rollback expires what the session loaded.",
    )
    expect(
        answer["checked_out"] == 0,
        f"{answer['checked_out']} connection(s) were still checked out after the blocks ended.",
        "Close the session in __aexit__ in every case (a `finally`).",
        answer="finally:\n    await self.session.close()\n    self.session = None",
    )
    expect_no_open_transaction(
        observed, db, "after the blocks ended", "Close the session in __aexit__ in every case (a `finally`)."
    )
