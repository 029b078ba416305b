"""``grader report DIR``: one self-contained HTML page about a class, from a grade folder's results.

Per chapter: the distribution of scores (after late penalties) of the submissions that were graded, and the pass
rate of every check, hardest first, with the failure message most learners got. Then the submissions that could
not be graded and why (kept apart: a failed submission is not a zero), the cells that raised most often and
whose, late work, and the roster: every submission with its score, lateness, cells that raised, cells put
back, and a link to its feedback page. Plots are SVG drawn here, so the page needs no network to view.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from grader.course import exercise_of
from grader.models import LateInfo, Status, SubmissionResult, Visibility
from grader.pipeline.write import atomic_write, read_results
from grader.report.feedback import feedback_path
from grader.report.plots import exercise_bars, pass_rate_bars, score_histogram
from grader.report.templates import render
from grader.report.views import split_output

REPORT_FILE = "report.html"


class CheckStats(BaseModel):
    name: str
    exercise: str
    visibility: Visibility
    passed: int
    graded: int
    common_failure: str = ""
    common_failure_count: int = 0
    failed_by: list[str] = Field(default_factory=list)  # the students whose submission failed it

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


class ChapterStats(BaseModel):
    assignment: str
    submissions: int
    graded: int
    errors: int
    late: int
    max_score: float
    mean: float | None = None
    median: float | None = None
    full_marks: int = 0
    checks: list[CheckStats] = Field(default_factory=list)
    histogram_svg: str = ""
    exercise_svg: str = ""
    pass_rate_svg: str = ""


class ErrorRow(BaseModel):
    student_id: str
    assignment: str
    message: str
    notebook: str


class CellErrorRow(BaseModel):
    assignment: str
    cell: str
    exercise: str
    error: str
    count: int
    students: list[str]


class LateRow(BaseModel):
    student_id: str
    assignment: str
    late: LateInfo
    score: float
    final_score: float


class StudentRow(BaseModel):
    """One submission, as the roster shows it: what the instructor follows up on, and where its feedback is."""

    student_id: str
    assignment: str
    status: Status
    score: float
    max_score: float
    final_score: float
    message: str = ""
    late: LateInfo | None = None
    cells_raised: list[str] = Field(default_factory=list)  # grade ids of the learner cells that raised
    restored_cells: list[str] = Field(default_factory=list)
    tampered_cells: list[str] = Field(default_factory=list)
    feedback: str | None = None  # the feedback page, relative to the report


class ClassReport(BaseModel):
    source: str
    generated_at: datetime
    submissions: int
    students: int
    chapters: list[ChapterStats]
    errors: list[ErrorRow]
    cell_errors: list[CellErrorRow]
    late: list[LateRow]
    students_rows: list[StudentRow] = Field(default_factory=list)


def check_stats(graded: list[SubmissionResult]) -> list[CheckStats]:
    """Every check of a chapter with its pass rate over the graded submissions, hardest first."""
    stats: dict[tuple[str, str], CheckStats] = {}
    failures: dict[tuple[str, str], Counter[str]] = {}
    for result in graded:
        for test in result.tests:
            key = (test.tags[0] if test.tags else "", test.name)
            entry = stats.setdefault(
                key, CheckStats(name=test.name, exercise=key[0], visibility=test.visibility, passed=0, graded=0)
            )
            entry.graded += 1
            if test.status == "passed":
                entry.passed += 1
            else:
                entry.failed_by.append(result.extra_data.student_id)
                message = split_output(test)[0].splitlines()[:1]
                failures.setdefault(key, Counter())[message[0] if message else "(no message)"] += 1
    for key, counter in failures.items():
        stats[key].common_failure, stats[key].common_failure_count = counter.most_common(1)[0]
        stats[key].failed_by.sort()
    return sorted(stats.values(), key=lambda c: (c.rate, c.exercise, c.name))


def exercise_shares(graded: list[SubmissionResult]) -> list[tuple[str, float]]:
    """Per exercise, in order of appearance: points earned over points possible, summed over the class."""
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    for result in graded:
        for test in result.tests:
            exercise = test.tags[0] if test.tags else ""
            earned[exercise] = earned.get(exercise, 0.0) + test.score
            possible[exercise] = possible.get(exercise, 0.0) + test.max_score
    return [(e, earned[e] / possible[e] if possible[e] else 0.0) for e in possible]


def chapter_stats(assignment: str, results: list[SubmissionResult], plots: bool = True) -> ChapterStats:
    graded = [r for r in results if r.status is Status.GRADED]
    scores = [r.final_score for r in graded]
    max_score = max((r.max_score for r in graded), default=0.0)
    stats = ChapterStats(
        assignment=assignment,
        submissions=len(results),
        graded=len(graded),
        errors=len(results) - len(graded),
        late=sum(1 for r in results if r.extra_data.late and r.extra_data.late.seconds_late > 0),
        max_score=max_score,
        mean=round(statistics.fmean(scores), 2) if scores else None,
        median=round(statistics.median(scores), 2) if scores else None,
        full_marks=sum(1 for r in graded if max_score and r.final_score >= max_score),
        checks=check_stats(graded),
    )
    if plots and graded:
        stats.histogram_svg = score_histogram(scores, max_score, assignment, salt=f"hist-{assignment}")
        stats.exercise_svg = exercise_bars(
            exercise_shares(graded), f"{assignment}: points per exercise", salt=f"exercise-{assignment}"
        )
        rates = [(c.name, c.rate) for c in stats.checks]
        stats.pass_rate_svg = pass_rate_bars(rates, f"{assignment}: pass rate per check", salt=f"rate-{assignment}")
    return stats


def cell_error_rows(results: list[SubmissionResult]) -> list[CellErrorRow]:
    """Which learner cells raised what, and whose, most frequent first: where the class got stuck."""
    students: dict[tuple[str, str, str], list[str]] = {}
    for result in results:
        for run in result.extra_data.cells:
            if run.error is not None:
                key = (result.extra_data.assignment, run.grade_id or f"#{run.index}", run.error.type)
                students.setdefault(key, []).append(result.extra_data.student_id)
    rows = [
        CellErrorRow(
            assignment=a,
            cell=c,
            exercise=exercise_of(c) or "",
            error=e,
            count=len(who),
            students=sorted(who),
        )
        for (a, c, e), who in students.items()
    ]
    return sorted(rows, key=lambda row: (-row.count, row.assignment, row.cell))


def student_rows(results: list[SubmissionResult], links: Path | None) -> list[StudentRow]:
    """The roster, by student then chapter; ``links``: where the report is written, for feedback links."""
    rows = []
    for result in results:
        extra = result.extra_data
        feedback = None
        if links is not None:
            page = feedback_path(links, result)
            feedback = page.relative_to(links).as_posix() if page.is_file() else None
        rows.append(
            StudentRow(
                student_id=extra.student_id,
                assignment=extra.assignment,
                status=extra.status,
                score=result.score,
                max_score=result.max_score,
                final_score=result.final_score,
                message=extra.message if extra.status is Status.ERROR else "",
                late=extra.late if extra.late is not None and extra.late.seconds_late > 0 else None,
                cells_raised=[run.grade_id or f"#{run.index}" for run in extra.cells if run.error is not None],
                restored_cells=extra.restored_cells,
                tampered_cells=extra.tampered_cells,
                feedback=feedback,
            )
        )
    return sorted(rows, key=lambda row: (row.student_id, row.assignment))


def build_report(
    results: list[SubmissionResult], source: str, plots: bool = True, links: Path | None = None
) -> ClassReport:
    """The class report's data; ``links`` is the grade folder when the page is written into it, so that each
    student's row links to their feedback page there."""
    by_chapter: dict[str, list[SubmissionResult]] = {}
    for result in results:
        by_chapter.setdefault(result.extra_data.assignment, []).append(result)
    errors = [
        ErrorRow(
            student_id=r.extra_data.student_id,
            assignment=r.extra_data.assignment,
            message=r.extra_data.message,
            notebook=r.extra_data.notebook,
        )
        for r in results
        if r.status is Status.ERROR
    ]
    late = [
        LateRow(
            student_id=r.extra_data.student_id,
            assignment=r.extra_data.assignment,
            late=r.extra_data.late,
            score=r.score,
            final_score=r.final_score,
        )
        for r in results
        if r.extra_data.late is not None and r.extra_data.late.seconds_late > 0
    ]
    return ClassReport(
        source=source,
        generated_at=datetime.now(UTC),
        submissions=len(results),
        students=len({r.extra_data.student_id for r in results}),
        chapters=[chapter_stats(a, by_chapter[a], plots) for a in sorted(by_chapter)],
        errors=sorted(errors, key=lambda e: (e.assignment, e.student_id)),
        cell_errors=cell_error_rows(results),
        late=sorted(late, key=lambda row: (row.assignment, row.student_id)),
        students_rows=student_rows(results, links),
    )


def report_html(report: ClassReport) -> str:
    return render("class_report.html.j2", report=report)


def write_report(grade_dir: Path, output: Path | None = None) -> Path:
    """Read ``grade_dir/results`` and write the page (default ``grade_dir/report.html``)."""
    results = read_results(grade_dir)
    path = output or grade_dir / REPORT_FILE
    links = grade_dir if path.parent.resolve() == grade_dir.resolve() else None
    atomic_write(path, report_html(build_report(results, str(grade_dir), links=links)))
    return path
