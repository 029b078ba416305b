"""``grader release``: build the source notebooks from the chapters' text, then release them through nbgrader.

One command for a course author: ``solutions/CH/CH.md`` is where a chapter is written; the build
(``grader.authoring.build``) writes ``solutions/CH/CH.ipynb`` with every carried cell filled from its
origin; nbgrader's ``generate_assignment`` writes ``notebooks/CH/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel

from grader.authoring import build
from grader.course import CONFIG_FILE, Course
from grader.errors import CourseError

JUNK = frozenset({"__pycache__", ".ipynb_checkpoints"})


class ReleaseCheck(BaseModel):
    """What ``grader release`` would change: files the build would rewrite, released files out of date."""

    stale: list[Path]
    unreleased: list[str] = []

    @property
    def clean(self) -> bool:
        return not self.stale and not self.unreleased


def _nbgrader_release(course: Course, chapter_id: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", chapter_id, "--force", "--no-db"],
        cwd=course.root,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise CourseError(f"nbgrader could not release {chapter_id}:\n{completed.stderr.strip()[-2000:]}")


def release(course: Course, chapters: list[str] | None = None) -> list[str]:
    """Build every chapter, then release the ones asked for and every one the build changed.

    Every chapter is built, not only those asked for: a fix in one chapter's reference code reaches
    the chapters that carry it, and they are released with it. A chapter with no ``.md`` source (a
    course written as notebooks only) is released as its notebook stands.
    """
    known = sorted(set(course.chapter_ids) | set(build.source_paths(course)))
    unknown = sorted(set(chapters or []) - set(known))
    if unknown:
        raise CourseError(f"unknown chapter {unknown[0]!r} (this course has: {', '.join(known) or 'none'})")
    changed = build.write(build.build(course))
    selected = [chapter_id for chapter_id in known if chapter_id in set(chapters or known) | set(changed)]
    for chapter_id in selected:
        _nbgrader_release(course, chapter_id)
    return selected


def _tree(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not JUNK.intersection(path.relative_to(root).parts) and path.suffix != ".pyc"
    }


def _unreleased(course: Course) -> list[str]:
    """What differs between ``notebooks/`` and a fresh release of ``solutions/`` (made in a scratch copy)."""
    with tempfile.TemporaryDirectory(prefix="release-check-") as scratch:
        copy = Path(scratch)
        shutil.copy2(course.root / CONFIG_FILE, copy / CONFIG_FILE)
        shutil.copytree(course.source, copy / course.source_directory, ignore=shutil.ignore_patterns(*JUNK, "*.pyc"))
        fresh = Course.at(copy)
        for chapter_id in fresh.chapter_ids:
            _nbgrader_release(fresh, chapter_id)
        expected, committed = _tree(fresh.release), _tree(course.release)
    label = course.release_directory
    problems = [f"missing: {label}/{name}" for name in sorted(set(expected) - set(committed))]
    problems += [
        f"not released from {course.source_directory}/: {label}/{name}"
        for name in sorted(set(committed) - set(expected))
    ]
    problems += [
        f"differs from a fresh release: {label}/{name}"
        for name in sorted(set(expected) & set(committed))
        if expected[name] != committed[name]
    ]
    return problems


def check(course: Course, released: bool = True) -> ReleaseCheck:
    """What ``grader release`` would change, written nowhere: the build's files and, unless
    ``released`` is false, the released notebooks (released afresh in a scratch copy and compared)."""
    stale = build.stale_files(build.build(course))
    if stale or not released:
        return ReleaseCheck(stale=stale)
    return ReleaseCheck(stale=stale, unreleased=_unreleased(course))
