"""A batch: find submissions, grade each in its own process (``--jobs`` at a time), write every row."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import ValidationError

from grader.course import Course
from grader.grade import peek_chapter
from grader.local import LocalRunner
from grader.models import Submission, SubmissionResult
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


def already_graded(out: Path, submission: Submission) -> bool:
    """A row exists for these exact notebook bytes (a resumed run skips it)."""
    path = result_path(out, submission.assignment or "unknown", submission.student_id)
    try:
        previous = SubmissionResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return False
    return bool(submission.sha256) and previous.extra_data.notebook_sha256 == submission.sha256


def grade_batch(
    submissions: list[Submission],
    course: Course,
    out: Path,
    limits: Limits,
    jobs: int = 1,
    isolation: Isolation | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
    force: bool = False,
    warm: bool = True,
    scheduler: str | None = None,
) -> list[SubmissionResult]:
    """Grade every submission, writing each row as soon as it is known, then ``grades.csv``.

    A row is final once written, so a run that was killed and started again grades only what is
    missing (or whose notebook changed); ``force`` grades everything again. ``warm`` forks learner
    processes from a zygote per slot instead of starting each cold. With a ``scheduler`` (a Dask
    scheduler's address) the submissions are graded by that cluster's workers instead of here.
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
    # The course is hidden from learner code wherever it lives; a zygote is started once for the batch, so
    # its sandbox must hide it from the start.
    base = isolation or Isolation()
    base = base.model_copy(update={"hide": [*base.hide, course.root]})
    if scheduler is not None:
        from grader.distributed import DaskRunner  # dask costs a second to import; only this path needs it

        runner: LocalRunner | DaskRunner = DaskRunner(scheduler, course, limits, base, warm)
    else:
        runner = LocalRunner(course, limits, jobs, base, warm)
    for _, result in runner.run(todo):
        write_result(out, result)
        results.append(result)
        if on_result:
            on_result(result)
    write_csv(out, read_results(out))
    return results
