"""`grader grade` on the whole course: every solution gets full marks, every released notebook zero.

All notebooks are graded in one batch (a session fixture) and each test reads its rows.
"""

from __future__ import annotations

import nbformat
import pytest
from support import CSV_COLUMNS, gradescope_problems, tail

from grader.course import Course


def test_course_has_chapters(course: Course):
    assert course.chapter_ids, f"no chapters found in {course.source}"
    assert course.source.name == "solutions"
    assert course.release.name == "notebooks"


def test_batch_exits_zero_with_one_row_per_notebook(course: Course, course_grades):
    completed, grades = course_grades
    assert completed.returncode == 0, tail(completed)
    notebooks = sorted(course.source.rglob("*.ipynb")) + sorted(course.release.rglob("*.ipynb"))
    notebooks = [p.resolve() for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    assert sorted(grades.by_notebook()) == sorted(notebooks)
    assert len(grades.results) == len(notebooks)
    assert len(grades.csv_rows) == len(notebooks)


def test_grades_csv_columns(course_grades):
    _, grades = course_grades
    assert grades.csv_header == CSV_COLUMNS
    from_json = sorted(
        (r["extra_data"]["student_id"], r["extra_data"]["assignment"], float(r["score"]), r["extra_data"]["status"])
        for r in grades.results
    )
    from_csv = sorted(
        (row["student_id"], row["assignment"], float(row["score"]), row["status"]) for row in grades.csv_rows
    )
    assert from_csv == from_json


def test_every_result_follows_the_gradescope_schema(course_grades):
    _, grades = course_grades
    assert grades.results
    for result in grades.results:
        assert gradescope_problems(result) == [], result["extra_data"].get("notebook")


def test_check_cells_are_worth_what_their_tests_are_worth(course: Course, course_grades, chapter_id: str):
    """nbgrader's points on each check cell (stock autograde) equal the sum the grader scores for that exercise."""
    _, grades = course_grades
    result = grades.by_notebook()[course.chapter(chapter_id).notebook.resolve()]
    graded: dict[str, float] = {}
    for test in result["tests"]:
        for exercise in test["tags"]:
            graded[exercise] = graded.get(exercise, 0.0) + test["max_score"]
    notebook = nbformat.read(course.chapter(chapter_id).notebook, 4)
    declared = {
        cell.metadata.nbgrader.grade_id.removesuffix("-check"): float(cell.metadata.nbgrader.points)
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    assert graded == declared


def test_solution_gets_full_marks(course: Course, course_grades, chapter_id: str):
    _, grades = course_grades
    notebook = course.chapter(chapter_id).notebook.resolve()
    result = grades.by_notebook()[notebook]
    failed = [f"{t['name']}: {t['output']}" for t in result["tests"] if t["status"] != "passed"]
    assert result["extra_data"]["status"] == "graded", result["extra_data"]["message"]
    assert result["extra_data"]["assignment"] == chapter_id
    assert result["max_score"] > 0
    assert result["score"] == result["max_score"], failed
    assert [c for c in result["extra_data"]["cells"] if not c["ok"]] == []
    assert result["extra_data"]["restored_cells"] == []
    assert result["extra_data"]["tampered_cells"] == []
    hidden = [t for t in result["tests"] if t["visibility"] == "hidden"]
    assert hidden, "the chapter should have hidden tests, graded as hidden"


def test_released_notebook_gets_zero(course: Course, course_grades, chapter_id: str):
    _, grades = course_grades
    notebook = (course.release / chapter_id / f"{chapter_id}.ipynb").resolve()
    assert notebook.is_file(), "released notebook missing: run `uv run grader release`"
    result = grades.by_notebook()[notebook]
    solution = grades.by_notebook()[course.chapter(chapter_id).notebook.resolve()]
    assert result["extra_data"]["status"] == "graded", result["extra_data"]["message"]
    assert result["extra_data"]["assignment"] == chapter_id
    assert result["score"] == 0, [t["name"] for t in result["tests"] if t["status"] == "passed"]
    assert result["max_score"] == solution["max_score"] > 0
    # Released test cells lack the hidden block: that is not tampering.
    assert result["extra_data"]["tampered_cells"] == []
    assert result["extra_data"]["restored_cells"] == []


@pytest.mark.parametrize("kind", ["solution", "released"])
def test_feedback_never_shows_test_code(course: Course, course_grades, chapter_id: str, kind: str):
    _, grades = course_grades
    folder = course.source if kind == "solution" else course.release
    result = grades.by_notebook()[(folder / chapter_id / f"{chapter_id}.ipynb").resolve()]
    for test in result["tests"]:
        for leak in ("def test_", "Traceback (most recent call last)", "hidden_tests/"):
            assert leak not in test["output"], f"{test['name']}: {test['output']}"
