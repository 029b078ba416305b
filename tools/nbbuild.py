"""Authoring helper: write an nbgrader source notebook from Python, cell by cell.

The committed ``.ipynb`` in ``solutions/`` is the source of truth; chapter scripts under
``tools/chapters/`` are how authors produce it, so edits stay reviewable as Python diffs.
Run ``python tools/chapters/NN_name.py`` and then ``grader release``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


class Notebook:
    def __init__(self, chapter: str, title: str) -> None:
        self.chapter = chapter
        self.cells: list = []
        self._n = 0
        self.md(f"# {title}")

    def _id(self, grade_id: str | None) -> str:
        self._n += 1
        return grade_id or f"cell-{self.chapter}-{self._n:02d}"

    def md(self, text: str) -> None:
        """Markdown the learner reads (locked, so nbgrader restores it too)."""
        cell = new_markdown_cell(text.strip(), metadata=_meta(self._id(None), grade=False, solution=False, locked=True))
        self.cells.append(cell)

    def code(self, source: str) -> None:
        """A free code cell (examples, predict-then-run): the learner may edit it."""
        self.cells.append(new_code_cell(source.strip()))

    def provided(self, grade_id: str, source: str) -> None:
        """Provided code the learner must not change: restored from the source when grading."""
        self.cells.append(
            new_code_cell(source.strip(), metadata=_meta(grade_id, grade=False, solution=False, locked=True))
        )

    def solution(self, grade_id: str, source: str) -> None:
        """An answer cell: wrap the answer in ### BEGIN SOLUTION / ### END SOLUTION."""
        self.cells.append(
            new_code_cell(source.strip(), metadata=_meta(grade_id, grade=False, solution=True, locked=False))
        )

    def check(self, exercise: str, points: float) -> None:
        """The one-line check cell after an exercise; hidden checks run only when grading."""
        source = f'check("{exercise}")\n### BEGIN HIDDEN TESTS\ncheck("{exercise}", hidden=True)\n### END HIDDEN TESTS'
        meta = _meta(f"{exercise}-check", grade=True, solution=False, locked=True, points=points)
        self.cells.append(new_code_cell(source, metadata=meta))

    def save(self) -> Path:
        # Stable ids (nbformat draws random ones), so re-running a chapter script changes nothing
        # unless the content changed.
        for position, cell in enumerate(self.cells):
            cell.id = f"{self.chapter[:2]}-{position:03d}"
        notebook = new_notebook(cells=self.cells)
        notebook.metadata = {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "workbook": {"chapter": self.chapter},
        }
        path = ROOT / "solutions" / self.chapter / f"{self.chapter}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(notebook)
        nbformat.write(notebook, path)
        return path
