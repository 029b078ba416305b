"""The database bridge: learner SQL executed and counted by the grader, with the grader's safety rails.

The learner's side (``sqlite+workbook://``, ``grader.sandbox.dbclient``) and the grader's side
(``grader.sandbox.dbserver``) run here in one process, over the real Unix socket: what SQLAlchemy sees
must be what aiosqlite would give it, and what the learner's SQL can make the grader's process do is
limited (it runs as the grader, often root).
"""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ForeignKey, LargeBinary, String, event, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from grader.sandbox import dbserver
from grader.sandbox.dbserver import SOCKET_ENV, DatabaseBridge


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    portrait: Mapped[bytes | None] = mapped_column(LargeBinary)
    born: Mapped[datetime.datetime | None]


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))


@pytest.fixture
def bridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabaseBridge]:
    folder = tmp_path / "private"
    folder.mkdir()
    server = DatabaseBridge(tmp_path / "db.sock", folder)
    monkeypatch.setenv(SOCKET_ENV, str(tmp_path / "db.sock"))
    try:
        yield server
    finally:
        server.close()


def engine_on(bridge: DatabaseBridge, name: str = "shop.sqlite") -> AsyncEngine:
    engine = create_async_engine(f"sqlite+workbook:///{bridge.folder / name}")

    @event.listens_for(engine.sync_engine, "connect")
    def foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


def test_statements_are_counted_by_the_grader_pragmas_are_not(bridge: DatabaseBridge):
    async def scenario() -> None:
        engine = engine_on(bridge)
        await _schema(engine)
        mark = bridge.mark()
        async with async_sessionmaker(engine)() as session:
            session.add(Author(name="Ada"))
            await session.commit()
            assert (await session.scalars(select(Author.name))).all() == ["Ada"]
        await engine.dispose()
        assert bridge.since(mark) == [
            "INSERT INTO authors (name, portrait, born) VALUES (?, ?, ?)",
            "SELECT authors.name FROM authors",
        ]

    run(scenario())
    assert sqlite3.connect(bridge.folder / "shop.sqlite").execute("SELECT name FROM authors").fetchall() == [("Ada",)]


def test_a_checkpoint_sees_the_transactions_left_open_on_its_database(bridge: DatabaseBridge):
    """What a checkpoint reports is read in the grader: a session left open after a write counts, on its own
    database only, whatever the learner's pool says."""
    from grader.checks.bookshop import checkpoint

    async def scenario() -> None:
        engine, other = engine_on(bridge), engine_on(bridge, "other.sqlite")
        await _schema(engine)
        await _schema(other)
        url = engine.url.render_as_string(hide_password=False)
        mark = bridge.mark()
        leaked = async_sessionmaker(other)()
        leaked.add(Author(name="left open on the other database"))
        await leaked.flush()
        await checkpoint(url)
        async with async_sessionmaker(engine)() as session:
            session.add(Author(name="Ada"))
            await session.flush()
            await checkpoint(url)
            await session.commit()
            await checkpoint(url)
        shop = str(bridge.folder / "shop.sqlite")
        assert bridge.open_transactions_since(mark) == [(shop, 0), (shop, 1), (shop, 0)]
        await leaked.close()
        await engine.dispose()
        await other.dispose()

    run(scenario())


def test_values_and_errors_come_back_as_aiosqlite_gives_them(bridge: DatabaseBridge):
    """Bytes and datetimes survive the trip; a constraint violation is sqlite3's IntegrityError with its code
    (what the course's ``is_unique_violation`` reads); foreign keys are enforced."""

    async def scenario() -> None:
        engine = engine_on(bridge)
        await _schema(engine)
        born = datetime.datetime(1815, 12, 10, 8, 30)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            session.add(Author(id=1, name="Ada", portrait=b"\x00\xff\x10", born=born))
            await session.commit()
            author = await session.get(Author, 1, populate_existing=True)
            assert author is not None and (author.portrait, author.born) == (b"\x00\xff\x10", born)
            session.add(Author(name="Ada"))
            with pytest.raises(IntegrityError) as unique:
                await session.commit()
            assert type(unique.value.orig) is sqlite3.IntegrityError
            assert unique.value.orig.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"
            await session.rollback()
            session.add(Book(author_id=99))
            with pytest.raises(IntegrityError) as foreign:
                await session.commit()
            assert foreign.value.orig.sqlite_errorname == "SQLITE_CONSTRAINT_FOREIGNKEY"
        await engine.dispose()

    run(scenario())


