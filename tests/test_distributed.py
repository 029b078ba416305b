"""``grader grade --scheduler``: the same rows from a Dask cluster as from this machine.

A LocalCluster of two worker processes stands in for a cluster: its workers are daemonic processes,
like a real ``dask worker``'s, which is the case the grading code must handle (no multiprocessing
children; the grading process is started as a command instead).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import LocalCluster
from support import ROOT, grade_cli, read_grade_folder

CHAPTER = "00-orientation"


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    (folder / "solved.ipynb").write_bytes((ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes())
    (folder / "released.ipynb").write_bytes((ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes())
    (folder / "broken.ipynb").write_text("{ not json")
    return folder


def _rows(out: Path) -> dict[str, tuple]:
    grades = read_grade_folder(out)
    return {
        r["extra_data"]["student_id"]: (
            r["score"],
            r["max_score"],
            r["extra_data"]["status"],
            r["extra_data"]["notebook"],
            [t["status"] for t in r["tests"]],
        )
        for r in grades.results
    }


def test_a_dask_cluster_grades_like_this_machine(scheduler: str, submissions: Path, tmp_path: Path):
    on_cluster, here = tmp_path / "cluster", tmp_path / "here"
    common = ("--assignment", CHAPTER, "--jobs", "2")
    completed = grade_cli([submissions], on_cluster, *common, "--scheduler", scheduler)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert grade_cli([submissions], here, *common).returncode == 0
    rows = _rows(on_cluster)
    assert set(rows) == {"solved", "released", "broken"}
    assert rows == _rows(here)
    assert rows["solved"][0] == rows["solved"][1] > 0
    assert rows["released"][0] == 0 and rows["released"][2] == "graded"
    assert rows["broken"][2] == "error"
    # Rows name the instructor's notebook, not the copy a worker graded.
    assert rows["solved"][3] == str(submissions / "solved.ipynb")


def test_a_resumed_cluster_run_grades_only_what_is_missing(scheduler: str, submissions: Path, tmp_path: Path):
    out = tmp_path / "grades"
    options = ("--assignment", CHAPTER, "--scheduler", scheduler)
    assert grade_cli([submissions], out, *options).returncode == 0
    solved = out / "results" / CHAPTER / "solved.json"
    first = json.loads(solved.read_text())
    solved.unlink()
    assert grade_cli([submissions], out, *options).returncode == 0
    assert json.loads(solved.read_text())["score"] == first["score"]
    assert (out / "results" / CHAPTER / "released.json").stat().st_mtime < solved.stat().st_mtime
