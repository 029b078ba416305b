"""Exercise 1: core/database.py makes engines that enforce foreign keys."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


@pytest.mark.points(1)
async def test_foreign_keys_enforced(probe, db, fixtures):
    """make_engine's connections refuse a row that refers to nothing"""
    from_probe = await probe(fixtures.database_probe, database_url=db.url)
    answer = fixtures.expect_probe_ok(from_probe, "Importing app.core.database and using make_engine")
    expect(
        answer["foreign_key"] == "IntegrityError",
        "An engine from make_engine accepted a row whose foreign key points at nothing "
        f"(the insert gave {answer['foreign_key']}): SQLite checks foreign keys only when told to, on every "
        "connection.",
        "In make_engine, listen for SQLAlchemy's 'connect' event on the engine's sync_engine, and run the pragma "
        "with a cursor of each new connection.",
        answer='@event.listens_for(engine.sync_engine, "connect")\n'
        "def enable_foreign_keys(dbapi_connection, connection_record):\n"
        "    cursor = dbapi_connection.cursor()\n"
        '    cursor.execute("PRAGMA foreign_keys=ON")\n'
        "    cursor.close()",
    )


@pytest.mark.points(1)
async def test_sessions_keep_objects_readable_after_commit(probe, db, fixtures):
    """an object committed by a session from make_sessionmaker can still be read"""
    observed = await probe(fixtures.database_probe, database_url=db.url, label="poetry anthologies")
    answer = fixtures.expect_probe_ok(observed, "Importing app.core.database and using make_sessionmaker")
    expect(
        answer["after_commit"] == "poetry anthologies" and answer["expire_on_commit"] is False,
        f"Reading the label of a shelf right after committing it gave {answer['after_commit']!r} "
        f"(expire_on_commit={answer['expire_on_commit']}): a commit that expires what it wrote makes the next read "
        "load it again, which under asyncio is a MissingGreenlet.",
        "Sessions from make_sessionmaker keep their objects loaded at commit: async_sessionmaker takes an option "
        "for that.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
