"""The ``grader`` command line: check, grade, release."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader.batch import discover, grade_batch, identify
from grader.course import Course
from grader.errors import CourseError
from grader.grade import grade_submission
from grader.models import Status, SubmissionResult
from grader.release import release as release_chapters
from grader.report_terminal import print_results
from grader.sandbox.isolation import Isolation, IsolationMode, MissingLayers, check_isolation
from grader.sandbox.limits import Limits

app = typer.Typer(help="Check, grade and release the Async API Workbook.", no_args_is_help=True, add_completion=False)
console = Console(stderr=True)

IsolationOption = Annotated[
    IsolationMode,
    typer.Option(help="required: refuse to grade without every sandbox layer; available: warn and go on; off."),
]
CourseOption = Annotated[
    Path | None,
    typer.Option("--course", help="Course root (folder with nbgrader_config.py); default: found from here."),
]


def _isolation(mode: IsolationMode, hide: list[Path]) -> Isolation:
    """Say once what the sandbox lacks on this machine; refuse if every layer is required."""
    isolation = Isolation(mode=mode, hide=[p.resolve() for p in hide])
    try:
        missing = check_isolation(isolation)
    except MissingLayers as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for layer in missing:
        console.print(f"[yellow]warning:[/yellow] sandbox layer missing: {layer}")
    if mode is IsolationMode.OFF:
        console.print("[yellow]warning:[/yellow] isolation is off: learner code runs with the grader's rights")
    return isolation


def _course(course: Path | None, near: Path | None = None) -> Course:
    try:
        if course is not None:
            return Course.at(course)
        try:
            return Course.discover()
        except CourseError:
            if near is None:
                raise
            return Course.discover(near if near.is_dir() else near.parent)
    except CourseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def check(
    notebook: Annotated[Path, typer.Argument(help="A saved notebook.", exists=True, dir_okay=False)],
    course: CourseOption = None,
    assignment: Annotated[str | None, typer.Option(help="The chapter, if the notebook's metadata lost it.")] = None,
    isolation: IsolationOption = IsolationMode.AVAILABLE,
) -> None:
    """Run the visible checks of one saved notebook; exit 0 only if all pass."""
    course_ = _course(course, notebook)
    sandbox = _isolation(isolation, [notebook.parent])
    submission = identify(notebook, course_, assignment, None)
    result = grade_submission(submission, course_, Limits(), include_hidden=False, isolation=sandbox)
    if result.status is Status.ERROR:
        console.print(f"[red]error:[/red] {result.extra_data.message}")
        raise typer.Exit(2)
    print_results(f"{submission.assignment}: {result.extra_data.message}", result.tests, Console())
    raise typer.Exit(0 if result.score == result.max_score else 1)


@app.command()
def grade(
    paths: Annotated[
        list[Path], typer.Argument(help="Notebooks, folders of them, or an nbgrader course root.", exists=True)
    ],
    out: Annotated[Path, typer.Option("--out", help="Where results/ and grades.csv are written.")],
    jobs: Annotated[int, typer.Option(help="Submissions graded at once.")] = os.cpu_count() or 1,
    assignment: Annotated[str | None, typer.Option(help="Grade every notebook as this chapter.")] = None,
    student: Annotated[str | None, typer.Option(help="Student id, when not in an nbgrader path.")] = None,
    course: CourseOption = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per submission.")] = Limits().submission_timeout,
    memory_mb: Annotated[int, typer.Option(help="Memory limit of a learner process, in MiB.")] = Limits().memory_mb,
    cell_timeout: Annotated[float, typer.Option(help="Wall-clock seconds per notebook cell.")] = Limits().cell_timeout,
    isolation: IsolationOption = IsolationMode.AVAILABLE,
    force: Annotated[bool, typer.Option(help="Grade again submissions that already have a row.")] = False,
) -> None:
    """Grade submissions with visible and hidden checks; write results JSON and grades.csv.

    Rows are written as each submission finishes; run the same command again after an interruption
    and only the submissions without a row (or whose notebook changed) are graded.
    """
    course_ = _course(course, paths[0])
    out.mkdir(parents=True, exist_ok=True)
    sandbox = _isolation(isolation, [*paths, out])
    submissions = discover(paths, course_, assignment, student)
    if not submissions:
        console.print("[yellow]no notebooks found[/yellow]")
        raise typer.Exit(2)
    limits = Limits(submission_timeout=timeout, memory_mb=memory_mb, cell_timeout=cell_timeout)
    with Progress(
        TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("grading", total=len(submissions))

        def advance(result: SubmissionResult) -> None:
            progress.advance(task)

        results = grade_batch(
            submissions, course_, out, limits, jobs=jobs, isolation=sandbox, on_result=advance, force=force
        )
    errors = sum(r.status is Status.ERROR for r in results)
    console.print(f"{len(results)} graded ({errors} with errors); results in {out}/results, table in {out}/grades.csv")


@app.command()
def release(
    chapters: Annotated[list[str] | None, typer.Argument(help="Chapters to release; default: all.")] = None,
    course: CourseOption = None,
) -> None:
    """Regenerate the released notebooks from the source notebooks through nbgrader."""
    course_ = _course(course)
    try:
        done = release_chapters(course_, chapters)
    except CourseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"released {', '.join(done)} into {course_.release}")


def main() -> None:
    app()
