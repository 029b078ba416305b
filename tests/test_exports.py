"""Exports: Gradescope's results.json, grades.csv that tells a failed submission from a zero, the run log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from report_data import failed, graded, late
from support import CSV_COLUMNS, GRADESCOPE_KEYS, grade_cli, gradescope_problems, solution_with_cells_replaced, tail

from grader.pipeline.exports import GRADESCOPE_TEST_KEYS, gradescope_results, log_records, read_run_log
from grader.pipeline.write import write_csv


def test_gradescope_results_keep_only_the_specified_keys():
    result = graded("ada", {"greet returns the greeting"})
    document = gradescope_results(result)
    assert set(document) <= GRADESCOPE_KEYS
    assert all(set(test) <= set(GRADESCOPE_TEST_KEYS) for test in document["tests"])
    assert document["score"] == sum(t["score"] for t in document["tests"]) == 1
    assert isinstance(document["execution_time"], int)
    assert {t["visibility"] for t in document["tests"]} == {"visible", "hidden", "after_due_date"}
    failing = next(t for t in document["tests"] if t["name"] == "greet works for any name")
    assert failing["output"] == "`greet('Łukasz')` gave 'Hello, Ada!'.\nHint: Use `name`."
    assert document["stdout_visibility"] == "hidden"
    json.dumps(document)


def test_gradescope_results_of_an_ungradable_submission_explain_it():
    document = gradescope_results(failed("bob", "bob.ipynb: not a notebook, the file is not valid JSON"))
    assert (document["score"], document["tests"]) == (0.0, [])
    assert "not valid JSON" in document["output"]
    assert document["extra_data"]["status"] == "error"


def test_csv_tells_a_failed_submission_from_a_zero_and_records_late_work(tmp_path: Path):
    zero = graded("zoe", set())
    broken = failed("bob", "bob.ipynb: not a notebook")
    tardy = graded("ada", {"greet returns the greeting", "gather runs concurrently"}, late=late(2, 3.0))
    with write_csv(tmp_path, [zero, broken, tardy]).open(newline="", encoding="utf-8") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert list(rows["zoe"]) == CSV_COLUMNS
    assert (rows["zoe"]["score"], rows["zoe"]["status"]) == ("0.0", "graded")
    assert (rows["bob"]["score"], rows["bob"]["status"]) == ("0.0", "error")
    ada = rows["ada"]
    assert (ada["raw_score"], ada["late_penalty"], ada["score"], ada["seconds_late"]) == ("3.0", "3.0", "0.0", "7200.0")
    assert ada["submitted_at"] == "2025-03-01T19:00:00+00:00" and ada["due_date"] == "2025-03-01T17:00:00+00:00"
    assert (rows["zoe"]["late_penalty"], rows["zoe"]["submitted_at"], rows["zoe"]["due_date"]) == ("0.0", "", "")


def test_run_log_records_each_row_and_the_run():
    rows = [graded("ada", set()), failed("bob", "bad")]
    records = log_records("run-1", rows, reused={("ada", "00-orientation")}, summary={"jobs": 2})
    assert [r["event"] for r in records] == ["submission", "submission", "run"]
    assert records[0]["reused"] is True and records[1]["reused"] is False
    assert records[1]["status"] == "error" and records[1]["message"] == "bad"
    assert records[2] == {"event": "run", "run": "run-1", "jobs": 2}


def test_grade_writes_gradescope_results_and_logs_every_run(tmp_path: Path):
    """A Gradescope autograder's run: one notebook in, results.json out; the second run reuses the row."""
    notebook = solution_with_cells_replaced(
        "00-orientation", {"ex4-solution": "raise NotImplementedError()"}, tmp_path / "submission.ipynb"
    )
    out, results_json = tmp_path / "grades", tmp_path / "autograder" / "results" / "results.json"
    options = ("--student", "ada", "--jobs", "1", "--gradescope", str(results_json))
    first = grade_cli([notebook], out, *options)
    assert first.returncode == 0, tail(first)
    document = json.loads(results_json.read_text(encoding="utf-8"))
    assert set(document) <= GRADESCOPE_KEYS
    assert gradescope_problems({**document, "max_score": 14.0}) == []
    assert (document["score"], len(document["tests"])) == (11.0, 14)
    assert (out / "feedback" / "00-orientation" / "ada.html").is_file()

    second = grade_cli([notebook], out, *options)
    assert second.returncode == 0, tail(second)
    log = read_run_log(out)
    assert [r["event"] for r in log] == ["submission", "run", "submission", "run"]
    assert [r["reused"] for r in log if r["event"] == "submission"] == [False, True]
    assert log[0]["run"] != log[2]["run"] and log[0]["score"] == 11.0


def test_gradescope_export_refuses_more_than_one_submission(tmp_path: Path):
    one, two = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    for path in (one, two):
        solution_with_cells_replaced("00-orientation", {}, path)
    completed = grade_cli([one, two], tmp_path / "out", "--gradescope", str(tmp_path / "results.json"))
    assert completed.returncode == 2 and "one submission" in completed.stderr
    assert not (tmp_path / "results.json").exists()
