"""Stage 0, discover: find the submissions and settle, once, whose each is and which chapter it is.

Every id found here becomes part of a path under ``--out`` and a row of ``grades.csv``, and every one of
them can be chosen by a learner (a file name, a folder name, the notebook's metadata). So:

- the chapter is the instructor's ``--assignment``, else the nbgrader folder
  (``submitted/STUDENT/CHAPTER/``), else the notebook's metadata, else the file or folder name; the first
  of those that is one of the course's chapters wins, and a notebook with none is an error row that says
  what it claimed;
- a student id is kept when it is a safe file name (``SAFE_ID``), else replaced by a readable slug and a
  hash of the claim, and the row says so;
- only regular files are read (no symlink, FIFO or device), and no more than the size cap.

Nothing that goes wrong with one file raises: it becomes that file's error row.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from grader.course import Course
from grader.errors import GradingError
from grader.models import Submission
from grader.pipeline.load import MAX_NOTEBOOK_BYTES, chapter_in, read_regular, shown

SUBMITTED = "submitted"
UNKNOWN_CHAPTER = "unknown"
# Letters and digits of any script, then also . _ - @ + (e-mail-like JupyterHub names); never a leading
# dot, dash or formula sign, never a separator or control character.
SAFE_ID = re.compile(r"[^\W_][\w.@+-]*")
MAX_ID_CHARS = 64
# A file name is at most 255 bytes; an id must leave room for ".json" and a temporary name's affixes.
MAX_ID_BYTES = 200


def is_safe_id(text: str) -> bool:
    return (
        len(text) <= MAX_ID_CHARS
        and len(text.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES
        and SAFE_ID.fullmatch(text) is not None
    )


def is_folder_name(text: str) -> bool:
    """An nbgrader student folder's name as it may be kept: nbgrader already uses it as a path component,
    and hashing it would make the gradebook see a student it does not know."""
    return (
        text.isprintable()
        and not text.startswith((".", "-"))
        and "/" not in text
        and len(text.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES
    )


def safe_id(claim: str) -> str:
    """``claim`` itself if it is a safe file name, else a slug of it and a hash of all of it (two claims
    that differ only in what the slug drops still get two ids)."""
    claim = unicodedata.normalize("NFC", claim)  # macOS writes names decomposed: one student, one id
    if is_safe_id(claim):
        return claim
    slug = re.sub(r"[^\w.@+-]+", "_", claim)[:40].strip("._-@+") or "student"
    digest = hashlib.sha256(claim.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}-{digest}"


class Claims(BaseModel):
    """Where a notebook's identity could come from, most trusted first."""

    assignment: str | None = None
    nbgrader_student: str | None = None
    nbgrader_chapter: str | None = None
    metadata_chapter: str | None = None
    student: str | None = None
    stem: str = ""
    folder: str = ""

    def chapters(self) -> list[str]:
        found = [self.nbgrader_chapter, self.metadata_chapter, self.stem, self.folder]
        return [c for c in ([self.assignment] if self.assignment else found) if c]