@pytest.mark.parametrize(
    "statement",
    [
        "ATTACH DATABASE '/tmp/workbook-elsewhere.sqlite' AS elsewhere",
        "VACUUM INTO '/tmp/workbook-copy.sqlite'",
        "PRAGMA writable_schema=ON",
        "PRAGMA journal_mode=OFF",
        "PRAGMA journal_mode=WAL",
        "PRAGMA max_page_count=1000000000",
        "PRAGMA temp_store_directory='/tmp'",
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT 'a' REGEXP 'a'",
    ],
)
def test_learner_sql_cannot_reach_beyond_its_database(bridge: DatabaseBridge, statement: str):
    """The grader runs these for the learner: files elsewhere, the schema's raw bytes, the file-size cap, the
    wait cap and native code stay out of reach (REGEXP: a learner's pattern would run in the grader's process)."""

    async def scenario() -> None:
        engine = engine_on(bridge)
        async with engine.connect() as connection:
            with pytest.raises(DatabaseError):
                await connection.execute(text(statement))
        await engine.dispose()

    run(scenario())
    assert not Path("/tmp/workbook-elsewhere.sqlite").exists()
    assert not Path("/tmp/workbook-copy.sqlite").exists()


def test_tuning_pragmas_are_accepted_and_change_nothing(bridge: DatabaseBridge):
    """A connect listener that tunes its connection runs under the grader as in the notebook."""

    async def scenario() -> None:
        engine = engine_on(bridge)
        async with engine.connect() as connection:
            for pragma in ("busy_timeout=100000000", "cache_size=-2000000", "temp_store=FILE", "mmap_size=2000000000"):
                await connection.execute(text(f"PRAGMA {pragma}"))
            # Ignored, not run: the grader's own busy timeout stays, and reading it gives nothing.
            assert (await connection.execute(text("PRAGMA busy_timeout"))).returns_rows is False
        await engine.dispose()

    run(scenario())


@pytest.mark.parametrize("name", ["../shop.sqlite", "/etc/passwd", "shop.db", "sub/shop.sqlite"])
def test_only_the_submissions_own_database_files_open(bridge: DatabaseBridge, name: str):
    async def scenario() -> None:
        folder = bridge.folder if not name.startswith("/") else Path("/")
        engine = create_async_engine(f"sqlite+workbook:///{folder / name}")
        with pytest.raises(OperationalError, match="unable to open database file"):
            async with engine.connect():
                pass
        await engine.dispose()

    run(scenario())


def test_a_runaway_statement_is_interrupted(bridge: DatabaseBridge, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dbserver, "STATEMENT_SECONDS", 0.3)
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"

    async def scenario() -> None:
        engine = engine_on(bridge)
        async with engine.connect() as connection:
            with pytest.raises(OperationalError, match="interrupted"):
                await connection.execute(text(endless))
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1  # the connection still works
        await engine.dispose()

    run(scenario())


def test_what_one_answer_or_one_file_may_hold_is_capped(bridge: DatabaseBridge, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dbserver, "MAX_ANSWER", 2**16)
    monkeypatch.setattr(dbserver, "MAX_PAGES", 64)
    rows = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {}) "

    async def scenario() -> None:
        engine = engine_on(bridge)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE blobs (b BLOB)"))
        async with engine.connect() as connection:
            with pytest.raises(DatabaseError, match="larger than"):
                await connection.execute(text(rows.format(10_000) + "SELECT randomblob(100) FROM n"))
            # What is sent counts, not what is stored: an emoji is 2 characters in SQLite's eyes, 4 bytes sent.
            with pytest.raises(DatabaseError, match="larger than"):
                await connection.execute(text(rows.format(2_000) + "SELECT printf('%.20c', '😀') FROM n"))
            with pytest.raises(OperationalError, match="full"):
                await connection.execute(text(rows.format(1_000) + "INSERT INTO blobs SELECT randomblob(4000) FROM n"))
            with pytest.raises(OperationalError, match="full"):
                await connection.execute(text("CREATE TEMP TABLE scratch (b BLOB)"))
                await connection.execute(
                    text(rows.format(1_000) + "INSERT INTO scratch SELECT randomblob(4000) FROM n")
                )
            with pytest.raises(DatabaseError, match="too big"):
                await connection.execute(text("SELECT zeroblob(:n)"), {"n": dbserver.MAX_VALUE + 1})
        await engine.dispose()
        for number in range(dbserver.MAX_DATABASES):
            extra = engine_on(bridge, f"extra{number}.sqlite")
            async with extra.connect() as connection:
                await connection.execute(text("SELECT 1"))
            await extra.dispose()

    with pytest.raises(OperationalError, match=f"more than {dbserver.MAX_DATABASES} databases"):
        run(scenario())
    assert (bridge.folder / "shop.sqlite").stat().st_size <= 64 * 4096
    assert len(list(bridge.folder.glob("*.sqlite"))) == dbserver.MAX_DATABASES


