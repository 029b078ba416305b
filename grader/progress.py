"""``grader progress notebooks/``: for a learner, every chapter's checks passed and points so far.

Each saved notebook runs its visible checks exactly as ``grader check`` does (sandboxed, no hidden tests), so
the points are the visible checks' points: what a learner can earn and see before grading. A chapter whose
answer cells are all as released is "not started" and costs nothing to report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum, is_solution
from pydantic import BaseModel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from grader.course import Course
from grader.grade import grade_submission
from grader.models import Status, Submission, SubmissionResult
from grader.pipeline.discover import discover
from grader.report.views import split_output
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.slots import Slot


class ChapterProgress(BaseModel):
    chapter: str
    notebook: Path
    status: str  # "checked", "not started", "error"
    passed: int = 0
    checks: int = 0
    score: float = 0.0
    max_score: float = 0.0
    next_step: str = ""


def untouched(path: Path) -> bool:
    """Every answer cell is as released (nbgrader's checksum of it is unchanged): the chapter is not started."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return False
    answers = [c for c in notebook.cells if is_solution(c) and "checksum" in c.metadata.get("nbgrader", {})]
    try:
        return bool(answers) and all(compute_checksum(c) == c.metadata.nbgrader.checksum for c in answers)
    except (KeyError, TypeError):
        return False


def _next_step(result: SubmissionResult) -> str:
    failed = next((t for t in result.tests if t.status == "failed"), None)
    if failed is None:
        return "all visible checks pass"
    message, hint = split_output(failed)
    return f"{failed.name}: {hint or message}"


def chapter_progress(result: SubmissionResult, submission: Submission) -> ChapterProgress:
    if result.status is Status.ERROR:
        return ChapterProgress(
            chapter=submission.assignment or "?", notebook=submission.path, status="error", next_step=result.output
        )
    return ChapterProgress(
        chapter=result.extra_data.assignment,
        notebook=submission.path,
        status="checked",
        passed=sum(t.status == "passed" for t in result.tests),
        checks=len(result.tests),
        score=result.score,
        max_score=result.max_score,
        next_step=_next_step(result),
    )


def progress(
    folder: Path,
    course: Course,
    limits: Limits,
    isolation: Isolation,
    on_chapter: Callable[[ChapterProgress], None] | None = None,
    slot: Slot | None = None,
) -> list[ChapterProgress]:
    """Each chapter's visible checks; with a warm ``slot``, every learner process is forked from its zygote."""
    rows = []
    for submission in sorted(discover([folder], course), key=lambda s: (s.assignment or "", str(s.path))):
        if submission.error is None and untouched(submission.path):
            row = ChapterProgress(chapter=submission.assignment or "?", notebook=submission.path, status="not started")
        else:
            zygote = slot.ready_zygote() if slot else None
            result = grade_submission(
                submission, course, limits, include_hidden=False, isolation=isolation, zygote=zygote
            )
            if slot:
                slot.after(result)
            row = chapter_progress(result, submission)
        rows.append(row)
        if on_chapter:
            on_chapter(row)
    return rows


def progress_table(rows: list[ChapterProgress]) -> Table:
    table = Table(title="Your progress (visible checks)", title_justify="left")
    table.add_column("chapter", no_wrap=True)
    table.add_column("checks", justify="right")
    table.add_column("points", justify="right")
    table.add_column("", width=12)
    table.add_column("next step")
    for row in rows:
        if row.status == "not started":
            table.add_row(row.chapter, "–", "–", "", Text("not started", style="dim"))
            continue
        if row.status == "error":
            table.add_row(row.chapter, "–", "–", "", Text(row.next_step, style="red"))
            continue
        done = row.passed == row.checks
        bar = ProgressBar(total=row.max_score or 1, completed=row.score, width=10, complete_style="green")
        style = "green" if done else ""
        table.add_row(
            row.chapter,
            f"{row.passed}/{row.checks}",
            f"{row.score:g}/{row.max_score:g}",
            bar,
            Text(row.next_step, style=style),
        )
    score = sum(r.score for r in rows)
    top = sum(r.max_score for r in rows)
    caption = f"{sum(r.passed for r in rows)} checks passed, {score:g} of {top:g} visible points so far"
    if waiting := sum(r.status == "not started" for r in rows):
        caption += f"; {waiting} chapter(s) not started"
    table.caption = caption
    return table
