"""``grader release``: build the source notebooks from the chapters' text, then release them through nbgrader.

One command for a course author: ``solutions/CH/CH.md`` is where a chapter is written; the build
(``grader.authoring.build``) writes ``solutions/CH/CH.ipynb`` with every carried cell filled from its
origin; nbgrader's ``generate_assignment`` writes ``notebooks/CH/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from grader.authoring import build
from grader.course import Course
from grader.errors import CourseError


class ReleaseCheck(BaseModel):
    """What ``grader release`` would change: files the build would rewrite."""

    stale: list[Path]

    @property
    def clean(self) -> bool:
        return not self.stale


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


def check(course: Course) -> ReleaseCheck:
    """The files a build would change, written nowhere: empty when the sources and notebooks agree."""
    return ReleaseCheck(stale=build.stale_files(build.build(course)))
