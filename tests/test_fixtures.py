"""The grader-side Database fixture: snapshots; never a learner's symlink, never through planted SQL."""

import os
import sqlite3
from pathlib import Path

import pytest

from grader.checks import CheckFailure
from grader.testing.fixtures import Database


def test_snapshot_sees_every_change(tmp_path):
    db = Database(tmp_path / "shop.sqlite")
    db.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, stock INTEGER)")
    db.execute("INSERT INTO books (stock) VALUES (1), (2)")
    before = db.snapshot()
    assert before == {"books": [(1, 1), (2, 2)]}
    db.execute("UPDATE books SET stock = 0 WHERE id = 2")
    assert db.snapshot() != before
    assert db.columns("books") == ["id", "stock"]


def test_a_symlinked_database_is_refused(tmp_path):
    elsewhere = tmp_path / "gradebook.db"
    sqlite3.connect(elsewhere).execute("CREATE TABLE grades (score)")
    link = tmp_path / "test.sqlite"
    os.symlink(elsewhere, link)
    with pytest.raises(CheckFailure, match="symbolic link"):
        Database(link).execute("INSERT INTO grades VALUES (100)")
    assert sqlite3.connect(elsewhere).execute("SELECT count(*) FROM grades").fetchone() == (0,)


@pytest.mark.parametrize(
    "planted",
    [
        "CREATE VIEW shadow AS SELECT 1 AS id, 99 AS stock",
        "CREATE TRIGGER restock AFTER UPDATE ON books BEGIN UPDATE books SET stock = 99; END",
    ],
    ids=["view", "trigger"],
)
def test_a_database_with_a_planted_view_or_trigger_is_not_read(tmp_path, planted):
    """A trigger could undo what a check writes, a view could pose as a table: checks refuse to read through them."""
    db = Database(tmp_path / "shop.sqlite")
    db.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, stock INTEGER)")
    connection = sqlite3.connect(db.path)
    connection.execute(planted)
    connection.commit()
    connection.close()
    with pytest.raises(CheckFailure, match="which no exercise creates"):
        db.rows("SELECT * FROM books")


def test_a_self_checks_databases_reverse_unordered_rows_and_no_others(tmp_path: Path):
    """In the notebook too (check() runs in the learner's kernel): a query without ORDER BY on a check's
    database gets its rows backwards; the learner's own databases are left as they are."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from grader.testing.backend import KernelBackend

    async def ids(path: Path) -> list[int]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
                await connection.execute(text("INSERT INTO t (id) VALUES (1), (2), (3)"))
                return list((await connection.execute(text("SELECT id FROM t"))).scalars())
        finally:
            await engine.dispose()

    backend = KernelBackend({})
    try:
        assert asyncio.run(ids(backend.db_dir / "check.sqlite")) == [3, 2, 1]
        assert asyncio.run(ids(tmp_path / "mine.sqlite")) == [1, 2, 3]
    finally:
        backend.close()


class _Observed:
    error = None


class _CreatingLearner:
    """Stands for the learner's process: each probe makes the tables with sqlite3 and is counted."""

    def __init__(self) -> None:
        self.probes = 0

    async def probe(self, probe, *, database_url: str, require: bool) -> _Observed:
        self.probes += 1
        with sqlite3.connect(database_url.split(":///", 1)[1]) as connection:
            connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, stock INTEGER)")
        return _Observed()


def test_tables_are_made_once_per_run_then_copied_and_never_over_a_used_database(tmp_path: Path):
    import asyncio

    from grader.checks.fixtures import made_tables
    from grader.testing.fixtures import TableTemplate

    (tmp_path / "templates").mkdir()
    template, learner = TableTemplate(tmp_path / "templates"), _CreatingLearner()
    first = asyncio.run(made_tables(learner, Database.new(tmp_path / "first.sqlite"), template, "the models"))
    first.execute("INSERT INTO books (stock) VALUES (3)")  # what a test does afterwards is not kept
    second = asyncio.run(made_tables(learner, Database.new(tmp_path / "second.sqlite"), template, "the models"))
    assert learner.probes == 1
    assert second.snapshot() == {"books": []}
    # A database something else already made (an app's own create_all) is made by the learner's process as before.
    used = Database.new(tmp_path / "used.sqlite")
    used.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY)")
    asyncio.run(made_tables(learner, used, template, "the models"))
    assert learner.probes == 2 and set(used.snapshot()) == {"authors", "books"}  # no copy over it ...
    third = asyncio.run(made_tables(learner, Database.new(tmp_path / "third.sqlite"), template, "the models"))
    assert learner.probes == 2 and third.snapshot() == {"books": []}  # ... nor kept in place of the first
