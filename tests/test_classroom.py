"""A semester's assignment end to end, through nbgrader's file exchange in a temporary directory.

The instructor's commands are the README's ("A semester, step by step"), run as written in a copy of this
repository. The instructor generates and releases 00-orientation; alice and bob fetch it into their own homes; alice
solves it and submits before the due date, bob solves half and submits after it (the course's late policy is
nbgrader's `penalty_method = "zero"`); the instructor collects, runs `grader grade` on the course root, exports
with `nbgrader export` and releases the feedback, which bob fetches. Stock `nbgrader autograde` runs on a copy of
the collected course at the same moment (it takes over a minute, so it runs beside `grader grade`), and every
score, penalty and comment in its gradebook must equal what `grader grade` wrote.

Each actor has its own HOME and Jupyter folders under the test's tmp dir; nothing touches ~/.jupyter.
"""

from __future__ import annotations

import csv
import datetime
import html as html_module
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc
from support import ROOT, VENV_BIN, tail, tool_env

from grader.pipeline.nbgrader_course import load_config

CHAPTER = "00-orientation"
COURSE_ID = "workbook"
SOLVES = {"alice": ["ex1", "ex2", "ex3", "ex4"], "bob": ["ex1", "ex2"]}  # exercises each student answers
EXPECTED = {"alice": (14.0, 0.0), "bob": (7.0, 7.0)}  # raw score, late penalty (bob is late: zero policy)
HIDDEN_TESTS = ROOT / "solutions" / CHAPTER / "hidden_tests"


@dataclass
class Actor:
    """An instructor or a student: a HOME, Jupyter folders and a working directory of their own."""

    name: str
    home: Path
    cwd: Path

    def env(self) -> dict[str, str]:
        env = tool_env()
        env.update(
            HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
            JUPYTER_DATA_DIR=str(self.home / ".local/share/jupyter"),
            JUPYTER_RUNTIME_DIR=str(self.home / ".local/share/jupyter/runtime"),
            IPYTHONDIR=str(self.home / ".ipython"),
        )
        return env

    def run(self, *command: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


@dataclass
class Classroom:
    root: Path
    course: Path
    exchange: Path
    out: Path
    steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    ours: dict[str, dict] = field(default_factory=dict)  # gradebook after grader grade
    stock: dict[str, dict] = field(default_factory=dict)  # gradebook after nbgrader autograde
    export: list[dict[str, str]] = field(default_factory=list)
    formgrader: dict[str, dict] = field(default_factory=dict)
    fetched_feedback: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, actor: Actor, *command: str | Path) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        completed = actor.run(*command)
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.steps[name] = completed
        assert completed.returncode == 0, f"{name} failed:\n{tail(completed)}"
        return completed


def semester_steps() -> list[list[str]]:
    """The instructor's commands of the README's "A semester, step by step", as written there (``uv run``
    runs them in the project's environment; here they run from that environment, ``.venv/bin``). A ``#``
    line between them stands for what learners do, and is ``LEARNERS``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A semester, step by step", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    steps = []
    for line in block.splitlines():
        if line.startswith("# learners"):
            steps.append(LEARNERS)
            continue
        command = shlex.split(line, comments=True)
        assert command[:2] == ["uv", "run"], f"a semester step that is not `uv run ...`: {line}"
        steps.append([str(VENV_BIN / command[2]), *command[3:]])
    return steps


LEARNERS = ["learners"]


def copy_repository(target: Path) -> None:
    """This checkout as a fresh clone of it holds it (tracked files, with this working tree's changes), under
    git, so that what the semester leaves behind can be checked against its .gitignore."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def commit_all(course: Path) -> None:
    """The course as its instructor's repository holds it before the semester starts."""
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=course, capture_output=True, check=True)


def _configure(root: Path, course: Path, exchange: Path) -> dict[str, Actor]:
    copy_repository(course)
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(
            f"\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            'c.LateSubmissionPlugin.penalty_method = "zero"\n'
            "# everyone is root in this test; a real hub has one uid per student\n"
            "c.CollectApp.check_owner = False\n"
        )
    commit_all(course)
    actors = {"instructor": Actor("instructor", root / "home/instructor", course)}
    for student in SOLVES:
        home = root / "home" / student
        actors[student] = Actor(student, home, home)
    for actor in actors.values():
        (actor.home / ".jupyter").mkdir(parents=True, exist_ok=True)
        (actor.home / ".jupyter/nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
        )
    exchange.mkdir()
    return actors


def _answer(notebook_path: Path, exercises: list[str]) -> None:
    """The student writes the solution's answer into the cells of the given exercises, and saves."""
    solution = nbformat.read(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in solution.cells if "nbgrader" in c.metadata}
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("-solution") and grade_id.split("-")[0] in exercises:
            cell.source = answers[grade_id]
    nbformat.write(notebook, notebook_path)


