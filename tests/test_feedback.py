"""Feedback per learner: each exercise's checks, points, message and hint; visibility honoured; no test code."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path

from report_data import CHECKS, failed, graded, late
from rich.console import Console
from support import ROOT, VENV_BIN, run, solution_with_cells_replaced, tail

from grader.models import ErrorInfo
from grader.report.feedback import feedback_html, write_feedback
from grader.report.views import feedback_view
from grader.report_terminal import print_feedback

BEFORE_DUE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
AFTER_DUE = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
WITHHELD = "gather keeps the order"  # the after_due_date check of report_data.CHECKS


def _half() -> set[str]:
    return {"greet returns the greeting", "gather runs concurrently"}


def test_checks_are_grouped_by_exercise_with_message_and_hint_apart():
    view = feedback_view(graded("ada", _half(), late=late(-1, 0)), now=AFTER_DUE)
    assert [e.id for e in view.exercises] == ["ex1", "ex2", "ex3"]
    ex1 = view.exercises[0]
    assert [(c.name, c.passed, c.score, c.max_score) for c in ex1.checks] == [
        ("greet returns the greeting", True, 1, 1),
        ("greet works for any name", False, 0, 1),
    ]
    failed_check = ex1.checks[1]
    assert (failed_check.message, failed_check.hint) == ("`greet('Łukasz')` gave 'Hello, Ada!'.", "Use `name`.")
    assert failed_check.hidden  # verdict shown once graded, marked as checked when graded
    assert (view.score, view.max_score) == (3, 7)


def test_after_due_date_checks_are_withheld_until_the_due_date():
    result = graded("ada", _half() | {WITHHELD}, late=late(-1, 0))
    before = feedback_view(result, now=BEFORE_DUE)
    names = [c.name for e in before.exercises for c in e.checks]
    assert WITHHELD not in names
    assert (before.exercises[1].withheld, before.exercises[1].withheld_points) == (1, 1)
    assert (before.score, before.max_score, before.withheld_points) == (3, 6, 1)
    page = feedback_html(before)
    assert WITHHELD not in page and "gather keeps order" not in page
    assert "shown after the due date" in page

    after = feedback_view(result, now=AFTER_DUE)
    assert WITHHELD in [c.name for e in after.exercises for c in e.checks]
    assert (after.score, after.max_score, after.withheld_points) == (4, 7, 0)


def test_without_a_known_due_date_after_due_date_checks_stay_withheld():
    view = feedback_view(graded("ada", set()), now=AFTER_DUE)
    assert view.withheld_points == 1
    assert WITHHELD not in feedback_html(view)


def test_html_page_shows_points_messages_hints_and_late_penalty(tmp_path: Path):
    error = ErrorInfo(type="NameError", message="name 'app' is not defined")
    result = graded("ada", _half(), late=late(5, 2.0), cell_error=error)
    path = write_feedback(tmp_path / "ada.html", result, now=AFTER_DUE)
    page = path.read_text(encoding="utf-8")
    text = html.unescape(page)
    assert "3 / 7" in page and "After the late penalty" in page and "late penalty: 2 points" in page
    for _exercise, name, _points, _visibility, message, hint in CHECKS:
        assert name in text, name
        if name not in _half():
            assert message in text and hint in text, name
    assert "cell ex3-solution raised NameError: name 'app' is not defined" in text
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org", "")


def test_learner_text_is_escaped():
    result = graded("<img src=x onerror=alert(1)>", set())
    page = feedback_html(feedback_view(result, now=AFTER_DUE))
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_a_submission_that_could_not_be_graded_says_why_and_shows_no_score():
    page = feedback_html(feedback_view(failed("bob", "bob.ipynb: not a notebook, the file is not valid JSON")))
    assert "could not be graded" in page and "not valid JSON" in page
    assert "Checks passed" not in page


def test_terminal_feedback_shows_hints_and_withheld_checks():
    buffer = io.StringIO()
    view = feedback_view(graded("ada", _half()), now=AFTER_DUE)
    print_feedback(view, Console(file=buffer, width=200, color_system=None))
    out = buffer.getvalue()
    assert "ex1: 1 of 2 checks passed, 1/2 points" in out
    assert "Hint: Use `name`." in out and "Hint: Add the route." in out
    assert "1 more check(s) shown after the due date" in out
    assert "2 of 4 checks passed, 3/6 points (+1 in checks shown after the due date)" in out


def test_grader_check_prints_each_failure_with_its_hint(tmp_path: Path):
    """`grader check` on a notebook that answers ex1 and ex2 only: ex3 and ex4 fail, each with a hint."""
    notebook = solution_with_cells_replaced(
        "00-orientation",
        {"ex3-solution": "raise NotImplementedError()", "ex4-solution": "raise NotImplementedError()"},
        tmp_path / "00-orientation.ipynb",
    )
    completed = run([VENV_BIN / "grader", "check", notebook, "--course", ROOT], cwd=ROOT, timeout=300)
    assert completed.returncode == 1, tail(completed)
    out = completed.stdout
    assert "ex1: 2 of 2 checks passed" in out and "ex3: 0 of 2 checks passed" in out, out
    assert "Hint:" in out
    assert "00-orientation: 4 of 8 checks passed" in out, out


def test_redaction_never_touches_what_a_visible_check_shows(chapter_id: str):
    """A hidden test may share a line with a visible check's hint (chapter 02 once showed "`[hidden] yield
    session` is all it takes"); only text of the hidden tests alone is blanked."""
    from grader.course import Course
    from grader.testing.plugin import clean_message, hidden_text

    chapter = Course.at(ROOT).chapter(chapter_id)
    secrets = hidden_text(chapter.hidden_tests)
    for path in sorted(chapter.visible_tests.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert clean_message(line, secrets) == line, (path.name, line)
