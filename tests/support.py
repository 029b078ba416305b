"""Helpers for the project's tests: where things are, how to run the venv's tools, how to read grades."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.batch import grade_batch
from grader.course import Course
from grader.models import Status, Submission, SubmissionResult, TestResult
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CSV_COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "message"]
CSV_COLUMNS += ["raw_score", "late_penalty", "seconds_late", "submitted_at", "due_date"]  # late work, after those
# Gradescope's autograder specification: the top-level keys it reads.
GRADESCOPE_KEYS = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests"}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


def chapter_ids() -> list[str]:
    """The chapters in solutions/ at collection time (others may be adding chapters right now)."""
    return Course.at(ROOT).chapter_ids


def tool_env() -> dict[str, str]:
    """This environment with the venv's bin first on PATH (nbgrader runs `alembic`, kernels run `python`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return env


def run(
    command: list[str | Path], cwd: Path, timeout: float = 300, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool; the returned object carries stdout/stderr for assertion messages."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**tool_env(), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def tail(completed: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    text = (completed.stdout or "") + "\n" + (completed.stderr or "")
    return "\n".join(text.strip().splitlines()[-lines:])


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in {"__pycache__", ".ipynb_checkpoints"} or n.endswith(".pyc")}


def copy_course(target: Path) -> None:
    """nbgrader_config.py and solutions/ of this repository into ``target`` (an empty course root)."""
    course = Course.at(ROOT)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(course.source, target / course.source_directory, ignore=_ignore)


def grade_cli(paths: list[Path], out: Path, *options: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``grader grade PATH... --out OUT`` through the installed console script."""
    return run(
        [VENV_BIN / "grader", "grade", *paths, "--out", out, "--course", ROOT, *options], cwd=ROOT, timeout=timeout
    )


@dataclass
class GradeFolder:
    out: Path
    results: list[dict[str, Any]]
    csv_header: list[str]
    csv_rows: list[dict[str, str]]

    def by_notebook(self) -> dict[Path, dict[str, Any]]:
        return {Path(r["extra_data"]["notebook"]).resolve(): r for r in self.results}


def read_grade_folder(out: Path) -> GradeFolder:
    results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "results").glob("*/*.json"))]
    header: list[str] = []
    rows: list[dict[str, str]] = []
    if (out / "grades.csv").is_file():
        with (out / "grades.csv").open(newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            header = next(reader, [])
            rows = [dict(zip(header, row, strict=True)) for row in reader]
    return GradeFolder(out=out, results=results, csv_header=header, csv_rows=rows)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def gradescope_problems(result: dict[str, Any]) -> list[str]:
    """What in a results JSON breaks Gradescope's ``results.json`` schema (plus our extras); empty if none."""
    problems = []
    for key in ("score", "max_score", "execution_time"):
        if not _number(result.get(key)):
            problems.append(f"{key} is {result.get(key)!r}, expected a number")
    if not isinstance(result.get("tests"), list):
        problems.append("tests is not a list")
    if not isinstance(result.get("extra_data"), dict):
        problems.append("extra_data is not an object")
    if result.get("visibility", "visible") not in VISIBILITIES:
        problems.append(f"top-level visibility {result.get('visibility')!r}")
    for i, test in enumerate(result.get("tests") or []):
        for key in ("name", "score", "max_score", "status", "output", "visibility"):
            if key not in test:
                problems.append(f"tests[{i}] has no {key}")
        if not isinstance(test.get("name"), str) or not test.get("name"):
            problems.append(f"tests[{i}].name is {test.get('name')!r}")
        if not (_number(test.get("score")) and _number(test.get("max_score"))):
            problems.append(f"tests[{i}] score/max_score are not numbers")
        elif not 0 <= test["score"] <= test["max_score"]:
            problems.append(f"tests[{i}] score {test['score']} outside 0..{test['max_score']}")
        if test.get("status") not in ("passed", "failed"):
            problems.append(f"tests[{i}].status is {test.get('status')!r}")
        if not isinstance(test.get("output"), str):
            problems.append(f"tests[{i}].output is not a string")
        if test.get("visibility") not in VISIBILITIES:
            problems.append(f"tests[{i}].visibility is {test.get('visibility')!r}")
    extra = result.get("extra_data") or {}
    for key in ("student_id", "assignment", "status", "message"):
        if key not in extra:
            problems.append(f"extra_data has no {key}")
    if extra.get("status") not in ("graded", "error"):
        problems.append(f"extra_data.status is {extra.get('status')!r}")
    if result.get("tests") and _number(result.get("score")):
        total = sum(t.get("score", 0) for t in result["tests"])
        if abs(total - result["score"]) > 1e-6:
            problems.append(f"score {result['score']} is not the sum of the tests' scores {total}")
    return problems


def solution_with_cells_replaced(chapter: str, replacements: dict[str, str], path: Path) -> Path:
    """The chapter's solution notebook with some cells (by grade_id) replaced, written to ``path``:
    a submission that makes exactly one known mistake."""
    notebook = nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    for grade_id, source in replacements.items():
        cells = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
        assert len(cells) == 1, f"the solution notebook has no single cell {grade_id}"
        cells[0].source = source.strip()
    nbformat.write(notebook, path)
    return path


VARIANTS_CASE = "valid variants"  # a solution written differently but correctly: it must get full marks


def graded_mistakes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    chapter: str,
    cases: dict[str, dict[str, str]],
    variants: dict[str, str] | None = None,
) -> dict[str, SubmissionResult]:
    """The rows of the cases (name -> {grade_id: mistaken source}) that this session runs from the requesting
    module (tests parametrized with ``case``), and of the ``variants`` when ``test_valid_variants_get_full_marks``
    runs, graded as one warm batch of two jobs, as a class would be. Keyed by case."""
    selected: dict[str, dict[str, str]] = {}
    for item in request.session.items:
        if item.module is not request.module:
            continue
        if hasattr(item, "callspec") and "case" in item.callspec.params:
            selected[item.callspec.params["case"]] = cases[item.callspec.params["case"]]
        elif item.name == "test_valid_variants_get_full_marks" and variants is not None:
            selected[VARIANTS_CASE] = variants
    folder = tmp_path_factory.mktemp(f"mistakes-{chapter}")
    out = tmp_path_factory.mktemp(f"grades-{chapter}")
    submissions = []
    names = {}  # a case's name is prose ("500 served as application/json"), not a file name: rows use case00...
    for index, (case, replacements) in enumerate(selected.items()):
        path = solution_with_cells_replaced(chapter, replacements, folder / f"case{index:02d}.ipynb")
        submissions.append(Submission(path=path, student_id=path.stem, assignment=chapter))
        names[path.stem] = case
    isolation = Isolation(hide=[folder, out])
    results = grade_batch(submissions, Course.at(ROOT), out, Limits(), jobs=2, isolation=isolation)
    return {names[result.extra_data.student_id]: result for result in results}


