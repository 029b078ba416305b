"""Grade one submission: the pipeline's stages chained, every failure turned into an ``error`` row."""

from __future__ import annotations

import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from grader.course import Course
from grader.errors import CourseError, GradingError
from grader.models import ExtraData, Status, Submission, SubmissionResult
from grader.pipeline.discover import UNKNOWN_CHAPTER
from grader.pipeline.extract import extract
from grader.pipeline.load import chapter_in, load, read_regular
from grader.pipeline.restore import restore
from grader.pipeline.run_tests import races_in, run_tests
from grader.pipeline.sandbox import SandboxBackend, SandboxSession
from grader.pipeline.score import error_result, score
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.process import LearnerDied
from grader.sandbox.warm import Zygote


def grader_version() -> str:
    try:
        return version("async-api-workbook")
    except PackageNotFoundError:
        return "unknown"


def peek_chapter(path: Path) -> str | None:
    """The chapter a notebook names in its metadata, or None if it cannot be read."""
    try:
        return chapter_in(read_regular(path))
    except (GradingError, ValueError):
        return None


def error_extra(submission: Submission) -> ExtraData:
    """A row's extras for this submission, marked as an error until grading says otherwise."""
    return ExtraData(
        student_id=submission.student_id,
        assignment=submission.assignment or UNKNOWN_CHAPTER,
        status=Status.ERROR,
        # A name that is not UTF-8 (it gets an error row) could not be written into any row as it is.
        notebook=str(submission.path).encode("utf-8", "backslashreplace").decode(),
        notebook_sha256=submission.sha256,
        grader_version=grader_version(),
    )


def grade_submission(
    submission: Submission,
    course: Course,
    limits: Limits,
    *,
    include_hidden: bool = True,
    isolation: Isolation | None = None,
    zygote: Zygote | None = None,
) -> SubmissionResult:
    """Grade one notebook. With a ``zygote`` (a batch's warm slot) the learner process is forked from it
    instead of started cold; the zygote must have been started with this slot's isolation."""
    started = time.perf_counter()
    extra = error_extra(submission)
    try:
        if submission.error is not None:
            raise GradingError(submission.error)
        if submission.assignment is None:  # set at discovery with its reason; a caller that skipped it
            raise GradingError(f"{submission.path.name}: no chapter given; use --assignment")
        return _grade(submission, course, limits, extra, started, include_hidden, isolation or Isolation(), zygote)
    except (GradingError, CourseError) as exc:
        return error_result(extra, str(exc), time.perf_counter() - started)


def _grade(
    submission: Submission,
    course: Course,
    limits: Limits,
    extra: ExtraData,
    started: float,
    include_hidden: bool,
    isolation: Isolation,
    zygote: Zygote | None,
) -> SubmissionResult:
    assert submission.assignment is not None
    chapter = course.chapter(submission.assignment)
    notebook = load(submission.path)
    restored = restore(notebook, load(chapter.notebook))
    cells = extract(restored)
    hidden = chapter.hidden_tests if include_hidden else None
    races = races_in([chapter.visible_tests, *([hidden] if hidden else [])])
    # The course (solutions, hidden tests) is hidden from the learner wherever it lives, not only when it
    # is the checkout the grader runs from.
    isolation = isolation.model_copy(update={"hide": [*isolation.hide, course.root]})
    with (
        tempfile.TemporaryDirectory(prefix="workbook-grade-", dir=zygote.root if zygote else None) as scratch,
        SandboxSession(cells, Path(scratch), limits, isolation, zygote) as session,
    ):
        try:
            runs = session.start(twin=races)
        except LearnerDied as exc:
            raise GradingError(str(exc)) from None
        outcomes = run_tests(chapter, SandboxBackend(session), hidden_tests=hidden)
    return score(outcomes, extra=extra, cells=runs, restored=restored, elapsed=time.perf_counter() - started)
