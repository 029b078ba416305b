"""Stage 3, extract: the learner's program is every code cell that is not a test cell, in order."""

from __future__ import annotations

from grader.pipeline.restore import Cell, RestoredNotebook


def extract(notebook: RestoredNotebook) -> list[Cell]:
    return [cell for cell in notebook.cells if cell.kind in ("learner", "provided") and cell.source.strip()]
