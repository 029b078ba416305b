"""`grader gradescope CHAPTER`: the autograder zip, unpacked and run as Gradescope runs it.

The zip is unpacked into a folder laid out like Gradescope's ``/autograder`` (``AUTOGRADER_ROOT`` moves
it), ``setup.sh`` installs from the lock into it (system packages skipped: this machine has them), and
``run_autograder`` grades what is in ``submission/``, as it would for each upload.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import GRADESCOPE_KEYS, ROOT, VENV_BIN, gradescope_problems, run, tail

from grader.gradescope import unpack

CHAPTER = "00-orientation"
OTHER = "01-persistence"
FULL_MARKS = 14.0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    completed = run([VENV_BIN / "grader", "gradescope", CHAPTER, "--out", out, "--course", ROOT], cwd=ROOT)
    assert completed.returncode == 0, tail(completed)
    return out


@pytest.fixture(scope="module")
def autograder(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``/autograder`` after Gradescope built the image: source unpacked, setup.sh run."""
    root = tmp_path_factory.mktemp("autograder")
    unpack(bundle, root / "source")
    skip_apt = {"GRADESCOPE_SKIP_APT": "1"}
    completed = run(["bash", root / "source" / "setup.sh"], cwd=root, timeout=900, extra_env=skip_apt)
    assert completed.returncode == 0, tail(completed)
    return root


@pytest.fixture
def run_autograder(autograder: Path) -> Callable[[Callable[[Path], None]], dict[str, Any]]:
    def grade(prepare: Callable[[Path], None]) -> dict[str, Any]:
        submission = autograder / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        prepare(submission)
        root = {"AUTOGRADER_ROOT": str(autograder)}
        completed = run(["bash", autograder / "source" / "run_autograder"], cwd=autograder, extra_env=root)
        assert completed.returncode == 0, tail(completed)
        document = json.loads((autograder / "results" / "results.json").read_text(encoding="utf-8"))
        assert set(document) <= GRADESCOPE_KEYS
        return document

    return grade


def _copy(source: Path, name: str) -> Callable[[Path], None]:
    return lambda submission: shutil.copy2(source, submission / name)


def test_the_zip_holds_the_chapter_and_nothing_of_the_others(bundle: Path):
    names = zipfile.ZipFile(bundle).namelist()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "uv.lock", "nbgrader_config.py"} <= set(names)
    assert f"solutions/{CHAPTER}/{CHAPTER}.ipynb" in names
    assert any(name.startswith(f"solutions/{CHAPTER}/hidden_tests/") for name in names)
    chapters = {name.split("/")[1] for name in names if name.startswith("solutions/")}
    assert chapters == {CHAPTER}, "another chapter's solutions are in the zip"
    assert not [name for name in names if name.endswith(".md") and name.startswith("solutions/")]
    assert not [name for name in names if name.startswith(("notebooks/", "tests/", ".git")) or "__pycache__" in name]


def test_the_scripts_are_executable_and_valid_bash(bundle: Path, tmp_path: Path):
    unpack(bundle, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        assert os.access(path, os.X_OK), script
        completed = run(["bash", "-n", path], cwd=tmp_path)
        assert completed.returncode == 0, tail(completed)
    assert "uv sync --frozen" in (tmp_path / "setup.sh").read_text(encoding="utf-8")


def test_setup_installs_the_grader_from_the_lock(autograder: Path):
    assert (autograder / "source" / ".venv" / "bin" / "grader").is_file()


def test_the_reference_gets_full_marks(run_autograder):
    document = run_autograder(_copy(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", f"{CHAPTER}.ipynb"))
    assert gradescope_problems({**document, "max_score": FULL_MARKS}) == []
    assert document["score"] == sum(t["max_score"] for t in document["tests"]) == FULL_MARKS
    assert {t["visibility"] for t in document["tests"]} >= {"visible", "hidden"}
    assert document["extra_data"]["status"] == "graded"


def test_the_released_notebook_gets_zero_with_feedback(run_autograder):
    document = run_autograder(_copy(ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb", "whatever-name.ipynb"))
    assert gradescope_problems({**document, "max_score": FULL_MARKS}) == []
    assert document["score"] == 0 and len(document["tests"]) == 14
    outputs = "\n".join(t["output"] for t in document["tests"])
    assert "def test_" not in outputs and "hidden_tests" not in outputs, "test code reached the learner"


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda s: (s / f"{CHAPTER}.ipynb").write_text("{ not json"), "not valid JSON"),
        (_copy(ROOT / "solutions" / OTHER / f"{OTHER}.ipynb", f"{OTHER}.ipynb"), f"the notebook of {OTHER}"),
        (lambda s: None, "No notebook was submitted"),
        (lambda s: (s / "notes.txt").write_text("hello"), "No notebook was submitted"),
        (
            lambda s: [
                shutil.copy2(ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb", s / n) for n in ("a.ipynb", "b.ipynb")
            ],
            "Several notebooks",
        ),
        (
            lambda s: (s / f"{CHAPTER}.ipynb").symlink_to(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"),
            "No notebook",
        ),
    ],
    ids=["broken", "other-chapter", "empty", "no-notebook", "two-notebooks", "symlink-to-the-reference"],
)
def test_a_bad_submission_gets_zero_and_a_reason(run_autograder, prepare, message: str):
    document = run_autograder(prepare)
    assert (document["score"], document["tests"]) == (0.0, [])
    assert document["extra_data"]["status"] == "error"
    assert message in document["output"]
    assert gradescope_problems({**document, "max_score": FULL_MARKS}) == []


def test_the_chapter_named_by_its_file_wins_over_other_notebooks(run_autograder):
    def prepare(submission: Path) -> None:
        shutil.copy2(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", submission / f"{CHAPTER}.ipynb")
        (submission / "scratch").mkdir()
        shutil.copy2(ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb", submission / "scratch" / "draft.ipynb")

    document = run_autograder(prepare)
    assert document["score"] == FULL_MARKS


def test_an_unknown_chapter_is_refused(tmp_path: Path):
    completed = run(
        [VENV_BIN / "grader", "gradescope", "99-nope", "--out", tmp_path / "x.zip", "--course", ROOT], cwd=ROOT
    )
    assert completed.returncode == 2
    assert "unknown chapter '99-nope'" in completed.stderr
    assert not (tmp_path / "x.zip").exists()
