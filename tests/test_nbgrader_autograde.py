"""Stock nbgrader, unchanged: generate_assignment + autograde in a copy of the course.

alice submits the solution notebook (full marks), bob the released one (zero). The kernel runs in
autograded/STUDENT/CHAPTER, and the test cells' `check(..., hidden=True)` find the hidden tests by
walking up to nbgrader_config.py.

A stock autograde costs about 30 s per chapter (two nbgrader starts, a database, two kernels), so it
runs for the first chapter and the newest one (the most complex), each in its own course copy, two at
a time. Every chapter is still graded by `grader grade` and executed in a kernel by other tests.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry
from support import ROOT, VENV_BIN, chapter_ids, copy_course, run, tail

STUDENTS = {"alice": "solutions", "bob": "notebooks"}  # who submits which version of the notebook


def autograde_chapters() -> list[str]:
    ids = chapter_ids()
    return list(dict.fromkeys([ids[0], ids[-1]])) if ids else []


@dataclass
class Autograded:
    root: Path
    generate: subprocess.CompletedProcess[str]
    autograde: subprocess.CompletedProcess[str] | None = None
    scores: dict[str, tuple[float, float]] | None = None  # student -> (score, max_score)
    cells: dict[str, dict[str, tuple[float, float]]] | None = None  # student -> grade cell -> (score, max)


def autograde(root: Path, chapter_id: str) -> Autograded:
    """Release, submit for alice and bob, autograde, and read the gradebook, in a fresh course copy."""
    copy_course(root)
    nbgrader = VENV_BIN / "nbgrader"
    result = Autograded(root, run([nbgrader, "generate_assignment", chapter_id, "--force"], cwd=root))
    if result.generate.returncode != 0:
        return result
    name = f"{chapter_id}.ipynb"
    for student, folder in STUDENTS.items():
        target = root / "submitted" / student / chapter_id
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / folder / chapter_id / name, target / name)
    result.autograde = run([nbgrader, "autograde", chapter_id, "--force"], cwd=root, timeout=900)
    result.scores, result.cells = {}, {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            try:
                submission = gradebook.find_submission(chapter_id, student)
            except MissingEntry:  # autograde never recorded it; the test says so
                continue
            result.scores[student] = (submission.score, submission.max_score)
            result.cells[student] = {
                grade.name: (grade.score, grade.max_score) for nb in submission.notebooks for grade in nb.grades
            }
    return result


@pytest.fixture(scope="module")
def autograded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Autograded]:
    chapters = autograde_chapters()
    roots = [tmp_path_factory.mktemp(f"nbgrader-{chapter}") for chapter in chapters]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(chapters, pool.map(autograde, roots, chapters), strict=True))


@pytest.mark.parametrize("chapter", autograde_chapters())
def test_stock_autograde_scores_solution_full_and_release_zero(autograded: dict[str, Autograded], chapter: str):
    graded = autograded[chapter]
    assert graded.generate.returncode == 0, tail(graded.generate)
    assert graded.autograde is not None
    assert graded.autograde.returncode == 0, tail(graded.autograde)
    assert graded.scores is not None and graded.cells is not None
    assert set(graded.scores) == set(STUDENTS), tail(graded.autograde)
    alice_score, alice_max = graded.scores["alice"]
    bob_score, bob_max = graded.scores["bob"]
    assert alice_max > 0
    assert alice_score == alice_max, f"solution cells short of full marks: {graded.cells['alice']}"
    assert bob_max == alice_max
    assert bob_score == 0, f"released notebook cells with points: {graded.cells['bob']}"


@pytest.mark.parametrize("chapter", autograde_chapters())
def test_autograde_never_copies_hidden_tests(autograded: dict[str, Autograded], chapter: str):
    root = autograded[chapter].root
    assert (root / "autograded").is_dir()
    assert list((root / "autograded").rglob("hidden_tests")) == []
    assert list((root / "notebooks").rglob("hidden_tests")) == []


def test_nbgrader_validate_names_the_failed_checks(tmp_path: Path):
    """`nbgrader validate` shows a check cell's exception and not its printed table: the exception's text
    lists the failed checks itself instead of pointing at a table the learner cannot see there."""
    shutil.copytree(ROOT / "notebooks" / "00-orientation", tmp_path / "00-orientation")
    completed = run([VENV_BIN / "nbgrader", "validate", "00-orientation.ipynb"], cwd=tmp_path / "00-orientation")
    out = completed.stdout + completed.stderr
    assert "ChecksFailed: 2 of 2 checks failed:" in out, tail(completed)
    assert '- GET /health answers 200 {"status": "ok"}' in out, tail(completed)
    assert "see the table above" not in out
