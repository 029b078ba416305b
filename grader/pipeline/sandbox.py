"""Stage 4, sandbox: run the learner's cells in their own process, and keep that process answering.

A cell that never finishes is killed by the wall-clock limit; the process is then started again
and the other cells replayed without it, so one endless loop costs only the exercise it is in.
The same replay brings the process back if a test's request kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.models import CellRun, ErrorInfo, StoppedCell
from grader.pipeline.restore import Cell
from grader.sandbox.dbserver import BRIDGE_SOCKET, DRIVER, DatabaseBridge, private_root
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.process import LearnerDied, LearnerProcess, LearnerTimeout
from grader.sandbox.warm import Zygote, ZygoteError

MAX_RESTARTS = 3
PROVIDED_CELL_TIMEOUT = 30.0


class SandboxSession:
    """A learner process for one submission, restarted (cells replayed) when a limit kills it."""

    def __init__(
        self,
        cells: list[Cell],
        scratch: Path,
        limits: Limits,
        isolation: Isolation | None = None,
        zygote: Zygote | None = None,
    ) -> None:
        self.cells = cells
        self.zygote = zygote
        self.scratch = scratch
        self.limits = limits
        self.isolation = isolation or Isolation()
        # Test databases: in a folder of the grader's that no sandbox sees, reached through the bridge.
        scratch.mkdir(parents=True, exist_ok=True)
        self.db_dir = Path(tempfile.mkdtemp(prefix="submission-", dir=private_root()))
        try:
            self.bridge = DatabaseBridge(scratch / BRIDGE_SOCKET, self.db_dir)
        except BaseException:
            shutil.rmtree(self.db_dir, ignore_errors=True)
            raise
        self.runs: dict[int, CellRun] = {}
        self.skipped: set[int] = set()
        self.restarts = 0
        self.process: LearnerProcess | None = None
        # A second process on the same databases, started for race checks only: two workers of a deployment.
        self.twin: LearnerProcess | None = None
        self.twin_starts = 0
        self.closed = False
        # Restarts during tests start the process from this thread, which lives as long as the session:
        # bwrap's --die-with-parent follows the *thread* that started it, and a thread of a test's event
        # loop ends with that test, which killed every restarted process one test later.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="learner-starter")

    def __enter__(self) -> SandboxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, twin: bool = False) -> list[CellRun]:
        """Start the process and run every cell; returns one record per cell. With ``twin`` (the checks race),
        the second process starts and replays the cells at the same time, so that no check waits for it."""
        starting = self._starter.submit(self._start_twin) if twin else None
        self._boot()
        if starting is not None:
            # A twin that did not start is started again by the first race, which then reports what stops it.
            with contextlib.suppress(LearnerDied, OSError):
                starting.result()
        return [self.runs[cell.index] for cell in self.cells]

    def _boot(self) -> None:
        while True:
            self.process = LearnerProcess(self.scratch, self.limits, self.isolation, self.zygote)
            self.process.start()
            looping = self._run_cells(self.process)
            if looping is None:
                return
            self.skipped.add(looping)
            self.restarts += 1
            if self.restarts > MAX_RESTARTS:
                return

    def _run_cells(self, process: LearnerProcess, record: bool = True) -> int | None:
        """Run the cells not skipped; the index of a cell that killed the process, if any. Only the first
        process's runs are the submission's record; a twin replays the same cells silently."""
        for cell in self.cells:
            if cell.index in self.skipped:
                continue
            try:
                args = {"source": cell.source, "grade_id": cell.grade_id}
                answer = process.request("run_cell", args, timeout=self._timeout(cell))
            except LearnerDied as exc:
                if not record:
                    return cell.index
                self.runs[cell.index] = CellRun(
                    index=cell.index,
                    grade_id=cell.grade_id,
                    ok=False,
                    timed_out=isinstance(exc, LearnerTimeout),
                    error=ErrorInfo(type=type(exc).__name__, message=str(exc)),
                )
                self._mark_unrun(after=cell.index)
                return cell.index
            if not record:
                continue
            error = answer.get("error")
            self.runs[cell.index] = CellRun(
                index=cell.index,
                grade_id=cell.grade_id,
                ok=bool(answer.get("ok")),
                error=ErrorInfo.model_validate(error) if error else None,
            )
        return None

    def _timeout(self, cell: Cell) -> float:
        """Provided cells are the instructor's code, put back from the source notebook: their cold imports
        (FastAPI, SQLAlchemy) may take longer than a learner cell's limit on a busy machine, and timing one
        out would cost the learner every exercise. They get the allowance of a process start instead."""
        if cell.kind == "provided":
            return max(self.limits.cell_timeout, PROVIDED_CELL_TIMEOUT)
        return self.limits.cell_timeout

    def _mark_unrun(self, after: int) -> None:
        for cell in self.cells:
            if cell.index > after and cell.index not in self.runs:
                self.runs[cell.index] = CellRun(index=cell.index, grade_id=cell.grade_id, ok=False)

    async def ready(self, twin: bool = False) -> LearnerProcess:
        """The process a request goes to, running: the first one, restarted (its cells replayed) if an earlier
        request killed it; or the twin, started on first use and again if a request killed it."""
        process = self.twin if twin else self.process
        if process is None or not process.alive:
            await asyncio.wrap_future(self._starter.submit(self._start_twin if twin else self._restart))
        process = self.twin if twin else self.process
        assert process is not None
        return process

    async def request(self, op: str, args: dict[str, Any], twin: bool = False) -> dict[str, Any]:
        """A test's request, to a running process."""
        return await (await self.ready(twin)).arequest(op, args)

    def _start_twin(self) -> None:
        if self.twin is not None and self.twin.alive:
            return
        if self.twin_starts > MAX_RESTARTS:
            raise LearnerDied(
                "the second process your notebook runs in for race checks (two server workers) was restarted too "
                "often and is not started again"
            )
        self.twin_starts += 1
        if self.closed:
            raise LearnerDied("the submission's grading is over")
        self.twin = LearnerProcess(self.scratch, self.limits, self.isolation, self.zygote, home="twin")
        self.twin.start()
        if self.closed:  # closed while it started: close() could not see it yet
            self.twin.stop()
            raise LearnerDied("the submission's grading is over")
        self._run_cells(self.twin, record=False)

    def _restart(self) -> None:
        """On the starter thread, one at a time: requests that found the process dead start it once."""
        if self.process is not None and self.process.alive:
            return
        if self.restarts >= MAX_RESTARTS:
            raise LearnerDied("the learner process was restarted too often and is not started again")
        self.restarts += 1
        self._boot()

    def output(self) -> str:
        return self.process.output.text() if self.process else ""

    def close(self) -> None:
        self.closed = True
        for process in (self.twin, self.process):
            if process is not None:
                process.stop()
        if self.zygote is not None:
            # Stopping a process ends its own session only: what the submission started elsewhere ends here.
            with contextlib.suppress(ZygoteError):
                self.zygote.kill_all()
        self._starter.shutdown(wait=False)
        self.bridge.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        shutil.rmtree(self.db_dir, ignore_errors=True)


