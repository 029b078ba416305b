"""What tests hold: observations of learner code, a client, the database, the statements sent."""

from __future__ import annotations

import asyncio
import base64
import glob
import inspect
import shutil
import sqlite3
import textwrap
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from grader.checks import CheckFailure
from grader.checks.source import Program
from grader.models import ErrorInfo
from grader.testing.backend import Backend


def probe_source(probe: Callable[..., Any]) -> tuple[str, str]:
    """The source and name of a probe: a top-level function that imports what it uses."""
    return textwrap.dedent(inspect.getsource(probe)), probe.__name__


class Observation(BaseModel):
    """What happened when learner code ran: a value, or the exception it raised."""

    value: Any = None
    error: ErrorInfo | None = None
    statements: list[str] = Field(default_factory=list)
    # At each checkpoint a probe took (``grader.checks.bookshop.checkpoint``): the database, and how many
    # connections held a transaction open on it, seen from outside the learner's code during grading.
    open_transactions: list[tuple[str, int]] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def raised(self, *type_names: str) -> bool:
        return self.error is not None and self.error.type in type_names

    def describe_error(self) -> str:
        if self.error is None:
            return ""
        if self.error.type == "NotImplementedError" and not self.error.message:
            return "NotImplementedError (the exercise is not written yet)"
        return f"{self.error.type}: {self.error.message}"


class Learner:
    """Calls learner functions and runs probes in the learner's process."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def _observe(self, op: str, args: dict[str, Any]) -> Observation:
        return Observation.model_validate(await self.backend.request(op, args))

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Observation:
        return await self._observe("call", {"name": name, "args": list(args), "kwargs": kwargs})

    async def probe(self, probe: Callable[..., Any], **kwargs: Any) -> Observation:
        source, name = probe_source(probe)
        return await self._observe("probe", {"source": source, "name": name, "kwargs": kwargs})

    def racing(self) -> AbstractContextManager[None]:
        """``with learner.racing(): await asyncio.gather(client.post(...), twin_client.post(...))``: during
        grading the two requests run in two learner processes, and neither writes before both can."""
        return self.backend.racing()

    async def race(self, probe: Callable[..., Any], *sides: dict[str, Any]) -> list[Observation]:
        """The probe run twice at the same moment, with each side's arguments: in this process and in the
        twin during grading (as two workers of a deployment would), in the kernel twice for a self-check."""
        first, second = sides
        twin = Learner(self.backend.twin())
        await twin.defined()  # the twin is started (its cells replayed) before the race, not during it
        with self.racing():
            found = await asyncio.gather(
                self.probe(probe, **first), twin.probe(probe, **second), return_exceptions=True
            )
        # A side whose process died is that side's observation; the other side has finished either way.
        return [
            side
            if isinstance(side, Observation)
            else Observation(error=ErrorInfo(type=type(side).__name__, message=str(side)))
            for side in found
        ]

    def program(self) -> Program:
        """The learner's cells read as source, in this process: for rules about who does what in the code."""
        return Program.from_cells(self.backend.sources())

    async def defined(self, *names: str) -> dict[str, bool]:
        answer = await self._observe("defined", {"names": list(names)})
        return dict(answer.value or {})


class StatementLog:
    """The SQL statements the learner's code sent, one list per HTTP request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[str]]] = []

    def record(self, label: str, statements: list[str]) -> None:
        self.requests.append((label, statements))

    @property
    def last(self) -> list[str]:
        return self.requests[-1][1] if self.requests else []

    def clear(self) -> None:
        self.requests.clear()


class TableTemplate:
    """The first test's tables, freshly made by the learner's code, kept for the later tests of one run: each
    then starts from a copy of the file instead of a ``create_all`` in the learner's process (a third of a
    test's set-up). The copy lies in a folder of the grader's, not beside the test databases, where the
    learner's code could reach it and change what every later test starts from."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "tables.sqlite"
        self.ready = False

    def restore(self, db: Database) -> bool:
        """Lay the tables into ``db`` (a fresh database); False if there are none to copy yet."""
        if not self.ready:
            return False
        shutil.copyfile(self.path, db.path)
        return True

    def keep(self, db: Database) -> None:
        """Keep ``db``, just made with the tables and nothing else, for the next tests."""
        shutil.copyfile(db.path, self.path)
        self.ready = True


