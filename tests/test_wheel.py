"""The installable wheel holds the grader and nothing of the course: no notebook, solution or hidden test."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from support import ROOT, run, tail


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    uv = shutil.which("uv")
    command = [uv, "build", "--wheel", "-o", out] if uv else [sys.executable, "-m", "build", "--wheel", "--outdir", out]
    completed = run(command, cwd=ROOT)
    assert completed.returncode == 0, tail(completed)
    wheels = list(Path(out).glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_contains_the_grader(wheel: Path, wheel_names: list[str]):
    templates = [f"grader/templates/{n}" for n in ("feedback.html.j2", "class_report.html.j2", "_style.css")]
    for name in ("grader/__init__.py", "grader/cli.py", "grader/testing/pytest.ini", "grader/sandbox/worker.py"):
        assert name in wheel_names
    for name in templates:  # the feedback and report pages are rendered from these
        assert name in wheel_names
    entry_points = next(n for n in wheel_names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "grader = grader.cli:main" in archive.read(entry_points).decode()


def test_wheel_contains_no_course_material(wheel_names: list[str]):
    top_level = {name.split("/", 1)[0] for name in wheel_names}
    assert top_level - {"grader"} == {n for n in top_level if n.endswith(".dist-info")}
    bad = [
        name
        for name in wheel_names
        if name.endswith((".ipynb", "nbgrader_config.py"))
        or "hidden_tests" in name.split("/")
        or name.rsplit("/", 1)[-1].startswith("test_")
    ]
    assert bad == []