def _by_name(result: SubmissionResult) -> dict[str, TestResult]:
    outcomes = {test.extra_data["nodeid"].rsplit("::", 1)[-1]: test for test in result.tests}
    assert len(outcomes) == len(result.tests), "two checks share a name"
    return outcomes


def assert_diagnosed(
    result: SubmissionResult, cells: dict[str, str], failing: tuple[str, ...], messages: dict[str, tuple[str, ...]]
) -> None:
    """Exactly the ``failing`` checks (by test name) failed, each check in ``messages`` saying every fragment
    given for it, and the mistaken cells themselves ran."""
    assert result.extra_data.status == Status.GRADED, result.extra_data.message
    replaced = [cell for cell in result.extra_data.cells if cell.grade_id in cells]
    assert len(replaced) == len(cells) and all(cell.ok for cell in replaced), (
        f"the mistaken code itself must run: {replaced}"
    )
    outcomes = _by_name(result)
    assert set(failing) <= set(outcomes), "a test named in this case no longer exists"
    failed = {name for name, test in outcomes.items() if test.status == "failed"}
    report = "\n".join(f"{name}: {outcomes[name].output}" for name in sorted(failed))
    assert failed == set(failing), f"expected exactly {sorted(failing)} to fail, got:\n{report}"
    for name, fragments in messages.items():
        # What the learner is told: at the first failure, and the hint's key line at the next one.
        explanation = outcomes[name].output + "\nKey line: " + str(outcomes[name].extra_data.get("answer") or "")
        for fragment in fragments:
            assert fragment in explanation, f"{name} should say {fragment!r}, said:\n{explanation}"


def failed_outputs(result: SubmissionResult) -> dict[str, str]:
    """A graded row's failed checks, by test name, with what each told the learner."""
    assert result.extra_data.status == Status.GRADED, result.extra_data.message
    return {
        test.extra_data["nodeid"].rsplit("::", 1)[-1]: test.output for test in result.tests if test.status == "failed"
    }


def assert_full_marks(result: SubmissionResult) -> None:
    """A correct solution written differently: every cell ran and every check passed."""
    assert result.extra_data.status == Status.GRADED, result.extra_data.message
    broken = [cell for cell in result.extra_data.cells if not cell.ok]
    assert not broken, f"the variants must run: {broken}"
    failed = [f"{name}: {test.output}" for name, test in _by_name(result).items() if test.status != "passed"]
    assert not failed, "checks failed a correct answer written differently:\n" + "\n".join(failed)
    assert result.score == result.max_score


def solution_cell(chapter: str, grade_id: str) -> str:
    """The source of cell ``grade_id`` in the chapter's reference notebook."""
    notebook = nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source


def edited_cell(chapter: str, grade_id: str, *changes: tuple[str, str]) -> str:
    """The reference cell ``grade_id`` with each (old, new) replaced; every ``old`` must be there once."""
    source = solution_cell(chapter, grade_id)
    for old, new in changes:
        assert source.count(old) == 1, f"{grade_id} no longer contains exactly one {old!r}"
        source = source.replace(old, new)
    return source


def _writable_visible_folder() -> Path | None:
    """A folder the sandbox does not hide by default (unlike /tmp, /home, /root and the grader's checkout)."""
    for candidate in (Path("/srv"), Path("/opt"), Path("/mnt")):
        if candidate.is_dir() and os.access(candidate, os.W_OK):
            return candidate
    return None


@contextlib.contextmanager
def visible_course_copy(chapter: str) -> Iterator[Course]:
    """One chapter copied outside every folder the sandbox hides anyway, world-readable like a checkout:
    only the grader's own hiding of the course can keep the learner from reading the hidden tests."""
    root = Path(tempfile.mkdtemp(prefix="workbook-redteam-", dir=_writable_visible_folder()))
    try:
        os.chmod(root, 0o755)
        shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
        shutil.copytree(ROOT / "solutions" / chapter, root / "solutions" / chapter, ignore=ignore)
        yield Course.at(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
