"""``grader progress notebooks/``: for a learner, every chapter's checks passed and points so far.

Each saved notebook runs its visible checks exactly as ``grader check`` does (sandboxed, no hidden tests), so
the points are the visible checks' points: what a learner can earn and see before grading. A chapter whose
answer cells are all as released is "not started" and costs nothing to report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum, is_solution
from pydantic import BaseModel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from grader.course import Course
from grader.grade import grade_submission
from grader.history import FailureHistory
from grader.models import Status, Submission, SubmissionResult
from grader.pipeline.discover import discover
from grader.report.views import answer_of, check_key, split_output
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
    copy_of: Path | None = None  # another notebook of the same chapter, the one named after it


def mark_copies(rows: list[ChapterProgress]) -> list[ChapterProgress]:
    """Several notebooks of one chapter (a "Copy1" JupyterLab made, a backup): the one named after the chapter
    is the chapter's, the others are shown as its copies, so that no chapter is counted twice."""
    chapters: dict[str, list[ChapterProgress]] = {}
    for row in rows:
        chapters.setdefault(row.chapter, []).append(row)
    for same in chapters.values():
        if len(same) < 2:
            continue
        main = next((row for row in same if row.notebook.name == f"{row.chapter}.ipynb"), same[0])
        for row in same:
            if row is not main:
                row.copy_of = main.notebook
    return sorted(rows, key=lambda row: (row.chapter, row.copy_of is not None, str(row.notebook)))


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


def _next_step(result: SubmissionResult, revealed: Collection[str]) -> str:
    failed = next((t for t in result.tests if t.status == "failed"), None)
    if failed is None:
        return "all visible checks pass"
    message, hint = split_output(failed)
    step = f"{failed.name}: {hint or message}"
    if (answer := answer_of(failed)) and check_key(failed) in revealed:
        step += f" Key line: {answer}"
    return step


def chapter_progress(
    result: SubmissionResult, submission: Submission, revealed: Collection[str] = ()
) -> ChapterProgress:
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
        next_step=_next_step(result, revealed),
    )


def progress(
    folder: Path,
    course: Course,
    limits: Limits,
    isolation: Isolation,
    on_chapter: Callable[[ChapterProgress], None] | None = None,
    slot: Slot | None = None,
    history: FailureHistory | None = None,
) -> list[ChapterProgress]:
    """Each chapter's visible checks; with a warm ``slot``, every learner process is forked from its zygote.
    With a ``history``, a first failing check that failed before shows its key line."""
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
            # Only the check whose hint is shown counts as seen: the others' key lines wait for their own turn.
            shown = [test for test in result.tests if test.status == "failed"][:1]
            revealed = history.revealed(str(submission.path.resolve()), shown) if history else set()
            row = chapter_progress(result, submission, revealed)
        rows.append(row)
        if on_chapter:
            on_chapter(row)
    return mark_copies(rows)


def _where(row: ChapterProgress, folder: Path | None) -> Text:
    if row.notebook.parent.name == row.chapter:  # the chapter's own folder: the column beside says which
        shown = Path(row.notebook.name)
    else:
        try:
            shown = row.notebook.relative_to(folder) if folder else row.notebook
        except ValueError:
            shown = row.notebook
    text = Text(str(shown), style="dim" if row.copy_of else "")
    if row.copy_of:
        text.append(f" (copy of {row.copy_of.name})", style="yellow")
    return text


def progress_table(rows: list[ChapterProgress], folder: Path | None = None) -> Table:
    """One row per notebook: its chapter, file, checks and points; the next steps are printed under it
    (``next_steps``), at the terminal's full width."""
    table = Table(title="Your progress (visible checks)", title_justify="left")
    table.add_column("chapter", no_wrap=True)
    table.add_column("notebook", overflow="fold")
    table.add_column("checks", justify="right", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("", width=12)
    for row in rows:
        where = _where(row, folder)
        if row.status == "not started":
            table.add_row(row.chapter, where, "–", "–", Text("not started", style="dim"))
            continue
        if row.status == "error":
            table.add_row(row.chapter, where, "–", "–", Text("error", style="red"))
            continue
        bar = ProgressBar(total=row.max_score or 1, completed=row.score, width=10, complete_style="green")
        table.add_row(row.chapter, where, f"{row.passed}/{row.checks}", f"{row.score:g}/{row.max_score:g}", bar)
    counted = [row for row in rows if row.copy_of is None]
    score = sum(r.score for r in counted)
    top = sum(r.max_score for r in counted)
    caption = f"{sum(r.passed for r in counted)} checks passed, {score:g} of {top:g} visible points so far"
    if waiting := sum(r.status == "not started" for r in counted):
        caption += f"; {waiting} chapter(s) not started"
    if copies := sum(r.copy_of is not None for r in rows):
        caption += f"; {copies} {'copy' if copies == 1 else 'copies'} of a chapter's notebook, not counted"
    table.caption = caption
    return table


def next_steps(rows: list[ChapterProgress]) -> list[Text]:
    """Per chapter checked, what to do next (the first failing check and its hint), or that all pass; a
    broken notebook, why. Code in a hint is folded at the terminal's edge, never cut."""
    steps = []
    for row in rows:
        if row.copy_of is not None:
            if row.status != "not started":
                steps.append(
                    Text(
                        f"{row.notebook.name}: a copy; nbgrader collects {row.copy_of.name}, so work here is not "
                        "graded: move it there.",
                        style="yellow",
                    )
                )
            continue
        if row.status == "not started":
            continue
        done = row.status == "checked" and row.passed == row.checks
        style = "red" if row.status == "error" else "green" if done else ""
        line = Text(f"{row.chapter}: ", style="bold")
        line.append(row.next_step, style=style)
        line.overflow = "fold"
        steps.append(line)
    return steps
