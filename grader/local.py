"""Grading on this machine: ``--jobs`` slots, each a uid of its own and a warm zygote, one grading process per
submission forked from a pre-imported server."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import queue
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from pydantic import ValidationError

from grader import grade_one
from grader.course import Course
from grader.grade import error_extra
from grader.grade_one import GradeRequest
from grader.models import Submission, SubmissionResult
from grader.pipeline.score import error_result
from grader.sandbox.dbserver import private_root
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.slots import Slot, machine_slot
from grader.sandbox.warm import Zygote

# What the fork server imports once for every grading process it forks (pdb: pytest's debugging plugin
# imports it when each grading process configures pytest).
PRELOAD = ["grader.grade_one", "grader.pipeline.run_tests", "pytest_asyncio.plugin", "httpx", "nbformat", "pdb"]


def error_row(submission: Submission, message: str, elapsed: float) -> SubmissionResult:
    """The row of a grading that did not finish (time limit, crash, grader bug): worth another try."""
    return error_result(error_extra(submission).model_copy(update={"retry": True}), message, elapsed)


def grading_context() -> multiprocessing.context.ForkServerContext:
    """Grading processes are forked from a server that imported the grader once (about a second saved per
    submission); each still grades exactly one submission, so nothing carries over between two."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_forked(request: GradeRequest, result_file: Path, zygote: Zygote | None, limit: float) -> int | None:
    """Fork the grading process from the pre-imported server; its exit code, or None if it ran out of time."""
    process = grading_context().Process(
        target=grade_one.run, args=(request.model_dump_json(), str(result_file), zygote), daemon=True
    )
    process.start()
    process.join(limit)
    if process.is_alive():
        process.kill()
        process.join()
        return None
    return process.exitcode


def _run_as_command(request: GradeRequest, result_file: Path, zygote: Zygote | None, limit: float) -> int | None:
    """Start the grading process as a command: a daemonic process (a Dask worker's) may not have
    multiprocessing children. The zygote's socket is passed as an inherited descriptor."""
    request_file = result_file.with_name("request.json")
    request_file.write_text(request.model_dump_json())
    command = [sys.executable, "-m", "grader.grade_one", str(request_file), str(result_file)]
    fds: tuple[int, ...] = ()
    if zygote is not None and (fd := zygote.fileno()) is not None:
        fds = (fd,)
        command += [str(fd), str(zygote.root)]
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=limit, stdin=subprocess.DEVNULL, pass_fds=fds, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    return completed.returncode


def grade_in_subprocess(
    submission: Submission,
    course: Course,
    limits: Limits,
    isolation: Isolation | None = None,
    zygote: Zygote | None = None,
) -> SubmissionResult:
    """Grade in a fresh grading process; whatever happens to it, return a row."""
    started = time.perf_counter()
    request = GradeRequest(
        submission=submission,
        course_root=course.root,
        limits=limits,
        isolation=isolation or Isolation(),
        database_root=private_root(),
    )
    with tempfile.TemporaryDirectory(prefix="workbook-batch-") as tmp:
        result_file = Path(tmp) / "result.json"
        limit = limits.submission_timeout + 30
        if multiprocessing.current_process().daemon:
            exit_code = _run_as_command(request, result_file, zygote, limit)
        else:
            exit_code = _run_forked(request, result_file, zygote, limit)
        if exit_code is None:
            message = f"grading stopped after {limit:g} s (the submission's time limit)"
            return error_row(submission, message, time.perf_counter() - started)
        if not result_file.is_file():
            message = f"the grading process ended with code {exit_code} before writing a result"
            return error_row(submission, message, time.perf_counter() - started)
        try:
            return SubmissionResult.model_validate_json(result_file.read_text())
        except ValidationError as exc:
            return error_row(
                submission, f"the grading process wrote an invalid result: {exc.error_count()} errors", 0.0
            )


class LocalRunner:
    """Grades on this machine, ``jobs`` submissions at a time, each slot held machine-wide for the whole run
    (two batches at once never share a uid)."""

    def __init__(self, course: Course, limits: Limits, jobs: int, isolation: Isolation, warm: bool) -> None:
        self.course = course
        self.limits = limits
        self.jobs = max(1, jobs)
        self.isolation = isolation
        self.warm = warm

    def run(self, todo: list[Submission]) -> Iterator[tuple[Submission, SubmissionResult]]:
        with contextlib.ExitStack() as stack:
            numbers = [stack.enter_context(machine_slot()) for _ in range(min(self.jobs, max(1, len(todo))))]
            every_slot = [Slot(number, self.isolation, self.warm) for number in numbers]
            for slot in every_slot:
                stack.callback(slot.close)
            free: queue.Queue[Slot] = queue.Queue()
            for slot in every_slot:
                free.put(slot)

            def grade_in_slot(submission: Submission) -> SubmissionResult:
                slot = free.get()
                try:
                    result = grade_in_subprocess(
                        submission, self.course, self.limits, slot.isolation, slot.ready_zygote()
                    )
                    slot.after(result)
                    return result
                finally:
                    free.put(slot)

            with ThreadPoolExecutor(max_workers=len(every_slot)) as pool:
                futures = {pool.submit(grade_in_slot, s): s for s in todo}
                for future in as_completed(futures):
                    submission = futures[future]
                    try:
                        yield submission, future.result()
                    except Exception as exc:  # a grader bug still leaves a row, and says so
                        yield (
                            submission,
                            error_row(submission, f"internal grader error: {type(exc).__name__}: {exc}", 0.0),
                        )