class Database:
    """The grader's own connection to a test database, the SQLite file the learner's code is pointed at.

    During grading the file lies in a folder the learner process cannot see, so it cannot have been
    swapped; what the learner's SQL could still leave in it is checked on every open: views or
    triggers (the course creates neither) would make the grader's reads report what they choose.
    """

    def __init__(self, path: Path, driver: str = "aiosqlite") -> None:
        self.path = path
        self.driver = driver

    @classmethod
    def new(cls, path: Path, driver: str = "aiosqlite") -> Database:
        """A fresh (absent) database file: the learner's code or the grader creates it."""
        path.unlink(missing_ok=True)
        return cls(path, driver)

    def sibling(self, suffix: str) -> Database:
        """Another fresh database beside this one, reached the same way."""
        return Database.new(self.path.with_name(f"{self.path.stem}-{suffix}.sqlite"), self.driver)

    def remove(self) -> None:
        """Delete this database, the siblings made from it and their journals."""
        for path in [self.path, *self.path.parent.glob(f"{glob.escape(self.path.stem)}-*.sqlite")]:
            for file in (path, path.with_name(path.name + "-journal")):
                file.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        return f"sqlite+{self.driver}:///{self.path}"

    def connect(self) -> sqlite3.Connection:
        """A connection of the grader's; ``with db.connect() as c:`` commits, and the caller closes it."""
        # A learner process that shares the folder (a self-check) could swap the file for a symlink.
        if self.path.is_symlink():
            raise CheckFailure(
                "The test database was replaced by a symbolic link.", "Leave the files the checks create alone."
            )
        connection = sqlite3.connect(self.path)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA trusted_schema=OFF")
        planted = connection.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name"
        ).fetchall()
        if planted:
            connection.close()
            names = ", ".join(f"{row['type']} {row['name']}" for row in planted)[:200]
            raise CheckFailure(
                f"The test database holds {names}, which no exercise creates: the checks do not read through it.",
                "Create only the tables of the models; drop any view or trigger your code added.",
            )
        return connection

    def _run(self, statement: str, parameters: tuple[Any, ...] | dict[str, Any]) -> list[sqlite3.Row]:
        connection = self.connect()
        try:
            with connection:
                return connection.execute(statement, parameters).fetchall()
        finally:
            connection.close()

    def execute(self, statement: str, parameters: tuple[Any, ...] | dict[str, Any] = ()) -> None:
        self._run(statement, parameters)

    def rows(self, statement: str, parameters: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._run(statement, parameters)]

    def tables(self) -> list[str]:
        found = self.rows("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        return [row["name"] for row in found if not row["name"].startswith("sqlite_")]

    def columns(self, table: str) -> list[str]:
        return [row["name"] for row in self.rows(f'PRAGMA table_info("{table}")')]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: equal snapshots mean an unchanged database."""
        tables = self.tables()
        connection = self.connect()
        try:
            return {
                table: sorted(tuple(row) for row in connection.execute(f'SELECT * FROM "{table}"')) for table in tables
            }
        finally:
            connection.close()


class LearnerTransport(httpx.AsyncBaseTransport):
    """Carries httpx requests to the learner's app, wherever it runs, and logs its statements."""

    def __init__(self, backend: Backend, handle: int, log: StatementLog) -> None:
        self.backend = backend
        self.handle = handle
        self.log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = await self.backend.request(
            "http",
            {
                "handle": self.handle,
                "method": request.method,
                "url": str(request.url),
                "headers": [[k, v] for k, v in request.headers.multi_items()],
                "body": base64.b64encode(body).decode(),
            },
        )
        self.log.record(f"{request.method} {request.url.path}", answer.get("statements", []))
        if answer.get("error"):
            error = answer["error"]
            raise httpx.TransportError(f"the learner's app could not answer: {error['type']}: {error['message']}")
        return httpx.Response(
            status_code=answer["status"],
            headers=[tuple(h) for h in answer["headers"]],
            content=base64.b64decode(answer["body"]),
            request=request,
        )