def _gradebook(course: Path) -> dict[str, dict]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        found = {}
        for student in SOLVES:
            submission = gradebook.find_submission(CHAPTER, student)
            notebook = submission.notebooks[0]
            found[student] = {
                "score": submission.score,
                "penalty": submission.late_submission_penalty,
                "seconds_late": submission.total_seconds_late,
                "cells": {g.name: (g.auto_score, g.needs_manual_grade) for g in notebook.grades},
                "comments": {c.name: c.auto_comment for c in notebook.comments},
            }
        return found


def _formgrader_view(course: Path, instructor: Actor) -> dict[str, dict]:
    """What formgrader's pages are built from (its NbGraderAPI), for this course, as the instructor."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(instructor.home))
        patch.setenv("JUPYTER_CONFIG_DIR", str(instructor.home / ".jupyter"))
        config = load_config(course)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(course)), config=config)
        return {s["student"]: s for s in api.get_submissions(CHAPTER)}


def _autograde(course: Path, instructor: Actor) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    completed = Actor("instructor", instructor.home, course).run(VENV_BIN / "nbgrader", "autograde", CHAPTER, "--force")
    return completed, round(time.perf_counter() - started, 1)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    root = tmp_path_factory.mktemp("classroom")
    room = Classroom(root=root, course=root / "course", exchange=root / "exchange", out=root / "course" / "grades")
    actors = _configure(root, room.course, room.exchange)
    instructor, nbgrader = actors["instructor"], VENV_BIN / "nbgrader"
    steps = semester_steps()
    before, after = steps[: steps.index(LEARNERS)], steps[steps.index(LEARNERS) + 1 :]
    for command in before:  # generate_assignment, the due date, release_assignment
        room.step(Path(command[0]).name + " " + command[1], instructor, *command)

    with ThreadPoolExecutor(max_workers=2) as pool:
        fetched = pool.map(lambda s: (s, actors[s].run(nbgrader, "fetch_assignment", CHAPTER)), SOLVES)
        for student, completed in fetched:
            assert completed.returncode == 0, f"fetch_assignment as {student}:\n{tail(completed)}"
    for student, exercises in SOLVES.items():
        _answer(actors[student].home / CHAPTER / f"{CHAPTER}.ipynb", exercises)

    room.step("submit alice", actors["alice"], nbgrader, "submit", CHAPTER, "--student=alice")
    # The due date moves between the two submissions (the README's date is long past): alice is on time, bob late.
    alice_at = parse_utc(next(room.exchange.glob(f"{COURSE_ID}/inbound/alice+*/timestamp.txt")).read_text())
    due = alice_at + datetime.timedelta(seconds=1)
    with Gradebook(f"sqlite:///{room.course / 'gradebook.db'}", COURSE_ID) as gradebook:
        gradebook.update_or_create_assignment(CHAPTER, duedate=due)
    time.sleep(max(0.0, (due - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)).total_seconds()))
    room.step("submit bob", actors["bob"], nbgrader, "submit", CHAPTER, "--student=bob")

    collect, grade, *rest = after  # collect, grader grade, release_feedback, grader report
    room.step("collect", instructor, *collect)
    stock_course = root / "course-autograde"
    shutil.copytree(room.course, stock_course)
    with ThreadPoolExecutor(max_workers=1) as pool:
        stock = pool.submit(_autograde, stock_course, instructor)
        room.step("grader grade", instructor, *grade, "--jobs", "2")
        room.ours = _gradebook(room.course)
        room.formgrader = _formgrader_view(room.course, instructor)
        room.step("export", instructor, nbgrader, "export", "--to", root / "export.csv")
        for command in rest:
            room.step(Path(command[0]).name + " " + command[1], instructor, *command)
        room.step("fetch_feedback bob", actors["bob"], nbgrader, "fetch_feedback", CHAPTER)
        autograde, room.timings["nbgrader autograde"] = stock.result()
    room.steps["autograde"] = autograde
    assert autograde.returncode == 0, tail(autograde)
    room.stock = _gradebook(stock_course)
    with (root / "export.csv").open(newline="", encoding="utf-8") as stream:
        room.export = list(csv.DictReader(stream))
    for path in (actors["bob"].home / CHAPTER / "feedback").glob("*/*.html"):
        room.fetched_feedback["bob"] = path.read_text(encoding="utf-8")
    print("classroom timings (s):", room.timings)
    return room


def test_grader_grade_scores_the_collected_submissions(classroom: Classroom):
    results = {r["student_id"]: r for r in csv.DictReader((classroom.out / "grades.csv").open(encoding="utf-8"))}
    assert set(results) == set(SOLVES)
    for student, (raw, penalty) in EXPECTED.items():
        row = results[student]
        assert row["status"] == "graded"
        assert (float(row["raw_score"]), float(row["late_penalty"]), float(row["max_score"])) == (raw, penalty, 14.0)
        assert float(row["score"]) == raw - penalty
    assert float(results["bob"]["seconds_late"]) > 0 and results["bob"]["submitted_at"] > results["bob"]["due_date"]
    assert float(results["alice"]["seconds_late"]) == 0 and results["alice"]["submitted_at"]


def test_gradebook_holds_our_scores_and_nbgrader_export_shows_them(classroom: Classroom):
    for student, (raw, penalty) in EXPECTED.items():  # the gradebook keeps the raw score and the penalty apart
        assert (classroom.ours[student]["score"], classroom.ours[student]["penalty"]) == (raw, penalty)
    assert classroom.ours["bob"]["cells"] == {
        "ex1-check": (3.0, False),
        "ex2-check": (4.0, False),
        "ex3-check": (0.0, False),
        "ex4-check": (0.0, False),
    }
    exported = {row["student_id"]: row for row in classroom.export}
    for student, (raw, penalty) in EXPECTED.items():
        row = exported[student]
        assert (float(row["raw_score"]), float(row["late_submission_penalty"])) == (raw, penalty)
        assert (float(row["score"]), float(row["max_score"])) == (raw - penalty, 14.0)
        assert row["timestamp"] and row["duedate"]


def test_formgrader_lists_the_submissions_as_graded(classroom: Classroom):
    for student, (raw, _penalty) in EXPECTED.items():
        shown = classroom.formgrader[student]
        assert shown["autograded"] is True, shown
        assert (shown["score"], shown["max_score"], shown["needs_manual_grade"]) == (raw, 14.0, False)
    shown_notebook = classroom.course / "autograded" / "bob" / CHAPTER / f"{CHAPTER}.ipynb"
    notebook = nbformat.read(shown_notebook, as_version=4)
    check_cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-check")
    assert "ex3: 0 of 4 checks passed" in check_cell.outputs[0]["text"]


def test_stock_autograde_agrees_on_every_score(classroom: Classroom):
    for student in SOLVES:
        assert classroom.stock[student] == classroom.ours[student], student


def test_feedback_goes_back_through_the_exchange_without_hidden_test_code(classroom: Classroom):
    html = classroom.fetched_feedback.get("bob", "")
    assert html == (classroom.out / "feedback" / CHAPTER / "bob.html").read_text(encoding="utf-8")
    assert "Feedback for <strong>bob</strong>" in html
    assert "GET /health is JSON" in html  # a hidden check's verdict is shown once graded ...
    assert "Hint:" in html or 'class="hint"' in html
    assert "late penalty: 7 points" in html
    text = html_module.unescape(html)
    for line in hidden_code_lines():  # ... but never a line of its code
        assert line not in text, f"hidden test code in the feedback: {line}"


def hidden_code_lines() -> set[str]:
    """Lines of the hidden tests' code: not docstrings or message strings (written to be shown), not short."""
    lines = set()
    for path in HIDDEN_TESTS.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if len(stripped) >= 20 and not stripped.startswith(('"', 'f"', "#")):
                lines.add(stripped)
    assert lines, "no hidden test code found to look for"
    return lines


