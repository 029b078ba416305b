"""The notebook formgrader shows an instructor for a graded submission (nbgrader's ``autograded/`` copy).

nbgrader's formgrader lists a submission as graded only when ``autograded/STUDENT/ASSIGNMENT/`` exists, and shows
the notebook found there next to the score boxes of its grade cells. ``nbgrader autograde`` writes the executed
notebook; the grader writes the submission with its locked cells restored from the source (as autograde's
``OverwriteCells`` does) and, as each check cell's output, the verdict of that exercise's checks. Nothing of the
hidden tests is in it: the check cells hold only ``check("exN", hidden=True)`` calls, as in the source notebook.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_output

from grader.models import SubmissionResult, TestResult
from grader.pipeline.load import load
from grader.pipeline.restore import grade_id, restore


def exercise_of(cell_id: str, exercises: set[str]) -> str | None:
    """The exercise a grade cell scores: ``ex2-check`` scores ``ex2`` (the longest exercise id that prefixes it)."""
    matches = [e for e in exercises if cell_id == e or cell_id.startswith(f"{e}-")]
    return max(matches, key=len) if matches else None


def exercise_tests(result: SubmissionResult) -> dict[str, list[TestResult]]:
    by_exercise: dict[str, list[TestResult]] = {}
    for test in result.tests:
        for tag in test.tags[:1]:
            by_exercise.setdefault(tag, []).append(test)
    return by_exercise


def verdict_text(exercise: str, tests: list[TestResult]) -> str:
    """What an exercise's checks found, for the instructor: every check, hidden ones included, never test code."""
    passed = sum(t.status == "passed" for t in tests)
    score, top = sum(t.score for t in tests), sum(t.max_score for t in tests)
    lines = [f"{exercise}: {passed} of {len(tests)} checks passed, {score:g}/{top:g} points"]
    for test in tests:
        mark = "✓" if test.status == "passed" else "✗"
        hidden = " (hidden)" if test.visibility != "visible" else ""
        lines.append(f"{mark} {test.name}{hidden}  {test.score:g}/{test.max_score:g}")
        lines.extend(f"    {line}" for line in test.output.splitlines())
    return "\n".join(lines) + "\n"


def _cells_in_grading_order(submitted: NotebookNode, source: NotebookNode) -> Iterator[NotebookNode]:
    """The cells as the grader ran them: locked cells from the source (deleted ones put back), the rest as
    submitted. Indices match the ``CellRun.index`` of the result."""
    restored = restore(submitted, source)
    locked = {gid: cell for cell in source.cells if (gid := grade_id(cell))}
    submitted_cells = iter(submitted.cells)
    for cell in restored.cells:
        if cell.grade_id in restored.restored:
            yield copy.deepcopy(locked[cell.grade_id])
            continue
        original = next(submitted_cells)
        gid = grade_id(original)
        replace = gid is not None and gid == cell.grade_id and cell.kind in ("test", "provided")
        yield copy.deepcopy(locked[gid]) if replace and gid in locked else copy.deepcopy(original)


def autograded_notebook(submitted_path: Path, source_path: Path, result: SubmissionResult) -> NotebookNode:
    submitted, source = load(submitted_path), load(source_path)
    notebook = copy.deepcopy(submitted)
    notebook.cells = list(_cells_in_grading_order(submitted, source))
    by_exercise = exercise_tests(result)
    errors = {run.index: run.error for run in result.extra_data.cells if run.error}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if index in errors and (error := errors[index]) is not None:
            cell.outputs.append(new_output("error", ename=error.type, evalue=error.message, traceback=[]))
        gid = grade_id(cell)
        exercise = exercise_of(gid, set(by_exercise)) if gid and cell.metadata["nbgrader"].get("grade") else None
        if exercise is not None:
            cell.outputs.append(new_output("stream", name="stdout", text=verdict_text(exercise, by_exercise[exercise])))
    return notebook


def write_autograded(folder: Path, submitted_path: Path, source_path: Path, result: SubmissionResult) -> Path:
    """``autograded/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb`` and the submission's ``timestamp.txt`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / submitted_path.name
    nbformat.write(autograded_notebook(submitted_path, source_path, result), path)
    timestamp = submitted_path.parent / "timestamp.txt"
    if timestamp.is_file():
        (folder / timestamp.name).write_text(timestamp.read_text(encoding="utf-8"), encoding="utf-8")
    return path
