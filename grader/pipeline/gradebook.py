"""Stage 7, write (optional part): scores into nbgrader's gradebook, so formgrader and ``nbgrader export`` see them.

This does what ``nbgrader autograde``'s ``SaveAutoGrades`` and ``AssignLatePenalties`` do, through nbgrader's own
``Gradebook`` API: the submission is created with its ``timestamp.txt``, each grade cell (``exN-check``) gets as
``auto_score`` the points the grader gave exercise ``exN``, each solution cell left as released gets the comment
"No response.", and the notebook gets the late penalty of the course's late-submission plugin.

One difference is deliberate: nbgrader scores a check cell all or nothing, the grader per check (partial credit).
Both agree whenever an exercise's checks all pass or all fail.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry, SubmittedAssignment, SubmittedNotebook
from nbgrader.utils import compute_checksum, is_solution, is_task
from sqlalchemy.exc import SAWarning

from grader.course import Course
from grader.errors import CourseError
from grader.models import Status, SubmissionResult
from grader.pipeline.formgrader_notebook import exercise_of, exercise_tests, write_autograded
from grader.pipeline.nbgrader_course import NbgraderCourse

NO_RESPONSE = "No response."


@dataclass
class Recorded:
    """What the gradebook holds for one submission after writing it."""

    due_date: datetime | None
    seconds_late: float
    penalty: float
    warning: str = ""


def due_date(gradebook: Gradebook, assignment_id: str, student_id: str) -> datetime | None:
    """The assignment's due date plus this student's extension, if any (nbgrader's rule), naive UTC."""
    try:
        assignment = gradebook.find_assignment(assignment_id)
    except MissingEntry:
        return None
    try:
        return gradebook.find_submission(assignment_id, student_id).duedate
    except MissingEntry:
        return assignment.duedate


def exercise_points(result: SubmissionResult) -> dict[str, tuple[float, float]]:
    """Points earned and possible per exercise."""
    return {
        exercise: (sum(t.score for t in tests), sum(t.max_score for t in tests))
        for exercise, tests in exercise_tests(result).items()
    }


def _set_scores(notebook: SubmittedNotebook, result: SubmissionResult) -> list[str]:
    """Each grade cell's ``auto_score``; returns grade cells no check scores (left for manual grading)."""
    points = exercise_points(result)
    unscored = []
    for grade in notebook.grades:
        exercise = exercise_of(grade.name, set(points))
        if result.status is Status.ERROR:
            # Could not be graded: zero, and flagged so that formgrader asks a human to look.
            grade.auto_score, grade.needs_manual_grade = 0.0, True
            continue
        if exercise is None:
            grade.auto_score, grade.needs_manual_grade = None, True
            unscored.append(grade.name)
            continue
        earned, possible = points[exercise]
        # The cell's points in the gradebook rule; the checks' share of them is what the learner earned.
        grade.auto_score = round(grade.max_score * earned / possible, 4) if possible else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
    return unscored


def _set_comments(notebook: SubmittedNotebook, submitted: Path) -> None:
    """Comment "No response." on solution cells the learner left as released, as autograde's ``SaveAutoGrades``."""
    try:
        cells = {c.metadata.nbgrader["grade_id"]: c for c in nbformat.read(submitted, as_version=4).cells if _graded(c)}
    except (OSError, ValueError, KeyError):
        cells = {}
    for comment in notebook.comments:
        cell = cells.get(comment.name)
        unchanged = cell is not None and cell.metadata.nbgrader.get("checksum") == _checksum(cell)
        comment.auto_comment = NO_RESPONSE if unchanged and not is_task(cell) else None


def _graded(cell: nbformat.NotebookNode) -> bool:
    return "grade_id" in cell.metadata.get("nbgrader", {}) and (is_solution(cell) or is_task(cell))


def _checksum(cell: nbformat.NotebookNode) -> str | None:
    try:
        return compute_checksum(cell)
    except (KeyError, TypeError, ValueError):
        return None


def record(
    gradebook: Gradebook, nbcourse: NbgraderCourse, result: SubmissionResult, timestamp: datetime | None
) -> Recorded:
    """Write one submission's scores and late penalty into the gradebook."""
    with warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips SQLAlchemy 2's autoflush warnings; autograde shows the
        # same ones. They say nothing about this submission.
        warnings.simplefilter("ignore", SAWarning)
        return _record(gradebook, nbcourse, result, timestamp)


def _record(
    gradebook: Gradebook, nbcourse: NbgraderCourse, result: SubmissionResult, timestamp: datetime | None
) -> Recorded:
    extra = result.extra_data
    submitted = Path(extra.notebook)
    try:
        gradebook.find_assignment(extra.assignment)
    except MissingEntry:
        return Recorded(
            None,
            0.0,
            0.0,
            f"{extra.assignment} is not in the gradebook; run `nbgrader generate_assignment {extra.assignment}`",
        )
    gradebook.update_or_create_student(extra.student_id)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    submission: SubmittedAssignment = gradebook.update_or_create_submission(
        extra.assignment, extra.student_id, **kwargs
    )
    try:
        notebook = gradebook.find_submission_notebook(submitted.stem, extra.assignment, extra.student_id)
    except MissingEntry:
        warning = f"{submitted.name} is not a notebook of {extra.assignment} in the gradebook"
        return Recorded(submission.duedate, submission.total_seconds_late, 0.0, warning)
    unscored = _set_scores(notebook, result)
    _set_comments(notebook, submitted)
    gradebook.db.commit()
    seconds_late = submission.total_seconds_late
    penalty = nbcourse.late_penalty(extra.student_id, notebook.score, seconds_late)
    notebook.late_submission_penalty = penalty if seconds_late > 0 else None
    gradebook.db.commit()
    warning = f"grade cells no check scores, left for manual grading: {', '.join(unscored)}" if unscored else ""
    return Recorded(submission.duedate, seconds_late, penalty, warning)


def write_formgrader_copy(nbcourse: NbgraderCourse, course: Course, result: SubmissionResult) -> Path | None:
    """The ``autograded/`` notebook formgrader shows; none for a notebook that could not be read."""
    if result.status is Status.ERROR:
        return None
    extra = result.extra_data
    folder = nbcourse.step_folder(nbcourse.coursedir.autograded_directory, extra.student_id, extra.assignment)
    try:
        source = course.chapter(extra.assignment).notebook
    except CourseError:
        return None
    return write_autograded(folder, Path(extra.notebook), source, result)
