"""The learner's end of the database bridge: the ``sqlite+workbook://`` driver for SQLAlchemy's async engine.

During grading, the URL a check hands the learner's code is ``sqlite+workbook:///<path>``: the file lies
where the learner process cannot open it, and every statement goes over a Unix socket (named by
``WORKBOOK_DB_BRIDGE``) to the grader, which executes and counts it (``grader.sandbox.dbserver``).

This module mimics the part of aiosqlite's API that SQLAlchemy's aiosqlite dialect uses, so the dialect
runs on top of it unchanged: the same SQL, the same sqlite3 exceptions (with their error codes), the same
pool. It is a module-shaped "aiosqlite" on purpose: the dialect reads its exceptions and ``Connection``
from the module it is given.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sqlite3
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

from grader.sandbox.dbserver import DRIVER, SOCKET_ENV, decode_value, encode_value

MAX_LINE = 32 * 2**20
__version__ = "1.0"

# The exceptions aiosqlite re-exports from sqlite3: the dialect maps them to SQLAlchemy's.
DatabaseError = sqlite3.DatabaseError
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info

# SQL functions SQLAlchemy's dialect registers on each connection: floor is provided by the grader's end;
# regexp is not (a learner's pattern run in the grader's process could stall it), so REGEXP fails there.
SERVER_FUNCTIONS = frozenset({"floor", "regexp"})


def _value(value: Any, index: int | str) -> Any:
    """A parameter as sqlite3 would bind it, as JSON; bytes travel in base64."""
    if value is None or isinstance(value, int | float | str):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, bytes | bytearray | memoryview):
        return encode_value(bytes(value))
    if isinstance(value, datetime.datetime):  # sqlite3's default adapters, which aiosqlite would use
        return value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise ProgrammingError(f"Error binding parameter {index}: type '{type(value).__name__}' is not supported")


def _parameters(parameters: Any) -> Any:
    if parameters is None:
        return []
    if isinstance(parameters, dict):
        return {str(key): _value(value, key) for key, value in parameters.items()}
    return [_value(value, index) for index, value in enumerate(parameters, start=1)]


def _raise(error: dict[str, Any]) -> None:
    kind = getattr(sqlite3, str(error.get("class")), None)
    if not (isinstance(kind, type) and issubclass(kind, sqlite3.Error)):
        kind = sqlite3.DatabaseError
    exc = kind(str(error.get("message", "")))
    code, name = error.get("code"), error.get("name")
    if isinstance(code, int) and isinstance(name, str):
        exc.sqlite_errorcode, exc.sqlite_errorname = code, name
    raise exc


class Cursor:
    """aiosqlite's cursor: each execute brings back all its rows at once."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: deque[tuple[Any, ...]] = deque()
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _take(self, answer: dict[str, Any]) -> None:
        description = answer.get("description")
        self.description = [(column[0], *[None] * 6) for column in description] if description else None
        self.rowcount = answer.get("rowcount", -1)
        self.lastrowid = answer.get("lastrowid")
        self._rows = deque(tuple(decode_value(value) for value in row) for row in answer.get("rows") or [])

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        self._take(await self._connection._request({"op": "execute", "sql": sql, "params": _parameters(parameters)}))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        params = [_parameters(row) for row in seq_of_parameters]
        self._take(await self._connection._request({"op": "executemany", "sql": sql, "params": params}))
        return self

    async def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> tuple[Any, ...]:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.popleft()


class Connection:
    """aiosqlite's connection, carried by a Unix socket to the grader. Awaiting it opens it."""

    def __init__(self, database: Any, timeout: float = 5.0, **_options: Any) -> None:
        self._database = os.fspath(database)
        self._timeout = float(timeout)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock: asyncio.Lock | None = None
        self._connection: bool | None = None  # the dialect's "is it open" test reads this
        self.isolation_level: str | None = ""

    def __await__(self) -> Any:
        return self._open().__await__()

    async def _open(self) -> Connection:
        await self._reach_bridge()
        try:
            await self._request({"op": "open", "database": self._database, "timeout": self._timeout})
        except BaseException:
            self.stop()  # a refused open must not keep one of the grader's connections
            raise
        self._connection = True
        return self

    async def _reach_bridge(self) -> None:
        path = os.environ.get(SOCKET_ENV)
        if not path:
            raise OperationalError("unable to open database file (sqlite+workbook:// works only under the grader)")
        try:
            self._reader, self._writer = await asyncio.open_unix_connection(path, limit=MAX_LINE)
        except OSError as exc:
            raise OperationalError(f"unable to open database file ({exc.strerror})") from None
        self._lock = asyncio.Lock()

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._writer is None or self._reader is None or self._lock is None:
            raise ProgrammingError("Cannot operate on a closed database.")
        async with self._lock:
            try:
                self._writer.write(json.dumps(message).encode() + b"\n")
                await self._writer.drain()
                line = await self._reader.readline()
            except (OSError, ValueError) as exc:  # ValueError: an answer longer than the stream's limit
                self.stop()
                raise OperationalError(f"connection closed: {type(exc).__name__}") from None
            except BaseException:
                # A request cut off halfway (a cancelled task) would leave its answer for the next one.
                self.stop()
                raise
        if not line:
            self.stop()
            # "connection closed" is what SQLAlchemy's SQLite dialect reads as a disconnect.
            raise OperationalError("connection closed by the grader")
        answer: dict[str, Any] = json.loads(line)
        if error := answer.get("error"):
            _raise(error)
        return answer

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await Cursor(self).execute(sql, parameters)

    async def commit(self) -> None:
        await self._request({"op": "commit"})

    async def rollback(self) -> None:
        await self._request({"op": "rollback"})

    async def set_isolation_level(self, value: str | None) -> None:
        await self._request({"op": "isolation_level", "value": value})
        self.isolation_level = value

    async def close(self) -> None:
        if self._writer is None:
            return
        try:
            await self._request({"op": "close"})
        finally:
            self.stop()

    def stop(self) -> None:
        """Drop the socket at once (SQLAlchemy's terminate); the grader rolls back what was open."""
        writer, self._writer, self._reader, self._connection = self._writer, None, None, None
        if writer is not None:
            writer.close()


def connect(database: Any, **options: Any) -> Connection:
    return Connection(database, **options)


async def checkpoint(database: str) -> None:
    """Ask the grader to note, now, how many of this process's connections hold a transaction open on
    ``database``."""
    channel = Connection(database)
    await channel._reach_bridge()
    try:
        await channel._request({"op": "checkpoint", "database": database})
    finally:
        channel.stop()


class BridgeConnection(AsyncAdapt_aiosqlite_connection):
    """The dialect's adapted connection; only what reaches into aiosqlite's thread differs."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        try:
            await_(self._connection.set_isolation_level(value))
        except Exception as error:
            self._handle_exception(error)

    def create_function(self, name: str, *args: Any, **kw: Any) -> None:
        if name.lower() in SERVER_FUNCTIONS:
            return
        raise NotSupportedError(f"SQL functions written in Python ({name}) are not available to graded code")


class BridgeDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> BridgeConnection:
        creator = kw.pop("async_creator_fn", None)
        connection = creator(*arg, **kw) if creator else connect(*arg, **kw)
        return BridgeConnection(self, await_(connection))


class BridgeDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> BridgeDBAPI:
        return BridgeDBAPI(sys.modules[__name__], sqlite3)
