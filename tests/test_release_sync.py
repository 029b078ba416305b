"""notebooks/ is exactly what nbgrader generates from solutions/ (the committed release is never stale)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import ROOT, VENV_BIN, copy_course, run, tail

from grader.course import Course

JUNK = {"__pycache__", ".ipynb_checkpoints"}
FIX = "run `uv run grader release` and commit notebooks/"


def _files(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and not JUNK.intersection(p.relative_to(root).parts) and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    """A copy of the course with every chapter released the way `grader release` does it (two at a time)."""
    root = tmp_path_factory.mktemp("release")
    copy_course(root)
    chapters = Course.at(root).chapter_ids

    def release(chapter_id: str) -> subprocess.CompletedProcess[str]:
        return run([VENV_BIN / "nbgrader", "generate_assignment", chapter_id, "--force", "--no-db"], cwd=root)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return root, dict(zip(chapters, pool.map(release, chapters), strict=True))


def test_nbgrader_releases_chapter(regenerated, chapter_id: str):
    root, runs = regenerated
    completed = runs[chapter_id]
    assert completed.returncode == 0, tail(completed)
    assert (root / "notebooks" / chapter_id / f"{chapter_id}.ipynb").is_file()


def test_committed_release_matches_nbgrader_output(regenerated, course: Course):
    root, _ = regenerated
    expected = _files(root / "notebooks")
    committed = _files(course.release)
    missing = sorted(set(expected) - set(committed))
    extra = sorted(set(committed) - set(expected))
    differ = sorted(
        name for name in set(expected) & set(committed) if expected[name].read_bytes() != committed[name].read_bytes()
    )
    problems = [f"missing from notebooks/: {name}" for name in missing]
    problems += [f"in notebooks/ but not generated from solutions/: {name}" for name in extra]
    problems += [f"differs from what nbgrader generates: notebooks/{name}" for name in differ]
    assert not problems, "notebooks/ is out of sync with solutions/; " + FIX + ":\n  " + "\n  ".join(problems)


def test_hidden_tests_are_never_released(course: Course):
    released = [p.relative_to(ROOT).as_posix() for p in course.release.rglob("*") if p.name == "hidden_tests"]
    assert released == [], "hidden tests must stay in solutions/"
    hidden_names = {p.name for chapter in course.chapters() for p in chapter.hidden_tests.glob("*.py")}
    leaked = [p.relative_to(ROOT).as_posix() for p in course.release.rglob("*.py") if p.name in hidden_names]
    assert leaked == [], "hidden test files were released"


def test_released_notebooks_hold_no_solution_or_hidden_block(course: Course, chapter_id: str):
    text = (course.release / chapter_id / f"{chapter_id}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{marker!r} in the released notebook; {FIX}"
