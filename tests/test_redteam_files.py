"""Red team, files: hostile names, paths, metadata and file kinds in one batch, beside one honest notebook.

Each file below once aborted a whole batch, wrote outside ``--out`` or bought marks it had not earned:
a chapter id of ``../../x`` or an absolute path in the notebook's metadata, a NUL or 300 characters in
it, JSON nested 200,000 deep, a symlink to the instructor's solution, a FIFO named ``*.ipynb``, a
symlinked folder of solutions, a file name that is a spreadsheet formula. Now every file is exactly one
row (an error row where it cannot be graded), the honest notebook keeps its full marks, nothing is
written outside ``--out`` and ``grades.csv`` holds no formula.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redteam_cases import CHAPTER, MAX_SCORE, answered
from support import read_grade_folder, visible_course_copy

from grader import fingerprint
from grader.batch import already_graded, grade_batch
from grader.course import Course
from grader.models import SubmissionResult
from grader.pipeline.discover import discover, safe_id
from grader.pipeline.write import FORMULA_STARTS
from grader.sandbox.isolation import Isolation, IsolationMode
from grader.sandbox.limits import Limits

LIMITS = Limits(cell_timeout=5, request_timeout=3, submission_timeout=60, memory_mb=1024)
FORMULA_NAME = '=HYPERLINK("evil.example","ok")'
LONG_NAME = "n" * 249  # with ".ipynb", the longest name a Linux file system allows
SPACED_NAME = "José García (1)"
ESCAPE_MARK = "workbook-redteam-escape"


@dataclass(frozen=True)
class Row:
    status: str
    message: str  # a fragment of the row's message
    score: float = 0.0


def _with_chapter(chapter: object) -> str:
    notebook = answered()
    notebook.metadata["workbook"] = {"chapter": chapter}
    return json.dumps(notebook)


def plant(folder: Path, course: Course) -> dict[str, Row]:
    """Write every hostile file into ``folder``; the row each must get, by student id."""
    rows: dict[str, Row] = {}
    (folder / "honest.ipynb").write_text(_with_chapter(CHAPTER))
    rows["honest"] = Row("graded", "14 of 14 checks passed", MAX_SCORE)
    os.symlink(course.chapter(CHAPTER).notebook, folder / "link.ipynb")
    rows["link"] = Row("error", "a symbolic link; only regular notebook files are graded")
    os.mkfifo(folder / "pipe.ipynb")
    rows["pipe"] = Row("error", "a FIFO; only regular notebook files are graded")
    os.symlink(course.chapter(CHAPTER).directory, folder / "linked-folder")  # not followed: no row at all
    for student, chapter in (
        ("dotdot", f"../../{ESCAPE_MARK}"),
        ("absolute", f"/tmp/{ESCAPE_MARK}"),
        ("nul", f"{CHAPTER}\x00{ESCAPE_MARK}"),
        ("long", "c" * 300),
        ("formula", "=1+1"),
    ):
        (folder / f"{student}.ipynb").write_text(_with_chapter(chapter))
        rows[student] = Row("error", "which is not one of this course's")
    (folder / "deep.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    rows["deep"] = Row("error", "the JSON is nested too deeply")
    (folder / f"{FORMULA_NAME}.ipynb").write_text(_with_chapter(CHAPTER))
    rows[safe_id(FORMULA_NAME)] = Row("graded", "is not a safe file name", MAX_SCORE)
    (folder / f"{LONG_NAME}.ipynb").write_text(_with_chapter(CHAPTER))
    rows[safe_id(LONG_NAME)] = Row("graded", "is not a safe file name", MAX_SCORE)
    (folder / f"{SPACED_NAME}.ipynb").write_text(_with_chapter(CHAPTER))
    rows[safe_id(SPACED_NAME)] = Row("graded", "is not a safe file name", MAX_SCORE)
    with open(os.path.join(os.fsencode(folder), b"Jos\xe9.ipynb"), "w") as stream:  # a cp1252 name from a zip
        stream.write(_with_chapter(CHAPTER))
    rows[safe_id(os.fsdecode(b"Jos\xe9"))] = Row("error", "the file name is not valid UTF-8")
    for copy in ("twin", "twin-2"):  # "twin" twice more would be "twin-2" again: ids must stay distinct
        (folder / copy).mkdir()
        (folder / copy / "twin.ipynb").write_text(_with_chapter(CHAPTER))
    (folder / "twin-2.ipynb").write_text(_with_chapter(CHAPTER))
    rows |= {name: Row("graded", "14 of 14 checks passed", MAX_SCORE) for name in ("twin", "twin-2", "twin-3")}
    os.symlink(course.chapter(CHAPTER).directory, folder / "folder-link.ipynb")  # a link to a folder, so named
    rows["folder-link"] = Row("error", "a symbolic link; only regular notebook files are graded")
    return rows


def nbgrader_claims(root: Path) -> dict[str, Row]:
    """An nbgrader submission whose metadata names a path: the nbgrader folder wins."""
    notebook = root / "submitted" / "ada" / CHAPTER / f"{CHAPTER}.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(_with_chapter(f"../../../{ESCAPE_MARK}"))
    return {"ada": Row("graded", "14 of 14 checks passed", MAX_SCORE)}


@dataclass
class Batch:
    out: Path
    expected: dict[str, Row]
    rows: dict[str, dict[str, Any]]
    csv_text: str


@pytest.fixture(scope="module")
def course() -> Iterator[Course]:
    with visible_course_copy(CHAPTER) as copy:
        yield copy


@pytest.fixture(scope="module")
def batch(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    base = tmp_path_factory.mktemp("redteam-files")
    loose, classroom, out = base / "loose", base / "classroom", base / "deep" / "er" / "out"
    for folder in (loose, classroom, out):
        folder.mkdir(parents=True)
    expected = plant(loose, course) | nbgrader_claims(classroom)
    found = discover([loose, classroom], course)
    isolation = Isolation(mode=IsolationMode.REQUIRED, hide=[loose, classroom, out])
    grade_batch(found, course, out, LIMITS, jobs=2, isolation=isolation)
    rows = {row["extra_data"]["student_id"]: row for row in read_grade_folder(out).results}
    return Batch(out, expected, rows, (out / "grades.csv").read_text(encoding="utf-8"))


def test_every_file_has_exactly_its_row(batch: Batch) -> None:
    assert sorted(batch.rows) == sorted(batch.expected)
    for student, want in batch.expected.items():
        extra = batch.rows[student]["extra_data"]
        assert (extra["status"], batch.rows[student]["score"]) == (want.status, want.score), (student, extra["message"])
        assert want.message in extra["message"], (student, extra["message"])


def test_rows_name_only_course_chapters_and_safe_ids(batch: Batch, course: Course) -> None:
    for row in batch.rows.values():
        assert row["extra_data"]["assignment"] in [*course.chapter_ids, "unknown"]
    assert batch.rows["dotdot"]["extra_data"]["message"].count(ESCAPE_MARK) == 1  # the claim is shown, escaped


def test_nothing_is_written_outside_out(batch: Batch) -> None:
    base = batch.out.parent.parent.parent
    strays = [p for p in base.rglob("*") if ESCAPE_MARK in p.name or p.name.endswith((".json", ".html", ".csv"))]
    assert all(p.is_relative_to(batch.out) for p in strays), strays
    assert not Path(f"/tmp/{ESCAPE_MARK}").exists()
    written = {p.relative_to(batch.out).parts[0] for p in batch.out.rglob("*") if p.is_file()}
    assert written <= {"results", "grades.csv"}


def test_grades_csv_has_every_row_and_no_formula(batch: Batch) -> None:
    rows = list(csv.DictReader(batch.csv_text.splitlines()))
    assert sorted(row["student_id"] for row in rows) == sorted(batch.expected)
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA_STARTS), row


def test_the_formula_student_is_shown_by_what_it_claimed(batch: Batch) -> None:
    message = batch.rows[safe_id(FORMULA_NAME)]["extra_data"]["message"]
    assert "HYPERLINK" in message and safe_id(FORMULA_NAME).startswith("HYPERLINK")


def test_a_resumed_run_reuses_these_rows_but_not_a_stopped_grading(batch: Batch, course: Course) -> None:
    """Resuming keys on bytes, checks and grader: graded rows and rows of broken files are kept; a row of a
    grading that was stopped or crashed (``retry``) is graded again."""
    found = {s.student_id: s for s in discover([batch.out.parent.parent.parent / "loose"], course)}
    assert already_graded(batch.out, found["honest"], course)
    assert already_graded(batch.out, found["deep"], course)  # the file itself is the problem: same answer
    path = batch.out / "results" / CHAPTER / "honest.json"
    original = path.read_text(encoding="utf-8")
    try:
        row = SubmissionResult.model_validate_json(original)
        stopped = row.model_copy(update={"extra_data": row.extra_data.model_copy(update={"retry": True})})
        path.write_text(stopped.model_dump_json(), encoding="utf-8")
        assert not already_graded(batch.out, found["honest"], course)
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_row_is_graded_again_once_the_checks_or_the_grader_change(batch: Batch, course: Course) -> None:
    honest = next(s for s in discover([batch.out.parent.parent.parent / "loose"], course) if s.student_id == "honest")
    hidden = next(course.chapter(CHAPTER).hidden_tests.glob("test_*.py"))
    original = hidden.read_text()
    try:
        hidden.write_text(original.replace("points(", "points(1 + ", 1))
        fingerprint._chapter_fingerprint.cache_clear()
        assert not already_graded(batch.out, honest, course)
    finally:
        hidden.write_text(original)
        fingerprint._chapter_fingerprint.cache_clear()
    assert already_graded(batch.out, honest, course)
    fingerprint.grader_fingerprint.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("grader.grade.grader_version", lambda: "0.0.0-other")
            assert not already_graded(batch.out, honest, course)
    finally:
        fingerprint.grader_fingerprint.cache_clear()
