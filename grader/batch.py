"""A batch: find submissions, grade each in its own process (``--jobs`` at a time), write every row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grader.course import Course
from grader.fingerprint import checks_fingerprint, grader_fingerprint
from grader.grade import grade_submission
from grader.local import LocalRunner
from grader.models import Submission, SubmissionResult
from grader.pipeline.discover import UNKNOWN_CHAPTER, safe_id
from grader.pipeline.write import read_results, result_path, write_csv, write_result
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits


def reusable_row(out: Path, submission: Submission, course: Course) -> SubmissionResult | None:
    """The row an earlier run wrote for these exact notebook bytes, graded by these checks and this grader,
    or None. A row of a grading that was stopped or crashed (``retry``) is graded again."""
    try:
        path = result_path(out, submission.assignment or UNKNOWN_CHAPTER, submission.student_id)
        previous = SubmissionResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    extra = previous.extra_data
    same = (
        bool(submission.sha256)
        and extra.notebook_sha256 == submission.sha256
        and extra.checks_sha256 == checks_fingerprint(course, submission.assignment)
        and extra.grader_sha256 == grader_fingerprint()
    )
    return previous if same and not extra.retry else None


def already_graded(out: Path, submission: Submission, course: Course) -> bool:
    return reusable_row(out, submission, course) is not None


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

    def keep(result: SubmissionResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    # What grades each chapter is fixed now, before any grading: an edit to the checks during the run must
    # not stamp rows graded by the old ones with the new hash.
    grader_fingerprint()
    for chapter in {s.assignment for s in submissions}:
        checks_fingerprint(course, chapter)
    todo = []
    for submission in submissions:
        previous = None if force else reusable_row(out, submission, course)
        if previous is None:
            todo.append(submission)
        else:
            keep(previous)
    for broken in (s for s in todo if s.error is not None):  # found unreadable at discovery: no process needed
        keep(write_row(out, grade_submission(broken, course, limits), course, broken))
    todo = [s for s in todo if s.error is None]
    # The course is hidden from learner code wherever it lives; a zygote is started once for the batch, so
    # its sandbox must hide it from the start.
    base = isolation or Isolation()
    base = base.model_copy(update={"hide": [*base.hide, course.root]})
    if scheduler is not None:
        from grader.distributed import DaskRunner  # dask costs a second to import; only this path needs it

        runner: LocalRunner | DaskRunner = DaskRunner(scheduler, course, limits, base, warm)
    else:
        runner = LocalRunner(course, limits, jobs, base, warm)
    for submission, result in runner.run(todo):
        keep(write_row(out, result, course, submission))
    write_csv(out, read_results(out))
    return results


def write_row(out: Path, result: SubmissionResult, course: Course, submission: Submission) -> SubmissionResult:
    """Stamp the row with what graded it (and with the student id the file claimed, when that was not a
    safe file name) and write it. A caller that skipped discovery may pass an id that is no file name: the
    row is then written under a safe one. If the disk itself refuses, that raises: the operator must know."""
    extra = result.extra_data
    message = extra.message
    if submission.identity_note:
        message = f"{message}; {submission.identity_note}, graded as {extra.student_id!r}"
    update = {
        "message": message,
        "checks_sha256": checks_fingerprint(course, submission.assignment),
        "grader_sha256": grader_fingerprint(),
    }
    output = message if submission.identity_note else result.output
    result = result.model_copy(update={"output": output, "extra_data": extra.model_copy(update=update)})
    try:
        write_result(out, result)
    except ValueError:
        renamed = result.extra_data.model_copy(update={"student_id": safe_id(extra.student_id)})
        result = result.model_copy(update={"extra_data": renamed})
        write_result(out, result)
    return result
