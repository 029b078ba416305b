"""One `grader grade` batch with broken, tampered and endless submissions: every one gets exactly one row."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from support import CSV_COLUMNS, GradeFolder, grade_cli, gradescope_problems, read_grade_folder, tail

from grader.course import Course

CHAPTER = "00-orientation"  # the orientation chapter is the stable one these cases are built on
CELL_TIMEOUT = 10  # seconds, the default: lower ones time out ordinary cells on a loaded machine


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test_cell(cell) -> bool:
    return bool(_nbgrader(cell).get("grade")) and not _nbgrader(cell).get("solution")


@pytest.fixture(scope="module")
def solution(course: Course) -> nbformat.NotebookNode:
    return nbformat.read(course.chapter(CHAPTER).notebook, as_version=4)


@pytest.fixture(scope="module")
def looping_cell(solution) -> str:
    """The last solution cell: the loop appended to it must not cost the earlier exercises."""
    return [_nbgrader(c)["grade_id"] for c in solution.cells if c.cell_type == "code" and _nbgrader(c).get("solution")][
        -1
    ]


@pytest.fixture(scope="module")
def batch(solution, looping_cell: str, tmp_path_factory: pytest.TempPathFactory):
    submissions = tmp_path_factory.mktemp("submissions")
    (submissions / "broken.ipynb").write_text('{"cells": [ this is not JSON', encoding="utf-8")

    no_tests = copy.deepcopy(solution)
    no_tests.cells = [c for c in no_tests.cells if not _is_test_cell(c)]
    nbformat.write(no_tests, submissions / "no-tests.ipynb")

    looping = copy.deepcopy(solution)
    for cell in looping.cells:
        if _nbgrader(cell).get("grade_id") == looping_cell:
            cell.source += "\n\nwhile True:\n    pass\n"
    nbformat.write(looping, submissions / "loop.ipynb")

    raw = json.loads(nbformat.writes(solution))
    raw["nbformat"] = 5
    (submissions / "nbformat5.ipynb").write_text(json.dumps(raw), encoding="utf-8")

    nbformat.write(solution, submissions / "plain.ipynb")

    out = tmp_path_factory.mktemp("robust-grades")
    completed = grade_cli(
        [submissions],
        out,
        "--assignment",
        CHAPTER,
        "--jobs",
        "2",
        "--timeout",
        "120",
        "--cell-timeout",
        str(CELL_TIMEOUT),
    )
    return completed, read_grade_folder(out)


def _row(grades: GradeFolder, student: str) -> dict:
    rows = [r for r in grades.results if r["extra_data"]["student_id"] == student]
    assert len(rows) == 1, f"{student}: {len(rows)} rows"
    return rows[0]


def test_every_submission_gets_exactly_one_row(batch):
    completed, grades = batch
    assert completed.returncode == 0, tail(completed)
    students = ["broken", "loop", "nbformat5", "no-tests", "plain"]
    assert sorted(r["extra_data"]["student_id"] for r in grades.results) == students
    assert grades.csv_header == CSV_COLUMNS
    assert sorted(row["student_id"] for row in grades.csv_rows) == students
    assert {row["assignment"] for row in grades.csv_rows} == {CHAPTER}
    for result in grades.results:
        assert gradescope_problems(result) == [], result["extra_data"]["student_id"]


def test_not_json_is_an_error_row(batch):
    _, grades = batch
    row = _row(grades, "broken")
    assert row["extra_data"]["status"] == "error"
    assert row["score"] == 0
    assert "not valid JSON" in row["extra_data"]["message"]
    assert "broken.ipynb" in row["extra_data"]["message"]
    csv_row = next(r for r in grades.csv_rows if r["student_id"] == "broken")
    assert csv_row["status"] == "error" and "not valid JSON" in csv_row["message"]


def test_wrong_nbformat_is_an_error_row(batch):
    _, grades = batch
    row = _row(grades, "nbformat5")
    assert row["extra_data"]["status"] == "error"
    assert row["score"] == 0
    assert "nbformat 5" in row["extra_data"]["message"]


def test_deleted_test_cells_are_restored_and_listed(batch, solution):
    _, grades = batch
    row = _row(grades, "no-tests")
    deleted = [_nbgrader(c)["grade_id"] for c in solution.cells if _is_test_cell(c)]
    assert deleted
    assert row["extra_data"]["status"] == "graded", row["extra_data"]["message"]
    assert row["score"] == row["max_score"] > 0
    assert sorted(row["extra_data"]["restored_cells"]) == sorted(deleted)
    assert row["extra_data"]["tampered_cells"] == []


def test_endless_cell_times_out_and_costs_only_its_exercise(batch, looping_cell: str):
    _, grades = batch
    row = _row(grades, "loop")
    assert row["extra_data"]["status"] == "graded", row["extra_data"]["message"]
    timed_out = [c for c in row["extra_data"]["cells"] if c["timed_out"]]
    assert [c["grade_id"] for c in timed_out] == [looping_cell]
    assert f"no answer within {CELL_TIMEOUT} s" in timed_out[0]["error"]["message"]
    others = [c for c in row["extra_data"]["cells"] if c["grade_id"] != looping_cell]
    assert others and all(c["ok"] for c in others), others
    assert 0 < row["score"] < row["max_score"]
    exercise = looping_cell.split("-")[0]
    still_scoring = [t for t in row["tests"] if exercise not in t.get("tags", [])]
    assert still_scoring and all(t["status"] == "passed" for t in still_scoring), [
        (t["name"], t["output"]) for t in still_scoring if t["status"] != "passed"
    ]


def test_plain_solution_gets_full_marks(batch):
    _, grades = batch
    row = _row(grades, "plain")
    assert row["extra_data"]["status"] == "graded", row["extra_data"]["message"]
    assert row["score"] == row["max_score"] > 0
    assert row["extra_data"]["restored_cells"] == [] and row["extra_data"]["tampered_cells"] == []


def test_running_the_batch_again_keeps_every_row(batch):
    """Rows are final: the same command on the same folder grades nothing again and rewrites grades.csv."""
    _, grades = batch
    submissions = Path(grades.results[0]["extra_data"]["notebook"]).parent
    again = grade_cli([submissions], grades.out, "--assignment", CHAPTER, "--jobs", "2")
    assert again.returncode == 0, tail(again)
    regraded = read_grade_folder(grades.out)
    assert regraded.results == grades.results
    assert regraded.csv_rows == grades.csv_rows
