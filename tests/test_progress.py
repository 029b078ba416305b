"""`grader progress`: every chapter of a learner's notebooks folder, with visible checks passed and points so far."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support import ROOT, VENV_BIN, solution_with_cells_replaced, tail, tool_env

from grader.progress import ChapterProgress, progress_table, untouched


def _learner_folder(tmp_path: Path) -> Path:
    """00-orientation with ex1-ex3 answered (ex4 as released), 01-persistence untouched."""
    folder = tmp_path / "notebooks"
    (folder / "00-orientation").mkdir(parents=True)
    solution_with_cells_replaced(
        "00-orientation",
        {"ex4-solution": "raise NotImplementedError()"},
        folder / "00-orientation" / "00-orientation.ipynb",
    )
    shutil.copytree(ROOT / "notebooks" / "01-persistence", folder / "01-persistence")
    return folder


def test_untouched_notebooks_are_recognised(tmp_path: Path):
    assert untouched(ROOT / "notebooks" / "01-persistence" / "01-persistence.ipynb")
    assert not untouched(ROOT / "solutions" / "01-persistence" / "01-persistence.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert not untouched(broken)


def test_progress_table_totals():
    rows = [
        ChapterProgress(
            chapter="00",
            notebook=Path("a"),
            status="checked",
            passed=3,
            checks=4,
            score=3,
            max_score=5,
            next_step="x: y",
        ),
        ChapterProgress(chapter="01", notebook=Path("b"), status="not started"),
    ]
    assert progress_table(rows).caption == "3 checks passed, 3 of 5 visible points so far; 1 chapter(s) not started"


def test_grader_progress_prints_each_chapter(tmp_path: Path):
    folder = _learner_folder(tmp_path)
    env = {**tool_env(), "COLUMNS": "220"}  # one table row per line
    command = [str(VENV_BIN / "grader"), "progress", str(folder), "--course", str(ROOT)]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, tail(completed)
    out = completed.stdout
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "6/8" in lines["00-orientation"] and "6/8" in lines["00-orientation"].split("│")[4], out
    assert "00-orientation.ipynb" in lines["00-orientation"], out  # which file was checked
    assert "not started" in lines["01-persistence"], out
    (step,) = [line for line in out.splitlines() if line.startswith("00-orientation: ")]
    assert "call_health" in step, out  # the next step names the first failing check
    assert "6 checks passed, 6 of 8 visible points so far; 1 chapter(s) not started" in " ".join(out.split()), out


def test_grader_progress_at_80_columns_flags_copies_and_cuts_no_code(tmp_path: Path):
    """A copy of a chapter's notebook is shown as one, not counted as another chapter; each next step is a few
    lines at the terminal's full width, its code folded and never cut with an ellipsis."""
    folder = _learner_folder(tmp_path)
    original = folder / "00-orientation" / "00-orientation.ipynb"
    shutil.copy2(original, folder / "00-orientation" / "00-orientation-Copy1.ipynb")
    env = {**tool_env(), "COLUMNS": "80"}
    command = [str(VENV_BIN / "grader"), "progress", str(folder), "--course", str(ROOT)]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, tail(completed)
    out = completed.stdout
    assert "…" not in out, out
    rows = [line for line in out.splitlines() if line.startswith("│ 00-orientation")]
    assert "00-orientation.ipynb " in rows[0] and "Copy1" in rows[1], out  # the chapter's notebook, then its copy
    assert "(copy of" in out and "00-orientation.ipynb)" in out, out
    flat = " ".join(out.split())
    assert (
        "6 checks passed, 6 of 8 visible points so far; 1 chapter(s) not started; 1 copy of a chapter's notebook"
        in flat
    ), out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("00-orientation: "))
    step = lines[start : next(i for i, line in enumerate(lines) if line.startswith("00-orientation-Copy1"))]
    assert "is not graded: move it there" in " ".join(lines[start + len(step) :]), out
    assert all(len(line) <= 80 for line in lines), out
    assert len(step) <= 6, out  # the hint reads as a paragraph, not a column twenty lines long
