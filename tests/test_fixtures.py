"""The grader-side Database fixture: snapshots; never a learner's symlink, never through planted SQL."""

import os
import sqlite3

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