def test_a_closed_learner_socket_frees_its_connection(bridge: DatabaseBridge):
    """A learner process killed mid-transaction leaves nothing open on the grader's side: the database is
    writable at once by the grader."""

    async def scenario() -> None:
        engine = engine_on(bridge)
        await _schema(engine)
        connection = await engine.connect()
        await connection.execute(text("INSERT INTO authors (name) VALUES ('open')"))
        raw = await connection.get_raw_connection()
        raw.driver_connection.stop()  # as a killed process would: no rollback, no close
        for _ in range(100):
            if not bridge._links:
                break
            await asyncio.sleep(0.02)
        assert not bridge._links
        await connection.invalidate()  # the learner's side learns it is gone only now
        await connection.close()
        await engine.dispose()

    run(scenario())
    with sqlite3.connect(bridge.folder / "shop.sqlite", timeout=0.1) as grader:
        grader.execute("INSERT INTO authors (name) VALUES ('grader')")
    assert [r[0] for r in sqlite3.connect(bridge.folder / "shop.sqlite").execute("SELECT name FROM authors")] == [
        "grader"
    ]


def test_in_a_notebook_a_checkpoint_is_a_write_with_a_short_busy_timeout(tmp_path: Path):
    """``check()`` runs in the learner's kernel, without the bridge: the checkpoint tries the grader's own
    write and reports the database as held when it cannot."""
    from grader.sandbox.runtime import LearnerRuntime

    probe = """
async def leave_open(ns, database_url, commit):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from grader.checks.bookshop import checkpoint

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS t (x)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            if commit:
                await connection.commit()
            await checkpoint(database_url)
    finally:
        await engine.dispose()
"""
    url = f"sqlite+aiosqlite:///{tmp_path / 'check.sqlite'}"

    async def checkpoints(commit: bool) -> list[list[Any]]:
        answer = await LearnerRuntime({}).handle(
            {
                "op": "probe",
                "args": {"source": probe, "name": "leave_open", "kwargs": {"database_url": url, "commit": commit}},
            }
        )
        assert answer.get("error") is None, answer
        return answer["open_transactions"]

    database = str(tmp_path / "check.sqlite")
    assert run(checkpoints(commit=False)) == [[database, 1]]
    assert run(checkpoints(commit=True)) == [[database, 0]]


def _raw(bridge: DatabaseBridge, *lines: bytes) -> list[dict[str, Any]]:
    """Send ``lines`` on one raw connection to the bridge, as hostile code could; the answers."""
    import json
    import socket

    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(bridge.socket_path))
        reader = raw.makefile("rb")
        answers = []
        for line in lines:
            raw.sendall(line + b"\n")
            answers.append(json.loads(reader.readline()))
        return answers


def test_hostile_requests_get_errors_and_the_bridge_serves_on(bridge: DatabaseBridge):
    answers = _raw(
        bridge,
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b'{"no": "op"}',
        b'{"op": "execute", "sql": "SELECT 1"}',
        b"[" * 100_000,
        b'{"op": "checkpoint", "database": "/etc/passwd"}',
        b'{"op": "open", "database": "../escape.sqlite"}',
        b'{"op": "unheard of"}',
    )
    assert all(
        answer["error"]["class"] in {"InterfaceError", "ProgrammingError", "OperationalError"} for answer in answers
    )
    (too_long,) = _raw(bridge, b"x" * (dbserver.MAX_LINE + 10))
    assert "too large" in too_long["error"]["message"]
    name = str(bridge.folder / "fine.sqlite")
    assert _raw(bridge, json_line({"op": "open", "database": name}), json_line({"op": "execute", "sql": "SELECT 2"}))[
        1
    ]["rows"] == [[2]]


