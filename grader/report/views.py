"""What a learner may see of a graded submission, as plain data for the terminal and the HTML feedback.

Visibility (per check, Gradescope's values):
- ``visible``: always shown, with its message and hint when it fails.
- ``hidden``: runs only when grading (``grader check`` and the notebook never run it); once graded, its verdict,
  message and hint are shown. The test's code never is: messages are written for learners and the pytest
  plugin strips any hidden-test source from them.
- ``after_due_date``: until the learner's due date (with any extension) has passed, only the number of such
  checks and their points are shown; not their names, verdicts or messages. With no known due date they stay
  withheld.
- ``after_published``: feedback is what an instructor publishes, so it is shown.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from grader.models import CellRun, LateInfo, Status, SubmissionResult, TestResult, Visibility

HINT_PREFIX = "\nHint: "


class CheckView(BaseModel):
    name: str
    passed: bool
    score: float
    max_score: float
    message: str = ""
    hint: str = ""
    answer: str = ""  # the hint's key line
    # Whether the key line is shown unfolded: once this check has failed before (``grader.history``).
    reveal: bool = False
    hidden: bool = False


class ExerciseView(BaseModel):
    id: str
    checks: list[CheckView] = Field(default_factory=list)
    withheld: int = 0
    withheld_points: float = 0.0

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)


class FeedbackView(BaseModel):
    student_id: str
    assignment: str
    status: Status
    message: str
    exercises: list[ExerciseView] = Field(default_factory=list)
    late: LateInfo | None = None
    due_passed: bool = False
    cell_errors: list[str] = Field(default_factory=list)
    restored_cells: list[str] = Field(default_factory=list)
    tampered_cells: list[str] = Field(default_factory=list)
    generated_at: datetime

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 4)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 4)

    @property
    def withheld_points(self) -> float:
        return round(sum(e.withheld_points for e in self.exercises), 4)

    @property
    def penalty(self) -> float:
        return self.late.penalty if self.late else 0.0

    @property
    def final_score(self) -> float:
        return round(max(0.0, self.score - self.penalty), 4)

    @property
    def checks_passed(self) -> int:
        return sum(e.passed for e in self.exercises)

    @property
    def checks_shown(self) -> int:
        return sum(len(e.checks) for e in self.exercises)


def split_output(test: TestResult) -> tuple[str, str]:
    """A failed check's message and hint (the score stage joins them as ``message\\nHint: hint``)."""
    hint = str(test.extra_data.get("hint") or "")
    message = test.output
    if hint and message.endswith(HINT_PREFIX + hint):
        message = message[: -len(HINT_PREFIX + hint)]
    elif HINT_PREFIX in message and not hint:
        message, hint = message.split(HINT_PREFIX, 1)
    return message.strip(), hint.strip()


def due_has_passed(late: LateInfo | None, now: datetime | None = None) -> bool:
    if late is None or late.due_date is None:
        return False
    due = late.due_date if late.due_date.tzinfo else late.due_date.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) >= due


def is_withheld(test: TestResult, due_passed: bool) -> bool:
    return test.visibility is Visibility.AFTER_DUE_DATE and not due_passed


def check_key(test: TestResult) -> str:
    """What tells one check from another across runs: its test function's name."""
    return str(test.extra_data.get("nodeid") or test.name)


def answer_of(test: TestResult) -> str:
    """A failed check's key line (empty when its hint has one level)."""
    return "" if test.status == "passed" else str(test.extra_data.get("answer") or "")


def check_view(test: TestResult, revealed: Collection[str] = ()) -> CheckView:
    passed = test.status == "passed"
    message, hint = ("", "") if passed else split_output(test)
    return CheckView(
        name=test.name,
        passed=passed,
        score=test.score,
        max_score=test.max_score,
        message=message,
        hint=hint,
        answer=answer_of(test),
        reveal=check_key(test) in revealed,
        hidden=test.visibility is Visibility.HIDDEN,
    )


def exercise_views(tests: list[TestResult], due_passed: bool, revealed: Collection[str] = ()) -> list[ExerciseView]:
    """Checks grouped by exercise, in the order the tests ran; withheld checks are only counted. The checks
    keyed (``check_key``) in ``revealed`` failed before: their key lines are shown."""
    exercises: dict[str, ExerciseView] = {}
    for test in tests:
        exercise_id = test.tags[0] if test.tags else ""
        view = exercises.setdefault(exercise_id, ExerciseView(id=exercise_id))
        if is_withheld(test, due_passed):
            view.withheld += 1
            view.withheld_points = round(view.withheld_points + test.max_score, 4)
        else:
            view.checks.append(check_view(test, revealed))
    return list(exercises.values())


def _cell_error(run: CellRun) -> str:
    assert run.error is not None
    detail = f": {run.error.message}" if run.error.message else ""
    return f"cell {run.grade_id or run.index} raised {run.error.type}{detail}"


def feedback_view(
    result: SubmissionResult, now: datetime | None = None, revealed: Collection[str] = ()
) -> FeedbackView:
    extra = result.extra_data
    due_passed = due_has_passed(extra.late, now)
    errors = [_cell_error(run) for run in extra.cells if run.error is not None]
    return FeedbackView(
        student_id=extra.student_id,
        assignment=extra.assignment,
        status=extra.status,
        message=extra.message,
        exercises=exercise_views(result.tests, due_passed, revealed),
        late=extra.late,
        due_passed=due_passed,
        cell_errors=errors,
        restored_cells=extra.restored_cells,
        tampered_cells=extra.tampered_cells,
        generated_at=now or datetime.now(UTC),
    )
