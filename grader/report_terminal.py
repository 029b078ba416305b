"""Check results as a rich table: in the terminal for ``grader check``, as HTML in a notebook."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.models import TestResult


def results_table(title: str, tests: list[TestResult]) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("", width=2)
    table.add_column("check")
    table.add_column("points", justify="right")
    table.add_column("what to look at")
    for test in tests:
        mark = Text("✓", style="green") if test.status == "passed" else Text("✗", style="red")
        table.add_row(mark, test.name, f"{test.score:g}/{test.max_score:g}", test.output)
    return table


def print_results(title: str, tests: list[TestResult], console: Console | None = None) -> None:
    (console or Console()).print(results_table(title, tests))
