"""What the learner's code raised during one check, and where: so that a failed check says so.

A check of exercise 4 that calls exercise 3's ``get_author`` fails when ``get_author`` does; its own message
("answered 500") then blames the wrong exercise. Every answer from the learner's process carries the
exception it saw (a probe's, a call's, or the one the app let out while answering a request), with the
learner cell and function it was raised in. ``Trail`` keeps them for the running check, and ``blame`` turns
them into the sentence the check's message ends with.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from grader.course import exercise_of
from grader.models import CellRun, ErrorInfo, StoppedCell
from grader.testing.backend import Backend


class Raised(BaseModel):
    error: ErrorInfo
    request: str = ""  # "GET /authors/1" when the app raised it while answering


class Trail(BaseModel):
    raised: list[Raised] = Field(default_factory=list)

    def clear(self) -> None:
        self.raised.clear()

    def note(self, answer: dict[str, Any], args: dict[str, Any]) -> None:
        """Keep what this answer says was raised. The learner's process writes the answer, so an entry that is
        not ``ErrorInfo`` data is dropped: it would only have explained a failure, never decided one."""
        request = f"{args.get('method', '')} {str(args.get('url', '')).removeprefix('http://testserver')}".strip()
        unawaited = answer.get("unawaited")
        entries = [
            (answer.get("error"), ""),
            (answer.get("raised"), request),
            *((entry, "") for entry in (unawaited if isinstance(unawaited, list) else [])),
        ]
        for data, during in entries:
            if (error := _error_info(data)) is not None:
                self.raised.append(Raised(error=error, request=during))


def _error_info(data: object) -> ErrorInfo | None:
    if not isinstance(data, dict):
        return None
    try:
        return ErrorInfo.model_validate(data)
    except ValidationError:
        return None


class TracedBackend:
    """A backend whose answers are noted on a trail; everything else is the backend's."""

    def __init__(self, backend: Backend, trail: Trail) -> None:
        self.backend = backend
        self.trail = trail
        self.db_dir: Path = backend.db_dir
        self.db_driver: str = backend.db_driver

    async def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = await self.backend.request(op, args)
        self.trail.note(answer, args)
        return answer

    def sources(self) -> list[str]:
        return self.backend.sources()

    def stopped_cells(self) -> list[StoppedCell]:
        return self.backend.stopped_cells()

    def twin(self) -> TracedBackend:
        return TracedBackend(self.backend.twin(), self.trail)

    def racing(self) -> AbstractContextManager[None]:
        return self.backend.racing()


def _where(error: ErrorInfo) -> str:
    parts = []
    if error.function:
        parts.append(f"in `{error.function}`")
    if exercise := exercise_of(error.cell):
        parts.append(f"of exercise {exercise}")
    return " ".join(parts)


# What a probe or a call may raise on purpose is a domain exception (OutOfStock, EmailTaken); these are bugs.
BUGS = frozenset(
    {
        "NameError",
        "UnboundLocalError",
        "AttributeError",
        "TypeError",
        "NotImplementedError",
        "ImportError",
        "ModuleNotFoundError",
        "KeyError",
        "IndexError",
        "ZeroDivisionError",
        "RecursionError",
        "SyntaxError",
        "MissingGreenlet",
        "InvalidRequestError",
        "ArgumentError",
        "StatementError",
        "OperationalError",
        "RuntimeWarning",  # only an unawaited coroutine's is noted (grader.sandbox.runtime.UNAWAITED_TYPE)
    }
)


UNAWAITED_TYPE = "RuntimeWarning"


def _a_bug(seen: Raised) -> bool:
    # An exception the app let out is always one: a server answers it with a bare 500.
    return bool(seen.request) or seen.error.type in BUGS


def blame(trail: Trail, exercise: str, message: str) -> str:
    """The sentence a failed check of ``exercise`` ends with: another exercise's code that raised a bug (fix it
    first), else the exception the app raised, when the message does not already name it."""
    for seen in trail.raised:
        other = exercise_of(seen.error.cell)
        if other is not None and other != exercise and _a_bug(seen):
            during = f" while answering {seen.request}" if seen.request else ""
            raised = f"exercise {other}, which raised {seen.error.type}: {seen.error.message} {_where(seen.error)}"
            caller = exercise_of(seen.error.caller_cell)
            if caller == exercise and seen.error.caller_function:
                # This exercise's code called the other's: the bug may be in what it was given.
                return (
                    f"Your `{seen.error.caller_function}` (exercise {exercise}) called the code of {raised}{during}. "
                    f"If {other}'s own checks fail, fix {other} first; if they pass, look at what "
                    f"`{seen.error.caller_function}` gives it."
                )
            return f"This check uses the code of {raised}{during}: fix {other} first."
    for seen in trail.raised:
        if seen.error.type == UNAWAITED_TYPE and exercise_of(seen.error.cell) == exercise:
            return f"Your code called an async function without `await`: {seen.error.message} {_where(seen.error)}."
    for seen in trail.raised:
        if seen.request and seen.error.type not in message:
            where = _where(seen.error)
            return (
                f"Your app raised {seen.error.type}: {seen.error.message}"
                + (f" {where}" if where else "")
                + f" while answering {seen.request}."
            )
    return ""


def _stopped_how(run: CellRun) -> tuple[str, str]:
    """What happened to the cell, and where to look."""
    reason = f" ({run.error.message})" if run.error and run.error.message else ""
    if run.timed_out:
        return f"did not finish{reason}", "look for a loop that never ends or a blocking call (time.sleep, sync I/O)"
    return f"stopped the process it ran in{reason}", "look for memory that keeps growing, or code that exits"


UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def _undefined_names(trail: Trail, message: str) -> set[str]:
    texts = [message, *(seen.error.message for seen in trail.raised if seen.error.type == "NameError")]
    return {name for text in texts for name in UNDEFINED.findall(text)}


def stopped(cells: list[StoppedCell], trail: Trail, exercise: str, message: str) -> str:
    """The sentence a failed check of ``exercise`` ends with when a cell was skipped for stopping the learner's
    process: its own exercise's cell (whatever the message), or another exercise's cell that would have defined
    a name this check found not defined (in its message, or raised while it ran)."""
    for cell in cells:
        if exercise_of(cell.run.grade_id) == exercise:
            how, look = _stopped_how(cell.run)
            return f"Your cell {cell.run.grade_id} {how}, so it was skipped and nothing it defines exists: {look}."
    missing = _undefined_names(trail, message)
    for cell in cells:
        other = exercise_of(cell.run.grade_id)
        if other is not None and any(re.search(rf"\b{re.escape(name)}\b", cell.source) for name in missing):
            how, _ = _stopped_how(cell.run)
            return f"Exercise {other}'s cell {cell.run.grade_id} {how} and was skipped: fix {other} first."
    return ""