def test_the_semester_steps_are_the_readmes_and_leave_no_student_work_to_commit(classroom: Classroom):
    """The README's commands ran as written, in a copy of the repository: generate_assignment made the
    gradebook entry (not "Skipping existing assignment"), the report was written, and git sees none of the
    students' work (submitted/, autograded/, feedback/, the grades, the gradebook) as something to commit."""
    names = [" ".join(Path(part).name for part in command[:2]) for command in semester_steps() if command != LEARNERS]
    assert names == [
        "nbgrader generate_assignment",
        "nbgrader db",
        "nbgrader release_assignment",
        "nbgrader collect",
        "grader grade",
        "nbgrader release_feedback",
        "grader report",
    ]
    generated = classroom.steps["nbgrader generate_assignment"]
    assert "Skipping existing assignment" not in generated.stdout + generated.stderr
    assert (classroom.out / "report.html").is_file()
    for kept in ("submitted", "autograded", "feedback", "grades", "gradebook.db"):
        assert (classroom.course / kept).exists(), kept
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=classroom.course, capture_output=True, text=True
    )
    assert status.returncode == 0 and status.stdout == "", status.stdout[:2000]


def test_every_run_is_logged(classroom: Classroom):
    lines = (classroom.out / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(SOLVES) + 1
    assert '"event": "run"' in lines[-1] and '"gradebook_rows": 2' in lines[-1]
