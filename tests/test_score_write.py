"""Stages 6 and 7, score and write: points, partial credit, Gradescope JSON, atomic files, grades.csv."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from support import gradescope_problems

from grader import models
from grader.models import CellRun, ErrorInfo, ExtraData, Status, SubmissionResult, Visibility
from grader.pipeline.restore import RestoredNotebook
from grader.pipeline.score import error_result, score
from grader.pipeline.write import CSV_COLUMNS, atomic_write, read_results, result_path, write_csv, write_result


def _outcome(name: str, exercise: str, points: float, passed: bool, **extra) -> models.TestOutcome:
    return models.TestOutcome(
        nodeid=f"checks/test_{exercise}.py::test_{name}",
        name=name,
        exercise=exercise,
        points=points,
        visibility=extra.pop("visibility", Visibility.VISIBLE),
        passed=passed,
        **extra,
    )


def _extra(student: str = "ada", assignment: str = "00-orientation") -> ExtraData:
    return ExtraData(student_id=student, assignment=assignment, status=Status.ERROR)


def _score(outcomes, cells=(), restored=None) -> SubmissionResult:
    return score(
        outcomes, extra=_extra(), cells=list(cells), restored=restored or RestoredNotebook(cells=[]), elapsed=1.23456
    )


def test_points_are_summed_per_test():
    result = _score([_outcome("a", "ex1", 2, True), _outcome("b", "ex1", 1.5, True), _outcome("c", "ex2", 3, True)])
    assert result.score == result.max_score == 6.5
    assert result.status is Status.GRADED
    assert result.execution_time == 1.235
    assert result.extra_data.message == "3 of 3 checks passed"


def test_partial_credit():
    result = _score(
        [
            _outcome("a", "ex1", 2, True),
            _outcome("b", "ex1", 1, False, message="`f(1)` returned 3.", hint="Add, do not multiply."),
            _outcome("c", "ex2", 0.5, True, visibility=Visibility.HIDDEN),
        ]
    )
    assert (result.score, result.max_score) == (2.5, 3.5)
    assert [t.score for t in result.tests] == [2, 0, 0.5]
    assert [t.max_score for t in result.tests] == [2, 1, 0.5]
    assert [t.status for t in result.tests] == ["passed", "failed", "passed"]
    failed = result.tests[1]
    assert failed.output == "`f(1)` returned 3.\nHint: Add, do not multiply."
    assert result.tests[0].output == ""
    assert [t.visibility for t in result.tests] == ["visible", "visible", "hidden"]
    assert [t.number for t in result.tests] == ["ex1.1", "ex1.2", "ex2.3"]
    assert [t.tags for t in result.tests] == [["ex1"], ["ex1"], ["ex2"]]
    assert result.extra_data.message == "2 of 3 checks passed"


def test_rounding_does_not_lose_partial_points():
    result = _score([_outcome(str(i), "ex1", 0.1, True) for i in range(3)])
    assert result.score == result.max_score == 0.3


def test_cell_errors_and_restored_cells_are_reported():
    cells = [
        CellRun(index=1, grade_id="setup", ok=True),
        CellRun(index=3, grade_id="ex1-solution", ok=False, error=ErrorInfo(type="NameError", message="x")),
    ]
    restored = RestoredNotebook(cells=[], restored=["ex1-check"], tampered=["setup"])
    result = _score([_outcome("a", "ex1", 1, False)], cells=cells, restored=restored)
    assert result.extra_data.message == "0 of 1 checks passed; 1 cell(s) raised an error"
    assert result.extra_data.cells == cells
    assert result.extra_data.restored_cells == ["ex1-check"]
    assert result.extra_data.tampered_cells == ["setup"]


def test_error_result_is_a_zero_row_with_a_message():
    result = error_result(_extra(), "broken.ipynb: not a notebook", 0.5)
    assert result.status is Status.ERROR
    assert (result.score, result.max_score, result.tests) == (0, 0, [])
    assert result.extra_data.message == result.output == "broken.ipynb: not a notebook"


def test_results_json_follows_the_gradescope_schema(tmp_path: Path):
    result = _score([_outcome("a", "ex1", 2, True), _outcome("b", "ex2", 1, False, message="no")])
    path = write_result(tmp_path, result)
    assert (
        path == result_path(tmp_path, "00-orientation", "ada") == tmp_path / "results" / "00-orientation" / "ada.json"
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    assert gradescope_problems(data) == []
    assert gradescope_problems(json.loads(error_result(_extra(), "x", 0).model_dump_json())) == []
    assert read_results(tmp_path) == [result]


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path: Path):
    target = tmp_path / "deep" / "file.json"
    atomic_write(target, "first")
    atomic_write(target, "second")
    assert target.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "file.json"
    atomic_write(target, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "new \ud800 half")  # a lone surrogate cannot be encoded: the write fails midway
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_atomic_write_is_a_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The target only ever appears complete: the content is written elsewhere, then renamed over it."""
    target = tmp_path / "file.json"
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src).parent, Path(src).read_text(encoding="utf-8"), target.exists()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(target, "complete")
    assert seen == [(tmp_path, "complete", False)]


def test_grades_csv(tmp_path: Path):
    full = _score([_outcome("a", "ex1", 2, True)])
    zoe = full.model_copy(update={"extra_data": full.extra_data.model_copy(update={"student_id": "zoe"})})
    ada = _score([_outcome("a", "ex1", 2, False)])
    bob = error_result(_extra("bob", "01-persistence"), 'bad, "quoted"\nand multi-line message', 0)
    path = write_csv(tmp_path, [bob, zoe, ada])
    assert path == tmp_path / "grades.csv"
    with path.open(newline="", encoding="utf-8") as stream:
        table = list(csv.reader(stream))
    assert table[0] == CSV_COLUMNS
    assert table[0][:6] == ["student_id", "assignment", "score", "max_score", "status", "message"]
    assert [row[:6] for row in table[1:]] == [  # sorted by assignment, then student
        ["ada", "00-orientation", "0.0", "2.0", "graded", "0 of 1 checks passed"],
        ["zoe", "00-orientation", "2.0", "2.0", "graded", "1 of 1 checks passed"],
        ["bob", "01-persistence", "0.0", "0.0", "error", 'bad, "quoted"\nand multi-line message'],
    ]


def test_grades_csv_neutralises_what_a_spreadsheet_would_run(tmp_path: Path):
    """OWASP's CSV injection advice: a text cell starting with = + - @ TAB or CR is written with a leading '."""
    attacks = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    results = [error_result(_extra(f"s{i}"), message, 0.1) for i, message in enumerate(attacks)]
    path = write_csv(tmp_path, results)
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["message"] for row in rows] == ["'" + message.replace("\r", "\n") for message in attacks]
    assert all(row["score"] == "0.0" for row in rows)  # numbers stay numbers


@pytest.mark.parametrize(
    ("assignment", "student"),
    [("ch", "../escape"), ("ch", "/abs"), ("ch", "a/b"), ("ch", "nul\0"), ("..", "ada"), ("", "ada"), ("/tmp", "a")],
)
def test_no_output_path_leaves_out(tmp_path: Path, assignment: str, student: str):
    with pytest.raises(ValueError, match="refusing to write"):
        result_path(tmp_path, assignment, student)


def test_a_results_folder_swapped_for_a_link_is_refused(tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="outside"):
        result_path(tmp_path / "out", "00-orientation", "ada")
