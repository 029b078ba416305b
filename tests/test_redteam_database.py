"""Red team: chapter 04 N+1 solutions that try to hide their queries from the statement count.

Each case is the chapter's reference notebook with `list_authors` replaced by the N+1 of
``test_ch04_mistakes`` (a ``session.refresh`` per author) plus one attempt to forge what the grader
observes. The statements are counted by the grader's end of the database bridge, so none of them may
turn the N+1's failing checks green; they are graded as one sandboxed batch, as a class would be.
"""

from __future__ import annotations

import pytest
from support import assert_diagnosed, graded_mistakes
from test_ch04_mistakes import REFRESH_PER_AUTHOR

from grader.models import Status, SubmissionResult

CHAPTER = "04-n-plus-one"
CELL = "ex1-solution"
COUNT_CHECKS = ("test_list_authors_statement_count", "test_authors_statement_budget")

# Each attack is code added to the N+1 solution cell.
FORGERIES = {
    # Take the learner-side statement listener away: nothing in the learner's process records SQL.
    "statement listener removed": """
import grader.sandbox.runtime
from sqlalchemy import event
from sqlalchemy.engine import Engine

if event.contains(Engine, "before_cursor_execute", grader.sandbox.runtime._record_statement):
    event.remove(Engine, "before_cursor_execute", grader.sandbox.runtime._record_statement)
""",
    # Empty whatever list the learner's process is collecting statements into, after the queries ran.
    "collected statements erased": """
import grader.sandbox.runtime

_n_plus_one = list_authors


async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    authors = await _n_plus_one(session, limit=limit, offset=offset)
    collected = grader.sandbox.runtime._statements.get()
    if collected is not None:
        collected.clear()
    return authors
""",
}

# Ordinary bad code, no patching: the per-author queries on a second connection that no engine sees.
SECOND_CONNECTION = """
import sqlite3

from sqlalchemy.orm.attributes import set_committed_value


async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).order_by(Author.id).limit(limit).offset(offset)
    authors = list(await session.scalars(statement))
    side = sqlite3.connect(session.bind.url.database)
    try:
        for author in authors:
            rows = side.execute("select id from books where author_id = ?", (author.id,)).fetchall()
            books = [await session.get(Book, book_id) for (book_id,) in rows]
            set_committed_value(author, "books", books)
    finally:
        side.close()
    return authors
"""

CASES = {name: {CELL: REFRESH_PER_AUTHOR + attack} for name, attack in FORGERIES.items()}
CASES["per-author queries on a second sqlite3 connection"] = {CELL: SECOND_CONNECTION}
CASES["plain N+1 (the baseline)"] = {CELL: REFRESH_PER_AUTHOR}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, CASES)


@pytest.mark.parametrize("case", [*FORGERIES, "plain N+1 (the baseline)"])
def test_a_forged_count_fails_as_the_plain_n_plus_one_does(graded: dict[str, SubmissionResult], case: str) -> None:
    assert_diagnosed(
        graded[case], CASES[case], COUNT_CHECKS, {COUNT_CHECKS[0]: ("the count grows with the data, an N+1",)}
    )


@pytest.mark.parametrize("case", ["per-author queries on a second sqlite3 connection"])
def test_a_second_connection_cannot_reach_the_graded_database(graded: dict[str, SubmissionResult], case: str) -> None:
    """The test database is in a folder the sandbox hides: the side connection fails, it cannot go uncounted."""
    result = graded[case]
    assert result.extra_data.status == Status.GRADED, result.extra_data.message
    failed = {test.extra_data["nodeid"].rsplit("::", 1)[-1] for test in result.tests if test.status == "failed"}
    assert set(COUNT_CHECKS) <= failed, sorted(failed)
    assert result.score < result.max_score
    outputs = " ".join(test.output or "" for test in result.tests)
    assert "unable to open database file" in outputs, outputs[:2000]
