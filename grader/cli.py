"""The ``grader`` command line: check, grade, release, gradescope, report, progress."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader.course import Course
from grader.errors import CourseError
from grader.models import Status, Submission, SubmissionResult
from grader.pipeline.write import RESULTS_DIR, result_path
from grader.sandbox.isolation import Isolation, IsolationMode, MissingLayers, check_isolation
from grader.sandbox.limits import Limits
from grader.sandbox.slots import Slot, machine_slot

# The grading pipeline (pytest, nbformat), nbgrader's gradebook, matplotlib and jinja2 are imported by the
# commands that use them, after they have started the learner's sandbox: `grader check`, run by learners
# after every change, then imports the grader while the sandbox imports FastAPI, on another core.
app = typer.Typer(help="Check, grade and release the Async API Workbook.", no_args_is_help=True, add_completion=False)
console = Console(stderr=True)

IsolationOption = Annotated[
    IsolationMode,
    typer.Option(help="required: refuse to grade without every sandbox layer; available: warn and go on; off."),
]
NotebooksArgument = Annotated[Path, typer.Argument(help="Your notebooks folder (or one notebook).", exists=True)]
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


def _reused(out: Path, submissions: list[Submission], course: Course, force: bool) -> set[tuple[str, str]]:
    """The rows this run keeps from an earlier one (same notebook, checks and grader), for the run log."""
    from grader.batch import already_graded
    from grader.pipeline.discover import UNKNOWN_CHAPTER

    if force:
        return set()
    return {(s.student_id, s.assignment or UNKNOWN_CHAPTER) for s in submissions if already_graded(out, s, course)}


def read_result(out: Path, result: SubmissionResult) -> SubmissionResult:
    """A row as written after publishing (with its late work), read back from OUT/results."""
    path = result_path(out, result.extra_data.assignment, result.extra_data.student_id)
    return SubmissionResult.model_validate_json(path.read_text(encoding="utf-8"))


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
    with machine_slot() as number:
        slot = Slot(number, sandbox, warm=True, lean=True)
        slot.ready_zygote(wait=False)
        try:
            from grader.grade import grade_submission
            from grader.pipeline.discover import identify

            # A learner's own notebook may be a link (some hubs link the course folder): no trust boundary here.
            submission = identify(notebook.resolve(), course_, assignment, None)
            result = grade_submission(
                submission, course_, Limits(), include_hidden=False, isolation=slot.isolation, zygote=slot.zygote
            )
        finally:
            slot.close()
    if result.status is Status.ERROR:
        console.print(f"[red]error:[/red] {escape(result.extra_data.message)}")
        raise typer.Exit(2)
    from grader.history import FailureHistory, default_path
    from grader.report.views import feedback_view
    from grader.report_terminal import print_feedback

    revealed = FailureHistory(default_path()).revealed(str(notebook.resolve()), result.tests)
    print_feedback(feedback_view(result, revealed=revealed), Console())
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
    warm: Annotated[
        bool,
        typer.Option(
            "--warm/--cold", help="Fork learner processes from a pre-imported zygote per job, or start each anew."
        ),
    ] = True,
    scheduler: Annotated[
        str | None,
        typer.Option(help="A Dask scheduler (tcp://HOST:PORT): grade on its workers instead of on this machine."),
    ] = None,
    gradebook: Annotated[
        bool,
        typer.Option(
            help="For submissions in an nbgrader course's submitted/ folder: write scores and late penalties into "
            "its gradebook, and autograded/ for formgrader, as `nbgrader autograde` would."
        ),
    ] = True,
    feedback: Annotated[
        bool, typer.Option(help="Write feedback HTML per learner (OUT/feedback/, and feedback/ of an nbgrader course).")
    ] = True,
    gradescope: Annotated[
        Path | None,
        typer.Option(help="Also write the one graded submission as Gradescope's results.json at this path."),
    ] = None,
) -> None:
    """Grade submissions with visible and hidden checks; write results JSON and grades.csv.

    Rows are written as each submission finishes; run the same command again after an interruption
    and only the submissions without a row (or whose notebook changed) are graded.
    """
    from grader.batch import grade_batch
    from grader.pipeline.discover import discover

    course_ = _course(course, paths[0])
    if assignment is not None and assignment not in course_.chapter_ids:
        known = ", ".join(course_.chapter_ids) or "none"
        console.print(f"[red]error:[/red] --assignment {assignment!r} is not a chapter of this course ({known})")
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    sandbox = _isolation(isolation, [*paths, out])
    submissions = discover(paths, course_, assignment, student)
    if not submissions:
        console.print("[yellow]no notebooks found[/yellow]")
        raise typer.Exit(2)
    if gradescope is not None and len(submissions) != 1:
        console.print(f"[red]error:[/red] --gradescope writes one submission's results; found {len(submissions)}")
        raise typer.Exit(2)
    from grader.pipeline.exports import write_gradescope
    from grader.pipeline.publish import PublishOptions, publish

    reused = _reused(out, submissions, course_, force)
    started = datetime.now(UTC)
    limits = Limits(submission_timeout=timeout, memory_mb=memory_mb, cell_timeout=cell_timeout)
    with Progress(
        TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("grading", total=len(submissions))

        def advance(result: SubmissionResult) -> None:
            progress.advance(task)

        results = grade_batch(
            submissions,
            course_,
            out,
            limits,
            jobs=jobs,
            isolation=sandbox,
            on_result=advance,
            force=force,
            warm=warm,
            scheduler=scheduler,
        )
    run = {"started_at": started.isoformat(), "command": "grade", "paths": [str(p) for p in paths], "jobs": jobs}
    published = publish(
        out,
        results,
        course_,
        PublishOptions(gradebook=gradebook, feedback=feedback),
        reused,
        run,
        on_warning=lambda text: console.print(f"[yellow]warning:[/yellow] {text}"),
    )
    if gradescope is not None:
        write_gradescope(gradescope, read_result(out, results[0]))
    errors = sum(r.status is Status.ERROR for r in results)
    console.print(
        f"{len(results)} rows: {len(results) - len(reused)} graded now, {len(reused)} reused from an earlier run "
        f"(same notebook, checks and grader), {errors} with errors; results in {out}/results, table in "
        f"{out}/grades.csv"
    )
    if published.gradebook_rows:
        console.print(f"{published.gradebook_rows} written into nbgrader's gradebook (formgrader, nbgrader export)")
    if published.feedback_files:
        console.print(f"feedback in {out}/feedback; class report: grader report {out}")


@app.command()
def release(
    chapters: Annotated[list[str] | None, typer.Argument(help="Chapters to release; default: all.")] = None,
    course: CourseOption = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if building or releasing would change a file.")
    ] = False,
) -> None:
    """Build solutions/CH/CH.ipynb from CH.md (carried code filled in), then release through nbgrader."""
    from grader import release as releasing

    course_ = _course(course)
    try:
        if check:
            if chapters:
                console.print("--check checks every chapter: a change in one reaches the chapters that carry it")
            verdict = releasing.check(course_)
            for path in verdict.stale:
                console.print(f"out of date: {path.relative_to(course_.root)}")
            for problem in verdict.unreleased:
                console.print(problem)
            if not verdict.clean:
                console.print("[red]solutions/ or notebooks/ differ from what `grader release` writes:[/red] run it")
                raise typer.Exit(1)
            console.print("every built and released file matches its source")
            return
        done = releasing.release(course_, chapters)
    except CourseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"released {', '.join(done)} into {course_.release}")


@app.command()
def gradescope(
    chapter: Annotated[str, typer.Argument(help="The chapter this Gradescope assignment grades.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip.")] = Path("autograder.zip"),
    course: CourseOption = None,
) -> None:
    """Write a Gradescope autograder zip for one chapter (setup.sh, run_autograder, the chapter's tests)."""
    from grader.gradescope import build_bundle

    course_ = _course(course)
    try:
        names = build_bundle(course_, chapter, out)
    except CourseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"wrote {out} ({len(names)} files): upload it as the autograder of a Gradescope assignment")


