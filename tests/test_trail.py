"""The sentences a failed check ends with, from what the learner's code raised or a cell that was skipped."""

from __future__ import annotations

from grader.models import CellRun, ErrorInfo, StoppedCell
from grader.testing.trail import Raised, Trail, blame, stopped

ENDLESS = StoppedCell(
    run=CellRun(
        index=7,
        grade_id="ex3-solution",
        ok=False,
        timed_out=True,
        error=ErrorInfo(type="LearnerTimeout", message="no answer within 10 s"),
    ),
    source="async def get_author(session, author_id):\n    ...\n\nwhile True:\n    pass\n",
)


def _trail(*errors: ErrorInfo) -> Trail:
    return Trail(raised=[Raised(error=error) for error in errors])


def test_a_skipped_cell_is_named_on_its_own_exercise() -> None:
    said = stopped([ENDLESS], Trail(), "ex3", "get_author(1) answered None.")
    assert said.startswith("Your cell ex3-solution did not finish (no answer within 10 s)") and "loop" in said


def test_a_skipped_cell_is_blamed_only_for_a_name_it_would_have_defined() -> None:
    missing = ErrorInfo(type="NameError", message="name 'get_author' is not defined", cell="ex4-solution")
    said = stopped([ENDLESS], _trail(missing), "ex4", "GET /authors/1 answered 500.")
    assert (
        said
        == "Exercise ex3's cell ex3-solution did not finish (no answer within 10 s) and was skipped: fix ex3 first."
    )
    own_typo = "name 'list_boks' is not defined"  # ex4's own mistake: the skipped cell never defined it
    assert stopped([ENDLESS], Trail(), "ex4", f"list_books failed: {own_typo}") == ""


def test_a_memory_kill_is_not_called_an_endless_loop() -> None:
    died = ErrorInfo(type="LearnerDied", message="killed by SIGKILL")
    killed = ENDLESS.model_copy(update={"run": ENDLESS.run.model_copy(update={"timed_out": False, "error": died})})
    said = stopped([killed], Trail(), "ex3", "")
    assert "stopped the process it ran in" in said and "memory" in said and "loop" not in said


def test_an_unawaited_coroutine_in_the_checks_own_exercise_is_named() -> None:
    unawaited = ErrorInfo(
        type="RuntimeWarning",
        message="coroutine 'AsyncSession.commit' was never awaited (an async function called without `await`)",
        cell="ex2-solution",
        function="create_author",
    )
    said = blame(_trail(unawaited), "ex2", "After create_author, the authors table is empty.")
    assert said.startswith("Your code called an async function without `await`: coroutine 'AsyncSession.commit'")
    assert "in `create_author` of exercise ex2" in said
