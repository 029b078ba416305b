"""Where learner requests go: the live kernel (self-checks) or a sandboxed process (grading)."""

from __future__ import annotations

import contextlib
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

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

    def twin(self) -> Backend:
        """A second learner process with the same cells on the same databases, for race checks."""
        ...

    def racing(self) -> AbstractContextManager[None]:
        """While open, requests to this backend and its twin race: neither writes before both can."""
        ...


class KernelBackend:
    """Answers from the namespace of the running kernel, for ``check()`` in a notebook."""

    db_driver = "aiosqlite"

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.runtime = LearnerRuntime(namespace)
        self._tmp = tempfile.TemporaryDirectory(prefix="workbook-check-")
        self.db_dir = Path(self._tmp.name)

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return await self.runtime.handle({"op": op, "args": args})

    def twin(self) -> KernelBackend:
        # One kernel only: a self-check races two calls inside it, which a lock in the notebook serialises;
        # grading races two processes.
        return self

    def racing(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def sources(self) -> list[str]:
        # IPython's input history, oldest first: a cell run again after an edit comes later and wins.
        history = self.runtime.namespace.get("In", [])
        return [source for source in history if isinstance(source, str)]

    def close(self) -> None:
        self._tmp.cleanup()