@app.command("gradescope-run", hidden=True)
def gradescope_run(
    chapter: Annotated[str, typer.Argument(help="The chapter to grade the submission as.")],
    submission: Annotated[Path, typer.Option(help="Gradescope's submission folder.")] = Path("/autograder/submission"),
    results: Annotated[Path, typer.Option(help="Where to write results.json.")] = Path(
        "/autograder/results/results.json"
    ),
    course: CourseOption = None,
    isolation: IsolationOption = IsolationMode.AVAILABLE,
) -> None:
    """What the bundle's run_autograder runs: grade one submission, write Gradescope's results.json."""
    from grader.gradescope import grade as grade_for_gradescope

    course_ = _course(course)
    sandbox = _isolation(isolation, [submission, results.parent])
    try:
        result = grade_for_gradescope(course_, chapter, submission, results, Limits(), sandbox)
    except CourseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"{result.score:g}/{result.max_score:g} ({result.status.value}); results in {results}")


@app.command()
def report(
    grade_dir: Annotated[Path, typer.Argument(help="A grade folder (the --out of grader grade).", file_okay=False)],
    output: Annotated[Path | None, typer.Option(help="Where to write the page; default GRADE_DIR/report.html.")] = None,
) -> None:
    """Write the class report: one self-contained HTML page with plots, from a grade folder."""
    if not (grade_dir / RESULTS_DIR).is_dir():
        console.print(f"[red]error:[/red] {grade_dir} has no {RESULTS_DIR}/ folder; grade into it first")
        raise typer.Exit(2)
    from grader.report.class_report import write_report

    path = write_report(grade_dir, output)
    console.print(f"class report written to {path}")


@app.command()
def progress(
    notebooks: NotebooksArgument = Path("notebooks"),
    course: CourseOption = None,
    isolation: IsolationOption = IsolationMode.AVAILABLE,
) -> None:
    """Show every chapter's visible checks passed and points so far."""
    from grader.history import FailureHistory, default_path
    from grader.progress import next_steps, progress_table
    from grader.progress import progress as learner_progress

    course_ = _course(course, notebooks)
    sandbox = _isolation(isolation, [notebooks])
    with console.status("running the visible checks of each chapter…") as status, machine_slot() as number:
        slot = Slot(number, sandbox, warm=True)
        try:
            rows = learner_progress(
                notebooks,
                course_,
                Limits(),
                slot.isolation,
                on_chapter=lambda row: status.update(f"checked {row.chapter}"),
                slot=slot,
                history=FailureHistory(default_path()),
            )
        finally:
            slot.close()
    if not rows:
        console.print(f"[yellow]no notebooks found in {notebooks}[/yellow]")
        raise typer.Exit(2)
    out = Console()
    out.print(progress_table(rows, notebooks))
    for step in next_steps(rows):
        out.print(step)


def main() -> None:
    app()
