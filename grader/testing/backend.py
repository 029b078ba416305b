"""Where learner requests go: the live kernel (self-checks) or a sandboxed process (grading)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from grader.models import StoppedCell
from grader.sandbox.runtime import LearnerRuntime


class Backend(Protocol):
    """Sends one request to the learner side and returns its plain-data answer.

    Test databases are files of ``db_dir``, which the learner's code reaches with the SQLAlchemy driver
    ``db_driver`` (``sqlite+<db_driver>:///<path>``).
    """

    db_dir: Path
    db_driver: str

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]: ...

    def sources(self) -> list[str]:
        """The code cells the learner's process ran, in order: what structural checks read."""
        ...

    def stopped_cells(self) -> list[StoppedCell]:
        """Cells that stopped the learner's process (no answer in time, memory) and were skipped after it."""
        ...

    def twin(self) -> Backend:
        """A second learner process with the same cells on the same databases, for race checks."""
        ...

    def racing(self) -> AbstractContextManager[None]:
        """While open, requests to this backend and its twin race: neither writes before both can."""
        ...


# The check folders of the kernel's running check()s: their databases reverse unordered results, as the bridge's do.
_CHECK_FOLDERS: set[str] = set()


def _reverse_unordered_selects(dbapi_connection: Any, _record: Any) -> None:
    """On a new SQLite connection to a check's database, ``PRAGMA reverse_unordered_selects``: a query
    without ORDER BY then fails an "ordered by id" check in the notebook too, not only when graded."""
    if "sqlite" not in type(dbapi_connection).__module__:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA database_list")
        path = next((str(row[2]) for row in cursor.fetchall() if row[1] == "main"), "")
        if path and any(os.path.realpath(path).startswith(folder) for folder in _CHECK_FOLDERS):
            cursor.execute("PRAGMA reverse_unordered_selects=ON")
    except Exception:  # the learner's own connection must never fail because of a check's nicety
        pass
    finally:
        cursor.close()


@cache
def _listen_for_check_databases() -> None:
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    event.listen(Pool, "connect", _reverse_unordered_selects)


class KernelBackend:
    """Answers from the namespace of the running kernel, for ``check()`` in a notebook."""

    db_driver = "aiosqlite"

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.runtime = LearnerRuntime(namespace)
        self._tmp = tempfile.TemporaryDirectory(prefix="workbook-check-")
        self.db_dir = Path(self._tmp.name)
        _listen_for_check_databases()
        _CHECK_FOLDERS.add(os.path.realpath(self.db_dir) + os.sep)

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return await self.runtime.handle({"op": op, "args": args})

    def twin(self) -> KernelBackend:
        # One kernel only: a self-check races two calls inside it, which a lock in the notebook serialises;
        # grading races two processes.
        return self

    def racing(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def stopped_cells(self) -> list[StoppedCell]:
        return []  # a kernel's cell that never ends never reaches check()

    def sources(self) -> list[str]:
        # IPython's input history, oldest first: a cell run again after an edit comes later and wins.
        history = self.runtime.namespace.get("In", [])
        return [source for source in history if isinstance(source, str)]

    def close(self) -> None:
        _CHECK_FOLDERS.discard(os.path.realpath(self.db_dir) + os.sep)
        self._tmp.cleanup()
