"""``check("ex1")`` in a notebook: the exercise's visible tests against the live kernel's objects.

pytest runs on its own thread with its own event loop (the kernel's loop is already running), and
the tests reach the learner's objects through the same fixtures as in grading, backed by the
kernel's namespace instead of a sandboxed process.

Every learner process imports this module too (a notebook's first cell), where ``check()`` never runs: pytest,
rich and the grading pipeline are imported by the first ``check()`` instead, so that starting a learner process
(and so ``grader check``) does not pay for them.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from grader.checks import CheckFailure

if TYPE_CHECKING:
    from grader.course import Chapter
    from grader.history import FailureHistory
    from grader.models import TestOutcome, TestResult
    from grader.testing.backend import KernelBackend


@cache
def kernel_history() -> FailureHistory:
    """What this kernel's checks failed so far: a check failing again shows its key line."""
    from grader.history import FailureHistory

    return FailureHistory()


class ChecksFailed(CheckFailure):
    """Raised by ``check()`` so that nbgrader marks the cell failed; shown without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"ChecksFailed: {self.message}"]


def failure_summary(tests: list[TestResult]) -> str:
    """The failed checks with the first line of each message: the exception's text is all that some tools
    show of a check cell (``nbgrader validate``, a cell's error in formgrader), so it names them itself."""
    from grader.report.views import split_output

    failed = [test for test in tests if test.status != "passed"]
    lines = [f"{len(failed)} of {len(tests)} checks failed:"]
    for test in failed:
        message = split_output(test)[0].splitlines()
        lines.append(f"- {test.name}: {message[0] if message else 'failed'}")
    return "\n".join(lines)


def find_hidden_tests(chapter_dir: Path) -> Path:
    """Hidden tests beside the notebook, or (under ``nbgrader autograde``) in the course's source folder."""
    from grader.course import HIDDEN_TESTS, Course
    from grader.errors import CourseError

    if (chapter_dir / HIDDEN_TESTS).is_dir():
        return chapter_dir / HIDDEN_TESTS
    try:
        course = Course.discover(chapter_dir)
    except CourseError as exc:
        raise CourseError(f"hidden tests of {chapter_dir.name} not found: {exc}") from None
    candidate = course.source / chapter_dir.name / HIDDEN_TESTS
    if not candidate.is_dir():
        raise CourseError(f"hidden tests of {chapter_dir.name} not found in {candidate}")
    return candidate


def _namespace() -> dict:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("check() runs inside a notebook; from a terminal use `grader check NOTEBOOK`")
    return shell.user_ns


def _run_in_thread(chapter: Chapter, backend: KernelBackend, exercise: str, hidden: Path | None) -> list[TestOutcome]:
    from grader.pipeline.run_tests import run_tests

    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["outcomes"] = run_tests(
                chapter, backend, hidden_tests=hidden, exercise=exercise, capture="sys", include_visible=hidden is None
            )
        except BaseException as exc:  # re-raised on the kernel's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"check-{exercise}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["outcomes"]  # type: ignore[return-value]


def check(exercise: str, *, hidden: bool = False, chapter_dir: Path | str | None = None) -> None:
    """Run an exercise's checks on what this kernel has defined; raise if any fails."""
    from rich.console import Console

    from grader.course import Chapter
    from grader.pipeline.score import to_test_result
    from grader.report_terminal import print_results
    from grader.testing.backend import KernelBackend

    directory = Path(chapter_dir or Path.cwd()).resolve()
    chapter = Chapter(id=directory.name, directory=directory)
    backend = KernelBackend(_namespace())
    try:
        outcomes = _run_in_thread(chapter, backend, exercise, find_hidden_tests(directory) if hidden else None)
    finally:
        backend.close()
    tests = [to_test_result(i, o) for i, o in enumerate(outcomes, start=1)]
    passed = sum(t.status == "passed" for t in tests)
    title = f"{exercise}: {passed} of {len(tests)} checks passed" + (" (hidden)" if hidden else "")
    print_results(title, tests, Console(), revealed=kernel_history().revealed(str(directory), tests))
    if passed < len(tests):
        raise ChecksFailed(failure_summary(tests))
