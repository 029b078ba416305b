"""Data that flows between pipeline stages and out to users (the results contract)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Visibility(StrEnum):
    """Gradescope's visibility values, per test."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    AFTER_DUE_DATE = "after_due_date"
    AFTER_PUBLISHED = "after_published"


class Status(StrEnum):
    GRADED = "graded"
    ERROR = "error"


class ErrorInfo(BaseModel):
    """An exception seen in the learner's process, reduced to plain data."""

    type: str
    message: str
    # Where in the learner's cells it was raised: the innermost frame of a learner cell, when the process
    # knows its cells' grade ids (during grading), e.g. cell "ex3-solution", function "get_author".
    cell: str | None = None
    function: str | None = None
    # The outermost learner frame: the learner's code that led there (a route of exercise 4 calling a
    # service of exercise 3 that raised).
    caller_cell: str | None = None
    caller_function: str | None = None


class CellRun(BaseModel):
    """What happened when one learner cell ran."""

    index: int
    grade_id: str | None = None
    ok: bool
    error: ErrorInfo | None = None
    timed_out: bool = False


class Submission(BaseModel):
    """One notebook to grade and who it belongs to."""

    path: Path
    student_id: str
    assignment: str | None = None
    sha256: str = ""
    # Set at discovery: why this file cannot be graded (it is not a regular file, names no chapter of the
    # course...), and what the student id was changed from when the claimed one was not a safe file name.
    error: str | None = None
    identity_note: str = ""


class StoppedCell(BaseModel):
    """A cell skipped for stopping the learner's process, with its source (what it would have defined)."""

    run: CellRun
    source: str


class TestOutcome(BaseModel):
    """One pytest test's verdict, as the grader process computed it."""

    model_config = ConfigDict(populate_by_name=True)

    nodeid: str
    name: str
    exercise: str
    points: float
    visibility: Visibility
    passed: bool
    message: str = ""
    hint: str = ""
    answer: str = ""  # the hint's key line, shown once the check has failed before


class TestResult(BaseModel):
    """One entry of Gradescope's ``tests`` array."""

    name: str
    number: str = ""
    score: float
    max_score: float
    status: Literal["passed", "failed"]
    output: str = ""
    visibility: Visibility = Visibility.VISIBLE
    tags: list[str] = Field(default_factory=list)
    extra_data: dict[str, Any] = Field(default_factory=dict)


class LateInfo(BaseModel):
    """When a submission came in against its due date, and what that cost (nbgrader's late-submission rules)."""

    submitted_at: datetime | None = None
    due_date: datetime | None = None
    seconds_late: float = 0.0
    penalty: float = 0.0


class ExtraData(BaseModel):
    student_id: str
    assignment: str
    status: Status
    message: str = ""
    notebook: str = ""
    notebook_sha256: str = ""
    cells: list[CellRun] = Field(default_factory=list)
    restored_cells: list[str] = Field(default_factory=list)
    tampered_cells: list[str] = Field(default_factory=list)
    grader_version: str = ""
    # What graded this row (``grader.fingerprint``): a resumed run reuses it only while both still match.
    checks_sha256: str = ""
    grader_sha256: str = ""
    # An error of the grading run (stopped, crashed), not of the notebook: a resumed run grades it again.
    retry: bool = False
    late: LateInfo | None = None


class SubmissionResult(BaseModel):
    """Gradescope's ``results.json`` schema, with our extras under ``extra_data``."""

    score: float
    max_score: float
    execution_time: float
    output: str = ""
    visibility: Visibility = Visibility.VISIBLE
    tests: list[TestResult] = Field(default_factory=list)
    extra_data: ExtraData

    @property
    def status(self) -> Status:
        return self.extra_data.status

    @property
    def late_penalty(self) -> float:
        return self.extra_data.late.penalty if self.extra_data.late else 0.0

    @property
    def final_score(self) -> float:
        """The score after a late penalty; ``score`` stays the sum of the tests (Gradescope's rule)."""
        return round(max(0.0, self.score - self.late_penalty), 4)
