"""Red team: adversarial and broken chapter-00 submissions, graded in one sandboxed batch, each row asserted.

The submissions and the exact row each must get are in ``redteam_cases.py``. They are graded together
(``grade_batch``, two at a time, small limits) against a copy of the chapter kept where the sandbox hides
nothing by default, as with an installed grader and a course checked out elsewhere. Then: one test per
row, checks across all rows (one row each, nothing of the hidden tests in any of them, no forged file,
no process left), a batch killed with SIGKILL and started again, and fifty gradings that must agree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redteam_cases import (
    ALL,
    CASES,
    CHAPTER,
    HIDDEN,
    HIDDEN_TESTS,
    KNOWN_LIMITS,
    SLEEPER_MARKS,
    TWICE,
    Case,
    Context,
    Expected,
    write_case,
)
from support import ROOT, VENV_BIN, read_grade_folder, tail, tool_env, visible_course_copy

from grader.batch import grade_batch
from grader.course import Course
from grader.pipeline.discover import discover
from grader.pipeline.extract import extract
from grader.pipeline.load import load
from grader.pipeline.restore import restore
from grader.pipeline.run_tests import run_tests
from grader.pipeline.sandbox import SandboxBackend, SandboxSession
from grader.pipeline.score import to_test_result
from grader.sandbox.isolation import Isolation, IsolationMode
from grader.sandbox.limits import Limits
from grader.testing.plugin import MAX_MESSAGE_CHARS

JOBS = 2
LIMITS = Limits(cell_timeout=5, request_timeout=3, submission_timeout=60, memory_mb=1024, file_size_mb=16, processes=64)
SECRET_NAME, SECRET_VALUE = "REDTEAM_GRADER_TOKEN", "redteam-secret-value"
BY_NAME = {case.name: case for case in CASES + KNOWN_LIMITS}
# The probes and helpers of the hidden tests: none of their names may reach a row.
PROBE_NAMES = ("time_with_slow_greet", "app_with_recording_greet", "call_health_on_other_app")


@dataclass
class Batch:
    out: Path
    submissions: Path
    rows: dict[str, dict[str, Any]]
    csv_rows: list[dict[str, str]]


@pytest.fixture(scope="module")
def course() -> Iterator[Course]:
    with visible_course_copy(CHAPTER) as copy:
        yield copy


def _isolation(*hide: Path) -> Isolation:
    """What ``grader grade`` builds: every layer required, the submissions and the output folder hidden."""
    return Isolation(mode=IsolationMode.REQUIRED, hide=list(hide))


@pytest.fixture(scope="module")
def batch(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    submissions = tmp_path_factory.mktemp("redteam-submissions")
    out = tmp_path_factory.mktemp("redteam-grades")
    context = Context(out=out, course=course.root, submissions=submissions)
    paths = {case.name: write_case(case, context) for case in BY_NAME.values()}
    for name in TWICE:  # the same bytes under another name (a case built twice gets new random cell ids)
        shutil.copy2(paths[name], submissions / f"{name}-again.ipynb")
    os.environ[SECRET_NAME] = SECRET_VALUE  # a grader secret the learner's environment must not carry
    try:
        found = discover([submissions], course)
        grade_batch(found, course, out, LIMITS, jobs=JOBS, isolation=_isolation(submissions, out))
    finally:
        os.environ.pop(SECRET_NAME, None)
    grades = read_grade_folder(out)
    rows: dict[str, dict[str, Any]] = {}
    for row in grades.results:
        assert row["extra_data"]["student_id"] not in rows, f"two rows for {row['extra_data']['student_id']}"
        rows[row["extra_data"]["student_id"]] = row
    return Batch(out, submissions, rows, grades.csv_rows)


# -- one row per case -----------------------------------------------------------------------------
def summary(expected: Expected) -> str:
    text = f"{len(expected.passed)} of {len(ALL)} checks passed"
    return text + (f"; {len(expected.cells)} cell(s) raised an error" if expected.cells else "")


def assert_row(row: dict[str, Any], expected: Expected) -> None:
    extra = row["extra_data"]
    assert extra["status"] == expected.status, extra["message"]
    assert (row["score"], row["max_score"]) == (expected.score, expected.max_score)
    if expected.status == "error":
        assert expected.message and expected.message in extra["message"]
        assert row["tests"] == [] and extra["cells"] == []
        return
    tests = {test["extra_data"]["nodeid"]: test for test in row["tests"]}
    assert len(row["tests"]) == len(tests) and set(tests) == ALL
    passed = {name for name, test in tests.items() if test["status"] == "passed"}
    failures = {name: test["output"][:300] for name, test in tests.items() if test["status"] == "failed"}
    assert passed == expected.passed, failures
    for name, test in tests.items():
        assert test["visibility"] == ("hidden" if name in HIDDEN else "visible"), name
        assert test["score"] == (test["max_score"] if name in passed else 0.0), name
        assert (test["output"] == "") == (name in passed), name
    for name, fragment in expected.outputs.items():
        assert fragment in tests[name]["output"], (name, tests[name]["output"])
    assert extra["message"] == row["output"] == summary(expected)
    assert extra["tampered_cells"] == list(expected.tampered)
    assert extra["restored_cells"] == list(expected.restored)
    failed_cells = set()
    for cell in extra["cells"]:
        key = cell["grade_id"] if cell["grade_id"] in expected.cells else cell["index"]
        if key not in expected.cells:
            assert cell["ok"] and cell["error"] is None and not cell["timed_out"], cell
            continue
        failed_cells.add(key)
        want = expected.cells[key]
        assert not cell["ok"], cell
        assert cell["timed_out"] is want.timed_out, cell
        assert cell["error"] is not None and cell["error"]["type"] == want.error, cell
        assert want.message is None or want.message in cell["error"]["message"], cell
    assert failed_cells == set(expected.cells)


@pytest.mark.parametrize("case", CASES + KNOWN_LIMITS, ids=lambda case: case.name)
def test_row(batch: Batch, case: Case) -> None:
    assert_row(batch.rows[case.name], case.expected)


@pytest.mark.parametrize("name", TWICE)
def test_the_same_submission_gets_the_same_row(batch: Batch, name: str) -> None:
    def stable(row: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in row["extra_data"].items() if k not in ("student_id", "notebook")}
        return {**{k: v for k, v in row.items() if k != "execution_time"}, "extra_data": extra}

    assert stable(batch.rows[name]) == stable(batch.rows[f"{name}-again"])


# -- across the batch ------------------------------------------------------------------------------
def test_every_submission_has_exactly_one_row_and_nothing_else_was_written(batch: Batch) -> None:
    students = sorted([*BY_NAME, *(f"{name}-again" for name in TWICE)])
    assert sorted(batch.rows) == students
    assert sorted(row["student_id"] for row in batch.csv_rows) == students
    for row in batch.csv_rows:
        graded = batch.rows[row["student_id"]]
        assert (float(row["score"]), row["status"]) == (graded["score"], graded["extra_data"]["status"])
    written = sorted(path.relative_to(batch.out) for path in batch.out.rglob("*") if path.is_file())
    expected = [Path("grades.csv")] + [
        Path("results", row["extra_data"]["assignment"], f"{student}.json") for student, row in batch.rows.items()
    ]
    assert written == sorted(expected)  # no forged results file, no second grades.csv, no half-written row
    assert all(row["execution_time"] < LIMITS.submission_timeout for row in batch.rows.values())


def _hidden_test_text() -> set[str]:
    """The hidden tests' helper names and every distinctive line of them that the visible tests lack."""
    visible = "\n".join(path.read_text() for path in (HIDDEN_TESTS.parent / "checks").glob("*.py"))
    text: set[str] = set()
    for path in HIDDEN_TESTS.glob("*.py"):
        source = path.read_text()
        names = re.findall(r"^(?:async )?def (\w+)", source, re.M)
        text |= {name for name in names if name not in visible and not name.startswith("test_")}
        lines = {line.strip() for line in source.splitlines() if len(line.strip()) >= 20}
        text |= {line for line in lines if line not in visible and not re.match(r"(async )?def test_", line)}
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_no_row_shows_anything_of_the_hidden_tests(batch: Batch) -> None:
    secrets = _hidden_test_text()
    assert set(PROBE_NAMES) <= secrets and len(secrets) > 20
    leaks = {
        (student, secret)
        for student, row in batch.rows.items()
        for text in _strings(row)
        for secret in secrets
        if secret in text
    }
    assert leaks == set()
    # The spy did see the hidden probes and sent them back: what reached its row is blanked out.
    spied = {t["extra_data"]["nodeid"]: t["output"] for t in batch.rows["exfiltrate_probes"]["tests"]}
    assert "[hidden]" in spied["test_call_health_really_calls_app"]
    assert "greet_yields_to_loop" in spied["test_call_health"]  # a visible probe: public, left as it is


