"""``grader release``: regenerate the learner notebooks from ``solutions/`` through nbgrader."""

from __future__ import annotations

import subprocess
import sys

from grader.course import Course
from grader.errors import CourseError


def release(course: Course, chapters: list[str] | None = None) -> list[str]:
    """Run ``nbgrader generate_assignment`` for each chapter; returns the chapters released."""
    selected = chapters or course.chapter_ids
    for chapter_id in selected:
        course.chapter(chapter_id)  # unknown chapters fail before nbgrader runs
        completed = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", chapter_id, "--force", "--no-db"],
            cwd=course.root,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise CourseError(f"nbgrader could not release {chapter_id}:\n{completed.stderr.strip()[-2000:]}")
    return selected
