"""Graded rows built through the real score stage, for the report, feedback and export tests (no grading run)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from grader.models import CellRun, ErrorInfo, ExtraData, LateInfo, Status, SubmissionResult, TestOutcome, Visibility
from grader.pipeline.restore import RestoredNotebook
from grader.pipeline.score import error_result, score

# (exercise, check name, points, visibility, failure message, hint)
CHECKS = [
    ("ex1", "greet returns the greeting", 1, Visibility.VISIBLE, "`greet('Ada')` returned 'Hi'.", "Mind the comma."),
    ("ex1", "greet works for any name", 1, Visibility.HIDDEN, "`greet('Łukasz')` gave 'Hello, Ada!'.", "Use `name`."),
    ("ex2", "gather runs concurrently", 2, Visibility.VISIBLE, "Ten greetings took 1.0 s.", "Use asyncio.gather."),
    ("ex2", "gather keeps the order", 1, Visibility.AFTER_DUE_DATE, "The order was lost.", "gather keeps order."),
    ("ex3", "GET /health answers 200", 2, Visibility.VISIBLE, "GET /health answered 404.", "Add the route."),
]


def outcomes(passing: set[str]) -> list[TestOutcome]:
    return [
        TestOutcome(
            nodeid=f"checks/test_{exercise}.py::test_{i}",
            name=name,
            exercise=exercise,
            points=points,
            visibility=visibility,
            passed=name in passing,
            message="" if name in passing else message,
            hint="" if name in passing else hint,
        )
        for i, (exercise, name, points, visibility, message, hint) in enumerate(CHECKS)
    ]


def graded(
    student: str,
    passing: set[str],
    assignment: str = "00-orientation",
    late: LateInfo | None = None,
    cell_error: ErrorInfo | None = None,
) -> SubmissionResult:
    extra = ExtraData(student_id=student, assignment=assignment, status=Status.ERROR, notebook=f"{student}.ipynb")
    cells = [CellRun(index=3, grade_id="ex3-solution", ok=cell_error is None, error=cell_error)]
    result = score(outcomes(passing), extra=extra, cells=cells, restored=RestoredNotebook(cells=[]), elapsed=0.5)
    return result.model_copy(update={"extra_data": result.extra_data.model_copy(update={"late": late})})


def failed(student: str, message: str, assignment: str = "00-orientation") -> SubmissionResult:
    extra = ExtraData(student_id=student, assignment=assignment, status=Status.ERROR, notebook=f"{student}.ipynb")
    return error_result(extra, message, 0.1)


def late(hours: float, penalty: float) -> LateInfo:
    due = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)
    return LateInfo(submitted_at=due + timedelta(hours=hours), due_date=due, seconds_late=hours * 3600, penalty=penalty)


def a_class(seed: int = 7) -> list[SubmissionResult]:
    """Two chapters, a dozen students each, with a spread of scores, two unreadable notebooks and late work."""
    rng = random.Random(seed)
    names = [name for _, name, *_ in CHECKS]
    results = []
    for chapter in ("00-orientation", "01-persistence"):
        for n in range(12):
            passing = {name for i, name in enumerate(names) if rng.random() < 0.9 - 0.15 * i}
            info = {3: late(5, 2.0), 5: late(40 / 3600, 1.0)}.get(n)  # five hours, and forty seconds
            error = ErrorInfo(type="NameError", message="name 'app' is not defined") if n % 4 == 0 else None
            result = graded(f"student{n:02d}", passing, chapter, info, error)
            if n == 6:  # edited a test cell and deleted another: both were put back
                extra = result.extra_data.model_copy(
                    update={"tampered_cells": ["ex1-check"], "restored_cells": ["ex2-check"]}
                )
                result = result.model_copy(update={"extra_data": extra})
            results.append(result)
        results.append(failed("broken", "broken.ipynb: not a notebook, the file is not valid JSON", chapter))
    return results
