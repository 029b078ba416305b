"""Every solution notebook runs top to bottom in a real kernel, its check cells silent on stderr."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from grader.course import Course


def _is_check_cell(cell) -> bool:
    """An nbgrader autograder-test cell (grade without solution; grade + solution is a hand-graded answer)."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def test_solution_notebook_runs_in_a_kernel(course: Course, chapter_id: str):
    chapter = course.chapter(chapter_id)
    notebook = nbformat.read(chapter.notebook, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=180,
        allow_errors=True,
        resources={"metadata": {"path": str(chapter.directory)}},
    )
    client.execute()
    errors, stderr = [], []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors.append(f"{label}: {output.ename}: {output.evalue}")
            if _is_check_cell(cell) and output.output_type == "stream" and output.name == "stderr":
                stderr.append(f"{label}: {output.text.strip()[:500]}")
    assert errors == [], "cells raised errors (allow_errors=True so that all of them are listed)"
    # nbgrader autograde scores a test cell 0 when it writes anything to stderr (even a warning).
    assert stderr == [], "check cells wrote to stderr"
    assert any(_is_check_cell(cell) for cell in notebook.cells), "the chapter has no check cells"