def test_rows_stay_small_whatever_the_learner_prints_or_returns(batch: Batch) -> None:
    for student, row in batch.rows.items():
        path = batch.out / "results" / row["extra_data"]["assignment"] / f"{student}.json"
        assert path.stat().st_size < 64 * 1024, student
    for test in batch.rows["huge_text"]["tests"]:
        assert len(test["output"]) < 2 * MAX_MESSAGE_CHARS + 200, test["name"]
    cell = next(c for c in batch.rows["huge_text"]["extra_data"]["cells"] if c["grade_id"] == "rt-raise")
    assert cell["error"]["message"] == "C" * 500


def test_no_learner_process_outlives_the_batch(batch: Batch) -> None:
    """setsid() grandchildren, new-session subprocesses and forked children, all marked: none survives.
    (Marks, not uids: other batches on this machine may be using the same slot uids right now.)"""
    listing = subprocess.run(["ps", "-eo", "uid=,pid=,args="], capture_output=True, text=True, check=True).stdout
    leftovers = [line for line in listing.splitlines() if any(mark in line for mark in SLEEPER_MARKS)]
    assert leftovers == []


def test_nothing_was_planted_or_forged_outside_the_sandbox(batch: Batch, course: Course) -> None:
    for path in (
        Path("/tmp/redteam-forged-results.json"),
        Path("/tmp/grades.csv"),
        ROOT / "results.json",
        ROOT / "grader" / "conftest.py",
        ROOT / "grader" / "sitecustomize.py",
        course.root / "conftest.py",
        course.chapter(CHAPTER).visible_tests / "conftest.py",
        course.chapter(CHAPTER).visible_tests / "pytest.ini",
    ):
        assert not path.exists(), path