def json_line(message: dict[str, Any]) -> bytes:
    import json

    return json.dumps(message).encode()


def test_a_refused_open_does_not_keep_a_connection(bridge: DatabaseBridge):
    async def scenario() -> None:
        for _ in range(dbserver.MAX_CONNECTIONS + 5):
            engine = engine_on(bridge, "../outside.sqlite")
            with pytest.raises(OperationalError, match="unable to open"):
                async with engine.connect():
                    pass
            await engine.dispose()
        engine = engine_on(bridge)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 3"))).scalar_one() == 3
        await engine.dispose()

    run(scenario())


def test_the_logs_keep_what_open_windows_need_and_no_more(bridge: DatabaseBridge, monkeypatch: pytest.MonkeyPatch):
    """Statements outside any check's request are dropped when the next one starts; within one, past
    ``MAX_KEPT`` they are counted but not kept word for word."""
    monkeypatch.setattr(dbserver, "MAX_KEPT", 5)

    async def scenario() -> None:
        engine = engine_on(bridge)
        async with engine.connect() as connection:
            for n in range(20):  # a cell's loop, before any check
                await connection.execute(text(f"SELECT {n}"))
            mark = bridge.mark()
            for n in range(8):
                await connection.execute(text(f"SELECT 'in the window {n}'"))
            seen = bridge.since(mark)
            bridge.release(mark)
        await engine.dispose()
        assert len(seen) == 8
        assert seen[:5] == [f"SELECT 'in the window {n}'" for n in range(5)]
        assert set(seen[5:]) == {dbserver.ELIDED}
        assert len(bridge._statements) == 8  # the 20 before the window were dropped when it opened

    run(scenario())


def test_racing_holds_each_first_write_until_both_racers_have_read(bridge: DatabaseBridge):
    """Two requests that race both read before either writes, however they are scheduled: the second one
    here starts well after the first, which without the barrier would have finished alone."""

    async def scenario() -> list[int]:
        engine = engine_on(bridge)
        await _schema(engine)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO authors (id, name) VALUES (1, 'one copy')"))
        sessions = async_sessionmaker(engine)

        async def take(delay: float) -> int:
            await asyncio.sleep(delay)
            async with sessions() as session:
                seen = (await session.execute(text("SELECT length(name) FROM authors WHERE id = 1"))).scalar_one()
                await session.execute(text("UPDATE authors SET name = 'sold' WHERE id = 1"))
                await session.commit()
                return seen

        try:
            with bridge.racing():
                return list(await asyncio.gather(take(0.0), take(0.3)))
        finally:
            await engine.dispose()

    assert run(scenario()) == [len("one copy"), len("one copy")]  # both read before either wrote


def test_a_racer_alone_waits_once_then_writes(bridge: DatabaseBridge, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dbserver, "RACE_WAIT_SECONDS", 0.2)

    async def scenario() -> list[str]:
        engine = engine_on(bridge)
        await _schema(engine)
        try:
            with bridge.racing():
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO authors (id, name) VALUES (1, 'a')"))
                    await connection.execute(text("INSERT INTO authors (id, name) VALUES (2, 'b')"))
            async with engine.connect() as connection:
                return list((await connection.execute(text("SELECT name FROM authors ORDER BY id"))).scalars())
        finally:
            await engine.dispose()

    assert run(scenario()) == ["a", "b"]


def test_rows_without_order_by_come_backwards(bridge: DatabaseBridge):
    """A check of "ordered by id" cannot be passed by a query that never asked for an order."""

    async def scenario() -> tuple[list[int], list[int]]:
        engine = engine_on(bridge)
        await _schema(engine)
        try:
            async with engine.begin() as connection:
                for n in (1, 2, 3):
                    await connection.execute(
                        text("INSERT INTO authors (id, name) VALUES (:n, :name)"), {"n": n, "name": f"a{n}"}
                    )
                unordered = list((await connection.execute(text("SELECT id FROM authors"))).scalars())
                ordered = list((await connection.execute(text("SELECT id FROM authors ORDER BY id"))).scalars())
                return unordered, ordered
        finally:
            await engine.dispose()

    assert run(scenario()) == ([3, 2, 1], [1, 2, 3])
