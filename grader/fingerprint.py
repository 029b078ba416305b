"""What a row was graded with, as hashes: a row is reused by a resumed run only while both still match.

The chapter's fingerprint covers its source notebook (locked cells, points) and every file of its visible
and hidden tests; the grader's covers its version and its own code and templates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import grader
from grader.course import Course
from grader.errors import CourseError

SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not any(part in SKIPPED for part in p.relative_to(folder).parts)
    )


def _digest(base: Path, files: Iterable[Path], salt: str = "") -> str:
    sha = hashlib.sha256(salt.encode())
    for path in files:
        sha.update(str(path.relative_to(base)).encode() + b"\0")
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


@cache
def _chapter_fingerprint(root: Path, chapter_id: str) -> str:
    chapter = Course.at(root).chapter(chapter_id)
    files = [chapter.notebook, *_files(chapter.visible_tests), *_files(chapter.hidden_tests)]
    return _digest(chapter.directory, files)


def checks_fingerprint(course: Course, chapter_id: str | None) -> str:
    """The hash of what grades ``chapter_id`` in ``course``; empty for a notebook of no known chapter."""
    if chapter_id is None:
        return ""
    try:
        return _chapter_fingerprint(course.root, chapter_id)
    except CourseError:
        return ""


@cache
def grader_fingerprint() -> str:
    from grader.grade import grader_version

    package = Path(grader.__file__).resolve().parent
    return _digest(package, _files(package), salt=grader_version())