def notebooks(root: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``root`` that is not a directory, symlinks and FIFOs included (they get an
    error row, not silence); symlinked folders are not followed, checkpoints are skipped."""
    if not root.is_dir():
        return [root]
    found: list[Path] = []

    def unreadable(error: OSError) -> None:  # a folder that cannot be listed: its path gets the error row
        found.append(Path(error.filename or root))

    for folder, folders, files in os.walk(root, onerror=unreadable, followlinks=False):
        linked = [name for name in folders if name.endswith(".ipynb") and Path(folder, name).is_symlink()]
        folders[:] = sorted(f for f in folders if f != ".ipynb_checkpoints" and f not in linked)
        found += [Path(folder, name) for name in sorted([*files, *linked]) if name.endswith(".ipynb")]
    return found


def _nbgrader_identity(path: Path) -> tuple[str, str] | None:
    """(student, assignment) from ``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``."""
    parts = path.absolute().parts
    if len(parts) >= 4 and parts[-4] == SUBMITTED:
        return parts[-3], parts[-2]
    return None


def _claims(path: Path, metadata_chapter: str | None, assignment: str | None, student: str | None) -> Claims:
    nbgrader = _nbgrader_identity(path)
    return Claims(
        assignment=assignment,
        nbgrader_student=nbgrader[0] if nbgrader else None,
        nbgrader_chapter=nbgrader[1] if nbgrader else None,
        metadata_chapter=metadata_chapter,
        student=student,
        stem=path.stem,
        folder=path.parent.name,
    )


def _chapter(claims: Claims, course: Course) -> str | None:
    return next((c for c in claims.chapters() if c in course.chapter_ids), None)


def _unknown_chapter(path: Path, claims: Claims, course: Course) -> str:
    named = [c for c in (claims.assignment, claims.nbgrader_chapter, claims.metadata_chapter) if c]
    known = ", ".join(course.chapter_ids) or "none"
    if named:
        return (
            f"{shown(path.name)}: names chapter {' / '.join(shown(c) for c in named)}, which is not one of this "
            f"course's ({known}); grade it with --assignment CHAPTER"
        )
    return (
        f"{shown(path.name)}: cannot tell which chapter this notebook is (its metadata lost the chapter); "
        "grade it with --assignment CHAPTER"
    )


def identify(path: Path, course: Course, assignment: str | None = None, student: str | None = None) -> Submission:
    """One notebook's identity; a file that cannot be read or named is a submission with an ``error``."""
    error = damage = None
    metadata_chapter = None
    digest = ""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # a zip made elsewhere (cp1252 "José.ipynb"): nothing could write its row
        error = f"{shown(path.name)}: the file name is not valid UTF-8; rename it"
    try:
        if error is not None:
            raise GradingError(error)
        content = read_regular(path, MAX_NOTEBOOK_BYTES)
        digest = hashlib.sha256(content).hexdigest()
        metadata_chapter = chapter_in(content)
    except GradingError as exc:
        error = str(exc)
    except ValueError as exc:  # graded as a damaged notebook if the instructor or its folder names the chapter
        damage = f"{shown(path.name)}: not a notebook, {exc}"
    claims = _claims(path, metadata_chapter, assignment, student)
    claimed_student = claims.nbgrader_student or claims.student or claims.stem
    chapter = _chapter(claims, course)
    if error is None and chapter is None:
        error = damage or _unknown_chapter(path, claims, course)
    kept = claims.nbgrader_student is not None and is_folder_name(claimed_student)
    student_id = claimed_student if kept else safe_id(claimed_student)
    note = "" if student_id == claimed_student else f"student id {shown(claimed_student)} is not a safe file name"
    return Submission(
        path=path, student_id=student_id, assignment=chapter, sha256=digest, error=error, identity_note=note
    )


def discover(
    paths: Iterable[Path], course: Course, assignment: str | None = None, student: str | None = None
) -> list[Submission]:
    """Every notebook under ``paths`` (a course root: its ``submitted/``), each with a distinct identity."""
    submissions: list[Submission] = []
    taken: set[tuple[str, str | None]] = set()
    for root in paths:
        for path in notebooks(root / SUBMITTED if (root / SUBMITTED).is_dir() else root):
            submission = identify(path, course, assignment, student)
            submission.student_id = _free_id(submission.student_id, submission.assignment, taken)
            submissions.append(submission)
    return submissions


def _free_id(student_id: str, chapter: str | None, taken: set[tuple[str, str | None]]) -> str:
    """``student_id``, or ``student_id-N`` with the first N no other notebook of the chapter has (two
    notebooks with one identity must still get a row each; case-folded, for case-insensitive disks)."""
    candidate, n = student_id, 1
    while (candidate.casefold(), chapter) in taken:
        n += 1
        candidate = f"{student_id}-{n}"
    taken.add((candidate.casefold(), chapter))
    return candidate
