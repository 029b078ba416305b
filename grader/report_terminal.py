"""Check results as rich tables: in the terminal for ``grader check``, as HTML in a notebook.

Each failed check shows its message and, on the next line, its hint; checks marked ``after_due_date`` are only
counted until the due date (see ``grader.report.views``).
"""

from __future__ import annotations

from collections.abc import Collection

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from grader.models import TestResult
from grader.report.views import CheckView, ExerciseView, FeedbackView, exercise_views

# A hint nudges before it tells (``grader.authoring.hints``): the key line waits for a second failure.
KEY_LINE_LATER = "Still failing after another try? The next run shows the key line."


def _advice(check: CheckView) -> Text:
    if check.passed:
        return Text("")
    text = Text(check.message)
    if check.hint:
        text.append(f"\nHint: {check.hint}", style="dim")
    if check.answer and check.reveal:
        text.append(f"\nKey line: {check.answer}", style="cyan")
    elif check.answer:
        text.append(f"\n{KEY_LINE_LATER}", style="dim italic")
    return text


def exercise_table(title: str, exercise: ExerciseView) -> Table:
    table = Table(title=title, show_lines=False, expand=False, title_justify="left")
    table.add_column("", width=2)
    table.add_column("check")
    table.add_column("points", justify="right")
    table.add_column("what to look at", overflow="fold")  # code in a hint is folded, never cut with "…"
    for check in exercise.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
        name = Text(check.name) + (Text(" (checked when graded)", style="dim") if check.hidden else Text(""))
        table.add_row(mark, name, f"{check.score:g}/{check.max_score:g}", _advice(check))
    if exercise.withheld:
        table.add_row(
            "",
            Text(f"{exercise.withheld} more check(s) shown after the due date", style="dim"),
            f"?/{exercise.withheld_points:g}",
            "",
        )
    return table


def results_table(title: str, tests: list[TestResult], revealed: Collection[str] = ()) -> Table | Group:
    """One table per exercise when the tests span several, else one table titled ``title``; the checks in
    ``revealed`` (``check_key``) failed before, so their key lines are shown."""
    exercises = exercise_views(tests, due_passed=False, revealed=revealed)
    if len(exercises) == 1:
        return exercise_table(title, exercises[0])
    return Group(Text(title, style="bold"), *(_titled(e) for e in exercises))


def _titled(exercise: ExerciseView) -> Table:
    title = f"{exercise.id}: {exercise.passed} of {len(exercise.checks)} checks passed, "
    return exercise_table(title + f"{exercise.score:g}/{exercise.max_score:g} points", exercise)


def print_results(
    title: str, tests: list[TestResult], console: Console | None = None, revealed: Collection[str] = ()
) -> None:
    (console or Console()).print(results_table(title, tests, revealed))


def print_feedback(view: FeedbackView, console: Console | None = None) -> None:
    """A graded (or checked) submission, exercise by exercise, then its total."""
    console = console or Console()
    for exercise in view.exercises:
        console.print(_titled(exercise))
    total = f"{view.assignment}: {view.checks_passed} of {view.checks_shown} checks passed, "
    total += f"{view.score:g}/{view.max_score:g} points"
    if view.withheld_points:
        total += f" (+{view.withheld_points:g} in checks shown after the due date)"
    console.print(Text(total, style="bold"))
    for error in view.cell_errors:
        console.print(Text(f"  {error}", style="yellow"))