class SandboxBackend:
    """The fixtures' backend during grading: every request crosses into the learner process.

    The statements a request caused are the ones the database bridge executed while it ran, and its
    checkpoints' counts of open transactions are the bridge's, whatever the learner process reports: the
    window is the grader's, so requests that overlap share their observations.
    """

    db_driver = DRIVER

    def __init__(self, session: SandboxSession, twin: bool = False) -> None:
        self.session = session
        self.db_dir = session.db_dir
        self.is_twin = twin

    def twin(self) -> SandboxBackend:
        """The same submission's second process, on the same databases (the bridge)."""
        return SandboxBackend(self.session, twin=True)

    @contextlib.contextmanager
    def racing(self) -> Iterator[None]:
        """Requests sent meanwhile race: each one's first write waits for the other's, at the bridge."""
        with self.session.bridge.racing():
            yield

    def sources(self) -> list[str]:
        # The submitted cells, read in the grading process: a cell skipped for looping forever did not run.
        return [cell.source for cell in self.session.cells if cell.index not in self.session.skipped]

    def stopped_cells(self) -> list[StoppedCell]:
        runs = self.session.runs
        return [
            StoppedCell(run=runs[cell.index], source=cell.source)
            for cell in self.session.cells
            if cell.index in self.session.skipped and cell.index in runs
        ]

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        bridge = self.session.bridge
        process = await self.session.ready(self.is_twin)  # before the mark: what replayed cells send is not ours
        mark = bridge.mark()
        try:
            answer = await process.arequest(op, args)
            answer["statements"] = bridge.since(mark)
            answer["open_transactions"] = bridge.open_transactions_since(mark)
        finally:
            bridge.release(mark)
        return answer