# -- a batch killed and started again ----------------------------------------------------------------
RESUMED = ("solution", "stub", "hardcoded_visible", "tampered_cells", "fake_metadata", "gc_walk")


def test_a_batch_killed_with_sigkill_resumes_without_grading_anything_twice(course: Course, tmp_path: Path) -> None:
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    context = Context(out=out, course=course.root, submissions=submissions)
    for name in RESUMED:
        write_case(BY_NAME[name], context)
    command = [
        str(VENV_BIN / "grader"),
        *("grade", str(submissions), "--out", str(out), "--course", str(course.root), "--isolation", "required"),
        *("--jobs", str(JOBS), "--cell-timeout", "5", "--timeout", "60"),
    ]
    first = subprocess.Popen(
        command, cwd=tmp_path, env=tool_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while first.poll() is None and time.monotonic() < deadline and not list(out.glob("results/*/*.json")):
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = {path.name: (path.stat().st_mtime_ns, path.read_text()) for path in out.glob("results/*/*.json")}
    assert 1 <= len(before) < len(RESUMED), "the first run must be killed with rows written and rows missing"

    second = subprocess.run(command, cwd=tmp_path, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, tail(second)
    grades = read_grade_folder(out)
    assert sorted(row["extra_data"]["student_id"] for row in grades.results) == sorted(RESUMED)
    assert sorted(row["student_id"] for row in grades.csv_rows) == sorted(RESUMED)
    for path in out.glob("results/*/*.json"):
        if path.name in before:  # written by the killed run: kept as it was, not graded again
            assert (path.stat().st_mtime_ns, path.read_text()) == before[path.name], path.name
    for row in grades.results:
        expected = BY_NAME[row["extra_data"]["student_id"]].expected
        assert (row["extra_data"]["status"], row["score"]) == (expected.status, expected.score)


# -- fifty gradings of one submission ---------------------------------------------------------------
def test_fifty_gradings_of_the_solution_agree_with_the_batch(batch: Batch, course: Course, tmp_path: Path) -> None:
    """The full pipeline graded the solution once in the batch; its tests now run 50 more times against one
    learner process, and every run must give exactly the batch's test results."""
    expected = batch.rows["solution"]["tests"]
    chapter = course.chapter(CHAPTER)
    notebook = load(batch.submissions / "solution.ipynb")
    cells = extract(restore(notebook, load(chapter.notebook)))
    isolation = _isolation(batch.submissions, batch.out)
    with SandboxSession(cells, tmp_path / "scratch", LIMITS, isolation) as session:
        assert all(run.ok for run in session.start())
        backend = SandboxBackend(session)
        for attempt in range(50):
            outcomes = run_tests(chapter, backend, hidden_tests=chapter.hidden_tests, capture="sys")
            results = [json.loads(to_test_result(i, o).model_dump_json()) for i, o in enumerate(outcomes, start=1)]
            assert results == expected, f"run {attempt + 1} differs"
        assert session.restarts == 0
