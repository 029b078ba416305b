"""Stage 6, score: test outcomes become Gradescope test entries and a total."""

from __future__ import annotations

from grader.models import CellRun, ExtraData, Status, SubmissionResult, TestOutcome, TestResult
from grader.pipeline.restore import RestoredNotebook


def test_output(outcome: TestOutcome) -> str:
    if outcome.passed:
        return ""
    return outcome.message + (f"\nHint: {outcome.hint}" if outcome.hint else "")


def to_test_result(number: int, outcome: TestOutcome) -> TestResult:
    return TestResult(
        name=outcome.name,
        number=f"{outcome.exercise}.{number}" if outcome.exercise else str(number),
        score=outcome.points if outcome.passed else 0.0,
        max_score=outcome.points,
        status="passed" if outcome.passed else "failed",
        output=test_output(outcome),
        visibility=outcome.visibility,
        tags=[outcome.exercise] if outcome.exercise else [],
        extra_data={"nodeid": outcome.nodeid.rsplit("::", 1)[-1], "hint": outcome.hint}
        | ({"answer": outcome.answer} if outcome.answer else {}),
    )


def score(
    outcomes: list[TestOutcome],
    *,
    extra: ExtraData,
    cells: list[CellRun],
    restored: RestoredNotebook,
    elapsed: float,
) -> SubmissionResult:
    tests = [to_test_result(i, outcome) for i, outcome in enumerate(outcomes, start=1)]
    failed_cells = [run for run in cells if run.error]
    summary = f"{sum(t.status == 'passed' for t in tests)} of {len(tests)} checks passed"
    if failed_cells:
        summary += f"; {len(failed_cells)} cell(s) raised an error"
    return SubmissionResult(
        score=round(sum(t.score for t in tests), 4),
        max_score=round(sum(t.max_score for t in tests), 4),
        execution_time=round(elapsed, 3),
        output=summary,
        tests=tests,
        extra_data=extra.model_copy(
            update={
                "status": Status.GRADED,
                "message": summary,
                "cells": cells,
                "restored_cells": restored.restored,
                "tampered_cells": restored.tampered,
            }
        ),
    )


def error_result(extra: ExtraData, message: str, elapsed: float, max_score: float = 0.0) -> SubmissionResult:
    """The row of a submission that could not be graded: status ``error``, score 0, and why."""
    return SubmissionResult(
        score=0.0,
        max_score=max_score,
        execution_time=round(elapsed, 3),
        output=message,
        extra_data=extra.model_copy(update={"status": Status.ERROR, "message": message}),
    )
