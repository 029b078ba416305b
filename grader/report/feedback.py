"""Feedback per learner as one self-contained HTML page: each exercise's checks, points, and for each failure
its message and hint; never test code (see ``grader.report.views`` for what each visibility shows)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from grader.models import SubmissionResult
from grader.pipeline.write import atomic_write, inside
from grader.report.templates import render
from grader.report.views import FeedbackView, feedback_view

FEEDBACK_DIR = "feedback"


def feedback_html(view: FeedbackView) -> str:
    return render("feedback.html.j2", view=view)


def feedback_path(out: Path, result: SubmissionResult) -> Path:
    return inside(out, FEEDBACK_DIR, result.extra_data.assignment, f"{result.extra_data.student_id}.html")


def write_feedback(path: Path, result: SubmissionResult, now: datetime | None = None) -> Path:
    atomic_write(path, feedback_html(feedback_view(result, now)))
    return path
