"""Grading on a Dask cluster: ``grader grade ... --scheduler tcp://HOST:PORT``.

Each submission becomes one Dask task that runs the very grading of a local batch on whichever
worker takes it: a machine-wide slot (its own uid), the slot's warm zygote, a grading process per
submission, the same sandbox. Tasks carry the notebook's bytes, so workers need no view of the
submissions; they do need the course (solutions and hidden tests) at the same path as the machine
that submits, and this package installed (see the README).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from distributed import Client, as_completed

from grader.course import Course
from grader.local import error_row, grade_in_subprocess
from grader.models import Submission, SubmissionResult
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.slots import Slot, machine_slot

# A worker process keeps the zygote of each slot it used, for the next task that gets that slot.
_slots: dict[int, Slot] = {}
_slots_lock = threading.Lock()
# Where a worker process writes the notebooks it is sent: one folder for its lifetime, so that it can be
# hidden from the zygote's sandbox once, when the zygote starts.
_inbox = Path(tempfile.mkdtemp(prefix="workbook-inbox-"))


def _close_slots() -> None:
    for slot in _slots.values():
        slot.close()
    shutil.rmtree(_inbox, ignore_errors=True)


atexit.register(_close_slots)


def _worker_slot(number: int, isolation: Isolation, warm: bool) -> Slot:
    with _slots_lock:
        slot = _slots.get(number)
        if slot is None or slot.isolation.hide != isolation.hide or slot.warm != warm:
            if slot is not None:
                slot.close()
            slot = _slots[number] = Slot(number, isolation, warm)
        return slot


def grade_remote(
    submission_json: str, notebook: bytes, course_root: str, limits_json: str, isolation_json: str, warm: bool
) -> str:
    """On a Dask worker: grade one submission sent as bytes, return its row as JSON."""
    submission = Submission.model_validate_json(submission_json)
    isolation = Isolation.model_validate_json(isolation_json)
    limits = Limits.model_validate_json(limits_json)
    course = Course.at(Path(course_root))
    folder = _inbox / uuid.uuid4().hex
    try:
        with machine_slot() as number:
            folder.mkdir()
            local_copy = folder / submission.path.name
            local_copy.write_bytes(notebook)
            slot = _worker_slot(number, isolation.model_copy(update={"hide": [*isolation.hide, _inbox]}), warm)
            graded = submission.model_copy(update={"path": local_copy})
            result = grade_in_subprocess(graded, course, limits, slot.isolation, slot.ready_zygote())
            slot.after(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result.extra_data.notebook = str(submission.path)  # the row names the notebook the instructor has
    return result.model_dump_json()


class DaskRunner:
    """Sends every submission to a Dask cluster and yields rows as workers finish them."""

    def __init__(self, address: str, course: Course, limits: Limits, isolation: Isolation, warm: bool) -> None:
        self.address = address
        self.course = course
        self.limits = limits
        self.isolation = isolation
        self.warm = warm

    def run(self, todo: list[Submission]) -> Iterator[tuple[Submission, SubmissionResult]]:
        with Client(self.address, set_as_default=False) as client:
            futures = {}
            for submission in todo:
                try:
                    notebook = submission.path.read_bytes()
                except OSError as exc:
                    yield submission, error_row(submission, f"cannot read {submission.path}: {exc}", 0.0)
                    continue
                future = client.submit(
                    grade_remote,
                    submission.model_dump_json(),
                    notebook,
                    str(self.course.root),
                    self.limits.model_dump_json(),
                    self.isolation.model_dump_json(),
                    self.warm,
                    pure=False,
                    key=f"grade-{submission.student_id}-{submission.assignment}-{submission.sha256[:12]}",
                )
                futures[future] = submission
            for future in as_completed(list(futures), loop=client.loop):
                submission = futures[future]
                try:
                    yield submission, SubmissionResult.model_validate_json(future.result())
                except Exception as exc:  # a worker lost for good, a task that failed: still a row
                    message = f"the Dask task failed: {type(exc).__name__}: {exc}"[:500]
                    yield submission, error_row(submission, message, 0.0)
