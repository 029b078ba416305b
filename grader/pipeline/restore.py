"""Stage 2, restore: put back every locked cell from the source notebook by ``grade_id``.

Which cells are locked, and what they contain, is read from the instructor's source notebook,
never from the submission's metadata: a learner cannot unlock a cell, turn a test cell into code,
or abort grading with odd nbgrader metadata.
"""

from __future__ import annotations

import re
from typing import Literal

from nbformat import NotebookNode
from pydantic import BaseModel

CellKind = Literal["learner", "provided", "test", "markdown"]
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


class Cell(BaseModel):
    index: int
    kind: CellKind
    source: str
    grade_id: str | None = None


class RestoredNotebook(BaseModel):
    cells: list[Cell]
    restored: list[str] = []
    tampered: list[str] = []


def grade_id(cell: NotebookNode) -> str | None:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    value = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return value if isinstance(value, str) else None


def _kind(cell: NotebookNode) -> CellKind:
    if cell.cell_type != "code":
        return "markdown"
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if nbgrader.get("grade") and not nbgrader.get("solution"):
        return "test"
    if nbgrader.get("locked") and not nbgrader.get("solution"):
        return "provided"
    return "learner"


def released_source(source: str) -> str:
    """What nbgrader releases of a cell: the source without its hidden-tests block."""
    return HIDDEN_BLOCK.sub("", source)


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def _locked_cells(source: NotebookNode) -> dict[str, tuple[int, NotebookNode]]:
    locked = {}
    for position, cell in enumerate(source.cells):
        gid = grade_id(cell)
        if gid and _kind(cell) in ("provided", "test"):
            locked[gid] = (position, cell)
    return locked


def restore(submitted: NotebookNode, source: NotebookNode) -> RestoredNotebook:
    locked = _locked_cells(source)
    cells: list[tuple[str | None, NotebookNode]] = []
    tampered: list[str] = []
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid in locked:
            original = locked[gid][1]
            submitted_source = _normalized(cell.get("source", ""))
            # The released cell (hidden block stripped) and the source cell itself are both untouched.
            if submitted_source not in (_normalized(released_source(original.source)), _normalized(original.source)):
                tampered.append(gid)
            cells.append((gid, original))
        else:
            cells.append((None, cell))
    present = {gid for gid, _ in cells if gid}
    restored = [gid for gid in locked if gid not in present]
    source_order = {gid: position for position, cell in enumerate(source.cells) if (gid := grade_id(cell))}
    for gid in restored:
        _insert_in_source_order(cells, gid, locked[gid][1], source_order)
    return RestoredNotebook(
        cells=[
            Cell(
                index=i,
                kind=_kind(cell) if gid else _learner_kind(cell),
                source=cell.get("source", ""),
                grade_id=grade_id(cell),
            )
            for i, (gid, cell) in enumerate(cells)
        ],
        restored=restored,
        tampered=tampered,
    )


def _learner_kind(cell: NotebookNode) -> CellKind:
    """A cell that matches no locked source cell is the learner's, whatever its metadata claims."""
    return "markdown" if cell.cell_type != "code" else "learner"


def _insert_in_source_order(
    cells: list[tuple[str | None, NotebookNode]], gid: str, cell: NotebookNode, source_order: dict[str, int]
) -> None:
    """Insert a deleted locked cell after the nearest cell (locked or not) that precedes it in the source.

    Anchoring on solution cells too keeps a provided cell that uses the learner's answer after that answer.
    """
    anchors = {g: i for i, (_, c) in enumerate(cells) if (g := grade_id(c)) in source_order}
    earlier = [g for g in anchors if source_order[g] < source_order[gid]]
    if earlier:
        nearest = max(earlier, key=source_order.__getitem__)
        cells.insert(anchors[nearest] + 1, (gid, cell))
    else:
        cells.insert(0, (gid, cell))
