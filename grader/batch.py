"""A batch: find submissions, grade each in its own process (``--jobs`` at a time), write every row."""

from __future__ import annotations

import hashlib
import queue
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from pydantic import ValidationError

from grader.course import Course
from grader.grade import grader_version, peek_chapter
from grader.grade_one import GradeRequest
from grader.models import ExtraData, Status, Submission, SubmissionResult
from grader.pipeline.score import error_result
from grader.pipeline.write import read_results, result_path, write_csv, write_result
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits

SUBMITTED = "submitted"


def _notebooks(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _nbgrader_identity(path: Path) -> tuple[str, str] | None:
    """(student, assignment) from ``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``."""
    parts = path.resolve().parts
    if len(parts) >= 4 and parts[-4] == SUBMITTED:
        return parts[-3], parts[-2]
    return None


def identify(path: Path, course: Course, assignment: str | None, student: str | None) -> Submission:
    nbgrader = _nbgrader_identity(path)
    chapter = assignment or peek_chapter(path) or (nbgrader[1] if nbgrader else None)
    if chapter is None:
        chapter = next((c for c in (path.stem, path.parent.name) if c in course.chapter_ids), None)
    student_id = nbgrader[0] if nbgrader else (student or path.stem)
    return Submission(path=path, student_id=student_id, assignment=chapter, sha256=file_sha256(path))


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def discover(
    paths: Iterable[Path], course: Course, assignment: str | None = None, student: str | None = None
) -> list[Submission]:
    submissions: list[Submission] = []
    seen: dict[tuple[str, str | None], int] = {}
    for root in paths:
        found = _notebooks(root / SUBMITTED if (root / SUBMITTED).is_dir() else root)
        for path in found:
            submission = identify(path, course, assignment, student)
            key = (submission.student_id, submission.assignment)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:  # two notebooks with one identity must still get a row each
                submission.student_id = f"{submission.student_id}-{seen[key]}"
            submissions.append(submission)
    return submissions


def _error_row(submission: Submission, message: str, elapsed: float) -> SubmissionResult:
    extra = ExtraData(
        student_id=submission.student_id,
        assignment=submission.assignment or "unknown",
        status=Status.ERROR,
        notebook=str(submission.path),
        notebook_sha256=submission.sha256,
        grader_version=grader_version(),
    )
    return error_result(extra, message, elapsed)


def already_graded(out: Path, submission: Submission) -> bool:
    """A row exists for these exact notebook bytes (a resumed run skips it)."""
    path = result_path(out, submission.assignment or "unknown", submission.student_id)
    try:
        previous = SubmissionResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return False
    return bool(submission.sha256) and previous.extra_data.notebook_sha256 == submission.sha256


def grade_in_subprocess(
    submission: Submission, course: Course, limits: Limits, isolation: Isolation | None = None
) -> SubmissionResult:
    """Grade in a fresh grading process; whatever happens to it, return a row."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="workbook-batch-") as tmp:
        request_path, result_path = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request = GradeRequest(
            submission=submission, course_root=course.root, limits=limits, isolation=isolation or Isolation()
        )
        request_path.write_text(request.model_dump_json())
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "grader.grade_one", str(request_path), str(result_path)],
                capture_output=True,
                timeout=limits.submission_timeout + 30,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            message = f"grading stopped after {limits.submission_timeout + 30:g} s (the submission's time limit)"
            return _error_row(submission, message, time.perf_counter() - started)
        if not result_path.is_file():
            tail = completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            message = f"the grading process ended with code {completed.returncode}: {tail[0][:300]}"
            return _error_row(submission, message, time.perf_counter() - started)
        try:
            return SubmissionResult.model_validate_json(result_path.read_text())
        except ValidationError as exc:
            return _error_row(
                submission, f"the grading process wrote an invalid result: {exc.error_count()} errors", 0.0
            )


def grade_batch(
    submissions: list[Submission],
    course: Course,
    out: Path,
    limits: Limits,
    jobs: int = 1,
    isolation: Isolation | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
    force: bool = False,
) -> list[SubmissionResult]:
    """Grade every submission, writing each row as soon as it is known, then ``grades.csv``.

    A row is final once written, so a run that was killed and started again grades only what is
    missing (or whose notebook changed); ``force`` grades everything again.
    """
    results: list[SubmissionResult] = []
    todo = submissions if force else [s for s in submissions if not already_graded(out, s)]
    for skipped in (s for s in submissions if s not in todo):
        previous = SubmissionResult.model_validate_json(
            result_path(out, skipped.assignment or "unknown", skipped.student_id).read_text(encoding="utf-8")
        )
        results.append(previous)
        if on_result:
            on_result(previous)
    base = isolation or Isolation()
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(max(1, jobs)):
        slots.put(slot)

    def grade_in_slot(submission: Submission) -> SubmissionResult:
        """Concurrent learner processes never share a uid: each grading holds a slot while it runs."""
        slot = slots.get()
        try:
            return grade_in_subprocess(submission, course, limits, base.model_copy(update={"slot": slot}))
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_in_slot, s): s for s in todo}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # a grader bug still leaves a row, and says so
                result = _error_row(futures[future], f"internal grader error: {type(exc).__name__}: {exc}", 0.0)
            write_result(out, result)
            results.append(result)
            if on_result:
                on_result(result)
    write_csv(out, read_results(out))
    return results
