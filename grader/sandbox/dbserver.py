"""The grader's end of the database bridge: learner statements executed and counted where the learner cannot reach.

During grading the test databases live in a folder the sandbox cannot see (``private_root``). The
learner's engines reach them only through the ``sqlite+workbook://`` driver (``dbclient``), which
sends each statement over a Unix socket to this server, in the grading process. What the checks
count (statements per request) and read (rows) is therefore observed here, where
removing SQLAlchemy's listeners, opening a second ``sqlite3`` connection or patching a counter in the
learner's process changes nothing.

The statements are the learner's, run by the grader's process: each connection is opened with an
authorizer (no ``ATTACH``, only harmless pragmas), a size cap on the file and on values, a deadline
per statement, and a cap on what one answer may hold.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import math
import os
import re
import shutil
import socketserver
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

SOCKET_ENV = "WORKBOOK_DB_BRIDGE"  # where the learner process finds the socket
DRIVER = "workbook"  # sqlite+workbook:// is the bridge
BRIDGE_SOCKET = "db.sock"  # its name in the submission's scratch folder
MAX_LINE = 2 * 2**20  # a request (statement and parameters) from the learner
MAX_ANSWER = 8 * 2**20  # the rows of one answer, as the JSON sent
# One string or blob (SQLITE_LIMIT_LENGTH). Small on purpose: one call of instr() or replace() on a value is one
# step of SQLite's that neither the deadline nor an interrupt can cut, and its cost grows with the value squared.
MAX_VALUE = 256 * 2**10
MAX_PAGES = 6_400  # 25 MiB of database file at 4 KiB pages, and as much for temporary tables
MAX_DATABASES = 16  # files in a submission's folder: checks make one to three per test, and remove none
MAX_CONNECTIONS = 32
BUSY_REQUESTS = 2  # requests parsed and executed at once: what one submission can make the grader hold
MAX_KEPT = 10_000  # statements kept word for word per request; beyond, only counted
KEPT_CHARACTERS = 2_000  # of each statement kept
# How often the server's loop looks whether it should stop: close() waits for it, once per submission.
POLL_SECONDS = 0.02
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes, the last one a NUL
STATEMENT_SECONDS = 10.0
# How long a racer's first write waits at a write barrier for the other's: two requests that overlap reach
# theirs within milliseconds; one that never writes (it failed before) costs the other this, once.
RACE_WAIT_SECONDS = 1.0
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
MAX_BUSY_SECONDS = 10.0
DATABASE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}\.sqlite")
# What sqlite3 accepts as isolation_level: "", pysqlite's default that SQLAlchemy restores after AUTOCOMMIT,
# begins as DEFERRED does.
ISOLATION_LEVELS: dict[str | None, Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None] = {
    None: None,
    "": "DEFERRED",
    "DEFERRED": "DEFERRED",
    "IMMEDIATE": "IMMEDIATE",
    "EXCLUSIVE": "EXCLUSIVE",
}

# Pragmas the course or SQLAlchemy's SQLite dialect may send; any other (writable_schema, max_page_count,
# temp_store_directory, ...) is refused by the authorizer, but for the tuning ones of IGNORED_PRAGMAS.
ALLOWED_PRAGMAS = frozenset(
    {
        "foreign_keys",
        "foreign_key_list",
        "foreign_key_check",
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "reverse_unordered_selects",
        "read_uncommitted",
        "synchronous",
        "journal_mode",
        "user_version",
        "defer_foreign_keys",
        "recursive_triggers",
        "case_sensitive_like",
        "integrity_check",
        "quick_check",
        "page_count",
        "page_size",
        "encoding",
        "collation_list",
        "compile_options",
        "database_list",
        "function_list",
        "pragma_list",
        "data_version",
        "freelist_count",
        "optimize",
    }
)
# No WAL: its log grows past max_page_count while any reader is open.
JOURNAL_MODES = frozenset({"delete", "truncate", "persist", "memory"})
# Tuning a learner's connect listener may set: accepted and ignored (SQLITE_IGNORE), so the same code runs in
# the notebook and under the grader, and the grader's limits stay.
IGNORED_PRAGMAS = frozenset({"cache_size", "temp_store", "busy_timeout", "mmap_size"})
ROOT_ENV = "WORKBOOK_PRIVATE_ROOT"
ELIDED = "[not kept: more than 10,000 statements in one request]"


@cache
def private_root() -> Path:
    """The folder (0700) under which the test databases live. Every sandbox covers it with an empty tmpfs,
    whatever the machine's temporary folder is.

    The first process of a grading run makes it and removes it at exit. The grading processes it starts
    use the same folder (``WORKBOOK_PRIVATE_ROOT`` for a command, ``GradeRequest.database_root`` for a
    process forked by the fork server, which does not see later changes of the environment): the folder
    every sandbox hides is the one each submission's databases are in, and what a killed grading process
    left there is removed all the same."""
    inherited = os.environ.get(ROOT_ENV)
    if inherited and Path(inherited).is_dir():
        return Path(inherited)
    root = Path(tempfile.mkdtemp(prefix="workbook-private-"))
    os.environ[ROOT_ENV] = str(root)
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def adopt_private_root(root: Path) -> None:
    """Use ``root``, the private_root of the process that started this one."""
    os.environ[ROOT_ENV] = str(root)
    private_root.cache_clear()


def counted(statement: str) -> bool:
    """Whether a statement counts toward a request's queries: a connection's set-up pragmas do not."""
    return not statement.lstrip().upper().startswith("PRAGMA")


def writes(statement: str) -> bool:
    """A statement that writes: INSERT, UPDATE, DELETE or REPLACE, also after a WITH clause."""
    words = statement.lstrip().upper()
    if words.startswith("WITH"):
        return re.search(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", words) is not None
    return words.startswith(WRITES)


class WriteBarrier:
    """Holds the first write of each connection until ``parties`` connections are at theirs, or the wait is
    over: two racing requests then both read before either writes, as two server workers can, however
    the operating system schedules their processes. A race a check sets up is a race that happens."""

    def __init__(self, parties: int, seconds: float | None = None) -> None:
        self.parties = parties
        self.seconds = RACE_WAIT_SECONDS if seconds is None else seconds
        self.deadline = math.inf  # counted from the first arrival: setting up a race costs it nothing
        self._arrived: set[int] = set()
        self._open = False
        self._condition = threading.Condition()

    def arrive(self, link: int) -> None:
        with self._condition:
            if self._open or link in self._arrived:
                return
            self._arrived.add(link)
            if len(self._arrived) == 1:
                self.deadline = time.monotonic() + self.seconds
            if len(self._arrived) >= self.parties:
                self._open = True
                self._condition.notify_all()
                return
            self._condition.wait_for(lambda: self._open, timeout=max(0.0, self.deadline - time.monotonic()))
            self._open = True  # whoever waited out the deadline opens it for all: a barrier holds once


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in IGNORED_PRAGMAS:
            return sqlite3.SQLITE_IGNORE
        if name not in ALLOWED_PRAGMAS:
            return sqlite3.SQLITE_DENY
        if name == "journal_mode" and arg2 is not None and arg2.strip("'\"").lower() not in JOURNAL_MODES:
            return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def encode_value(value: Any) -> Any:
    """A value on the wire, either way: JSON as it is, bytes in base64."""
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    return value


def _utf8(text: str) -> bytes:
    # A lone surrogate can stand only inside a JSON string, where its backslash escape is what JSON spells.
    return text.encode("utf-8", "backslashreplace")


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return base64.b64decode(value["$b"])
    return value


def _parameters(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {str(key): decode_value(value) for key, value in raw.items()}
    if isinstance(raw, list):
        return [decode_value(value) for value in raw]
    return ()


def _error(exc: BaseException) -> dict[str, Any]:
    """An exception as the learner's driver raises it again: sqlite3's class, message and error code."""
    if isinstance(exc, sqlite3.Error):
        return {
            "class": type(exc).__name__,
            "message": str(exc)[:1000],
            "code": getattr(exc, "sqlite_errorcode", None),
            "name": getattr(exc, "sqlite_errorname", None),
        }
    return {"class": "InterfaceError", "message": f"{type(exc).__name__}: {exc}"[:1000], "code": None, "name": None}


@dataclass(frozen=True)
class Mark:
    """A point in the bridge's logs: what was executed and seen after it is ``since(mark)`` and
    ``open_transactions_since(mark)``."""

    statements: int
    checkpoints: int


@dataclass
class Link:
    """One learner connection: its sqlite3 connection and the deadline of the statement it runs."""

    number: int
    connection: sqlite3.Connection | None = None
    path: Path | None = None
    deadline: float = field(default=math.inf)

    def open(self, path: Path, timeout: float) -> None:
        connection = sqlite3.connect(path, timeout=min(max(timeout, 0.0), MAX_BUSY_SECONDS), check_same_thread=False)
        connection.execute("PRAGMA trusted_schema=OFF")
        # A query without ORDER BY gets its rows in reverse: SQLite's usual order (by id, as inserted) would
        # pass a check of "ordered by id" for code that never asked for an order.
        connection.execute("PRAGMA reverse_unordered_selects=ON")
        connection.execute(f"PRAGMA max_page_count={MAX_PAGES}")
        connection.execute(f"PRAGMA temp.max_page_count={MAX_PAGES}")
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        connection.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_LINE)
        connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        connection.create_function("floor", 1, math.floor, deterministic=True)  # as SQLAlchemy's pysqlite adds
        connection.set_authorizer(_authorize)
        connection.set_progress_handler(self._late, 10_000)
        self.connection, self.path = connection, path

    def _late(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.interrupt()  # a statement another thread runs ends first, as a timed-out one does
            connection.close()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        bridge = self.server.bridge
        link = bridge.new_link()
        if link is None:
            self._send({"error": _error(sqlite3.OperationalError("too many connections to the test database"))})
            return
        try:
            while line := self.rfile.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE:
                    self._send({"error": _error(sqlite3.DataError("the request is too large"))})
                    return
                request: Any = None
                with bridge.busy:  # parsing and executing are what cost the grader's memory and time
                    try:
                        request = json.loads(line)
                        answer = bridge.answer(link, request)
                    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
                        error = sqlite3.InterfaceError(f"a malformed request: {type(exc).__name__}")
                        answer = {"error": _error(error)}
                self._send(answer)
                if isinstance(request, dict) and request.get("op") == "close":
                    return
        except OSError:
            return
        finally:
            bridge.drop_link(link)

    def _send(self, answer: dict[str, Any] | bytes) -> None:
        self.wfile.write((answer if isinstance(answer, bytes) else _utf8(json.dumps(answer))) + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    bridge: DatabaseBridge


class DatabaseBridge:
    """Serves one submission's learner process: its databases are the files of ``folder``."""

    def __init__(self, socket_path: Path, folder: Path) -> None:
        if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH:
            raise OSError(
                f"the database bridge's socket path {str(socket_path)!r} is longer than a Unix socket allows "
                f"({MAX_SOCKET_PATH} bytes): set TMPDIR to a shorter folder"
            )
        self.folder = folder
        self.socket_path = socket_path
        self._lock = threading.Lock()
        self.busy = threading.BoundedSemaphore(BUSY_REQUESTS)
        self._statements: list[str] = []
        self._checkpoints: list[tuple[str, int]] = []
        self._offset = Mark(0, 0)  # what the logs' first entries are numbered: earlier ones were dropped
        self._windows = 0
        self._window_start = 0
        self._barrier: WriteBarrier | None = None
        self._links: dict[int, Link] = {}
        self._numbers = 0
        self._server = _Server(str(socket_path), _Handler)
        self._server.bridge = self
        # The learner's uid must be able to connect; the socket lies in its submission's scratch, which no
        # other sandbox sees.
        socket_path.chmod(0o666)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="database-bridge", daemon=True
        )
        self._thread.start()

    # -- observations -------------------------------------------------------------------------------
    def mark(self) -> Mark:
        """Open a window on the logs; ``release`` closes it. With no window open, nothing logged before
        can be asked for, so it is dropped: the logs hold what the open windows need, not a whole session."""
        with self._lock:
            if not self._windows:
                self._offset = Mark(
                    self._offset.statements + len(self._statements), self._offset.checkpoints + len(self._checkpoints)
                )
                self._statements.clear()
                self._checkpoints.clear()
            self._windows += 1
            mark = Mark(
                self._offset.statements + len(self._statements), self._offset.checkpoints + len(self._checkpoints)
            )
            self._window_start = mark.statements
            return mark

    def release(self, _mark: Mark) -> None:
        with self._lock:
            self._windows = max(0, self._windows - 1)

    def since(self, mark: Mark) -> list[str]:
        """The statements executed after ``mark``, in order."""
        with self._lock:
            return self._statements[mark.statements - self._offset.statements :]

    def open_transactions_since(self, mark: Mark) -> list[tuple[str, int]]:
        """At each checkpoint asked for after ``mark``: the database, and how many connections held a
        transaction open on it."""
        with self._lock:
            return self._checkpoints[mark.checkpoints - self._offset.checkpoints :]

    def _checkpoint(self, database: str) -> dict[str, Any]:
        # Counted here, in the grader: a learner's patched pool counter or session bookkeeping cannot change it.
        path = self._database(database)
        with self._lock:
            held = sum(
                1
                for link in self._links.values()
                if link.path == path and link.connection is not None and link.connection.in_transaction
            )
            if len(self._checkpoints) < MAX_KEPT:  # a flood of checkpoints only hides the learner's own
                self._checkpoints.append((str(path), held))
        return {}

    @contextlib.contextmanager
    def racing(self, parties: int = 2) -> Iterator[None]:
        """While open, the first write of each connection waits for ``parties`` of them (``WriteBarrier``)."""
        barrier = WriteBarrier(parties)
        self._barrier = barrier
        try:
            yield
        finally:
            if self._barrier is barrier:
                self._barrier = None

    def _wait_for_racers(self, link: Link, sql: str) -> None:
        barrier = self._barrier
        if barrier is None or not writes(sql):
            return
        # The slot of ``busy`` is given back while waiting: the other racer needs one to reach its write.
        self.busy.release()
        try:
            barrier.arrive(link.number)
        finally:
            self.busy.acquire()

    # -- serving ------------------------------------------------------------------------------------
    def new_link(self) -> Link | None:
        with self._lock:
            if len(self._links) >= MAX_CONNECTIONS:
                return None
            self._numbers += 1
            link = Link(self._numbers)
            self._links[link.number] = link
            return link

    def drop_link(self, link: Link) -> None:
        with self._lock:
            self._links.pop(link.number, None)
        link.close()

    def answer(self, link: Link, request: dict[str, Any]) -> dict[str, Any] | bytes:
        op = request["op"]
        try:
            if op == "checkpoint":
                return self._checkpoint(str(request["database"]))
            if op == "open":
                return self._open(link, str(request["database"]), float(request.get("timeout", 5.0)))
            if link.connection is None:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            if op in ("execute", "executemany"):
                return self._execute(link, str(request["sql"]), request.get("params"), many=op == "executemany")
            if op in ("commit", "rollback"):
                getattr(link.connection, op)()
                return {}
            if op == "isolation_level":
                value = request.get("value")
                level = value.upper() if isinstance(value, str) else value
                if level not in ISOLATION_LEVELS:
                    raise ValueError(f"isolation_level must be one of {list(ISOLATION_LEVELS)}, not {value!r}")
                link.connection.isolation_level = ISOLATION_LEVELS[level]
                return {}
            if op == "close":
                link.close()
                return {}
            raise sqlite3.InterfaceError(f"unknown operation {op!r}")
        except Exception as exc:  # the learner's statement failed: that is their observation to make
            return {"error": _error(exc)}

    def _database(self, database: str) -> Path:
        path = Path(database)
        if path.parent != self.folder or not DATABASE_NAME.fullmatch(path.name) or path.is_symlink():
            raise sqlite3.OperationalError("unable to open database file")
        return path

    def _open(self, link: Link, database: str, timeout: float) -> dict[str, Any]:
        path = self._database(database)
        if link.connection is not None:
            raise sqlite3.ProgrammingError("the connection is already open")
        if not path.exists() and len(list(self.folder.glob("*.sqlite"))) >= MAX_DATABASES:
            raise sqlite3.OperationalError(f"unable to open database file (more than {MAX_DATABASES} databases)")
        link.open(path, timeout)
        return {}

    def _execute(self, link: Link, sql: str, raw: Any, *, many: bool) -> bytes:
        assert link.connection is not None
        self._wait_for_racers(link, sql)
        if counted(sql):
            with self._lock:
                kept = self._offset.statements + len(self._statements) - self._window_start < MAX_KEPT
                self._statements.append(" ".join(sql[:KEPT_CHARACTERS].split()) if kept else ELIDED)
        link.deadline = time.monotonic() + STATEMENT_SECONDS
        try:
            if many:
                cursor = link.connection.executemany(sql, [_parameters(row) for row in raw or []])
            else:
                cursor = link.connection.execute(sql, _parameters(raw))
            rows = self._rows(cursor)
        finally:
            link.deadline = math.inf
        head = {
            "description": [[column[0]] for column in cursor.description] if cursor.description else None,
            "rowcount": cursor.rowcount,
            "lastrowid": cursor.lastrowid,
        }
        return _utf8(json.dumps(head)[:-1]) + b', "rows": [' + b", ".join(rows) + b"]}"

    @staticmethod
    def _rows(cursor: sqlite3.Cursor) -> list[bytes]:
        """Each row as the bytes that are sent: their size is what the cap counts, escapes and base64 included."""
        rows: list[bytes] = []
        size = 0
        while batch := cursor.fetchmany(500):
            for row in batch:
                rows.append(_utf8(json.dumps([encode_value(value) for value in row], ensure_ascii=False)))
                size += len(rows[-1]) + 2
                if size > MAX_ANSWER:
                    raise sqlite3.DataError(f"the result is larger than the {MAX_ANSWER // 2**20} MiB a test reads")
        return rows

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()
        self.socket_path.unlink(missing_ok=True)
