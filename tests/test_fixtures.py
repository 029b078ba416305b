"""The grader-side Database fixture: snapshots, and never following a learner's symlink."""

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
