"""notebooks/ is exactly what nbgrader generates from solutions/ (the committed release is never stale)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import ROOT, VENV_BIN, copy_course, run, tail

from grader.course import Course

JUNK = {"__pycache__", ".ipynb_checkpoints"}
FIX = "run `uv run grader release` and commit solutions/ and notebooks/"


def _files(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and not JUNK.intersection(p.relative_to(root).parts) and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A copy of the course (solutions/ only) on which `grader release` built and released every chapter."""
    root = tmp_path_factory.mktemp("release")
    copy_course(root)
    return root, run([VENV_BIN / "grader", "release", "--course", root], cwd=root, timeout=600)


def test_grader_release_succeeds(regenerated, chapter_id: str):
    root, completed = regenerated
    assert completed.returncode == 0, tail(completed)
    assert (root / "notebooks" / chapter_id / f"{chapter_id}.ipynb").is_file()


def _differences(expected_root: Path, committed_root: Path, label: str) -> list[str]:
    expected, committed = _files(expected_root), _files(committed_root)
    problems = [f"missing from {label}/: {name}" for name in sorted(set(expected) - set(committed))]
    problems += [f"in {label}/ but not generated: {name}" for name in sorted(set(committed) - set(expected))]
    problems += [
        f"differs from what `grader release` writes: {label}/{name}"
        for name in sorted(set(expected) & set(committed))
        if expected[name].read_bytes() != committed[name].read_bytes()
    ]
    return problems


def test_committed_release_matches_nbgrader_output(regenerated, course: Course):
    root, _ = regenerated
    problems = _differences(root / "notebooks", course.release, "notebooks")
    assert not problems, "notebooks/ is out of sync with solutions/; " + FIX + ":\n  " + "\n  ".join(problems)


def test_rebuilding_and_releasing_an_unchanged_course_changes_no_source(regenerated, course: Course):
    """The build is a fixed point: the committed .ipynb, carried cells and generated files are what it writes."""
    root, _ = regenerated
    problems = _differences(root / "solutions", course.source, "solutions")
    assert not problems, "solutions/ is not what its .md sources build; " + FIX + ":\n  " + "\n  ".join(problems)


def test_hidden_tests_are_never_released(course: Course):
    released = [p.relative_to(ROOT).as_posix() for p in course.release.rglob("*") if p.name == "hidden_tests"]
    assert released == [], "hidden tests must stay in solutions/"
    hidden_names = {p.name for chapter in course.chapters() for p in chapter.hidden_tests.glob("*.py")}
    leaked = [p.relative_to(ROOT).as_posix() for p in course.release.rglob("*.py") if p.name in hidden_names]
    assert leaked == [], "hidden test files were released"


def test_chapter_sources_are_never_released(course: Course):
    """The .md source of a chapter holds its answers: nbgrader must not copy it into notebooks/."""
    released = [p.relative_to(ROOT).as_posix() for p in course.release.rglob("*.md")]
    assert released == [], "chapter sources were released"


def test_released_notebooks_hold_no_solution_or_hidden_block(course: Course, chapter_id: str):
    text = (course.release / chapter_id / f"{chapter_id}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{marker!r} in the released notebook; {FIX}"
