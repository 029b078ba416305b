"""Where learner requests go: the live kernel (self-checks) or a sandboxed process (grading)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Protocol

from grader.sandbox.runtime import LearnerRuntime


class Backend(Protocol):
    """Sends one request to the learner side and returns its plain-data answer."""

    data_dir: Path

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]: ...


class KernelBackend:
    """Answers from the namespace of the running kernel, for ``check()`` in a notebook."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.runtime = LearnerRuntime(namespace)
        self._tmp = tempfile.TemporaryDirectory(prefix="workbook-check-")
        self.data_dir = Path(self._tmp.name)

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return await self.runtime.handle({"op": op, "args": args})

    def close(self) -> None:
        self._tmp.cleanup()
