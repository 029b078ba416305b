"""Carried code: a later chapter's provided cells take definitions from earlier chapters' reference cells.

A *block* is one top-level statement of a cell, with its decorators and the comment lines right above
it: a ``def``, a ``class`` or an assignment, named by what it defines. Statements right after a
definition that complete it (``TABLE[key] = value``, ``log.propagate = False``) belong to its block.
A carried cell lists, per origin chapter, the names it takes (``workbook.carry`` in its metadata);
the build replaces each of those blocks with the origin's text, so a fix made once reaches every
chapter that carries it.

The origin's text is its *reference* text: the answer, without nbgrader's marker lines and without the
comment lines right above ``### BEGIN SOLUTION`` (they are the released stub's instruction to the
learner, meaningless once the answer is there).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
BEGIN_SOLUTION = re.compile(r"^\s*### BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"^\s*### END SOLUTION\s*$")
BLOCK_SEPARATOR = "\n\n\n"


class CarryError(ValueError):
    """A carried cell names something its origin does not define, or an origin that is not one."""


@dataclass(frozen=True)
class Block:
    """Lines ``start`` to ``end`` (0-based, end exclusive) of a cell, defining ``name`` (None: no name)."""

    name: str | None
    start: int
    end: int


def reference_text(source: str) -> str:
    """The answer as a reader of later chapters sees it: no nbgrader markers, no stub instructions."""
    kept: list[str] = []
    for line in source.splitlines():
        if BEGIN_SOLUTION.match(line):
            while kept and kept[-1].lstrip().startswith("#"):
                kept.pop()
        if not MARKER.match(line):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def has_answer(text: str) -> bool:
    """Whether ``text`` holds whole answers between solution markers (what a released stub leaves out):
    at least one region, each opened and closed inside the text."""
    depth, regions = 0, 0
    for line in text.splitlines():
        if BEGIN_SOLUTION.match(line):
            depth, regions = depth + 1, regions + 1
        elif END_SOLUTION.match(line):
            depth -= 1
        if depth not in (0, 1):
            return False
    return regions > 0 and depth == 0


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    target = None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    return target.id if isinstance(target, ast.Name) else None


def _is_plain_comment(line: str) -> bool:
    """A comment that belongs to the statement below it: not a magic, not an nbgrader marker."""
    return line.lstrip().startswith("#") and not line.startswith("%") and not MARKER.match(line)


def blocks(source: str) -> list[Block]:
    """The top-level blocks of a cell; IPython magics (``%%writefile``) are read as comments."""
    lines = source.splitlines()
    parsable = "\n".join("#" + line if line.startswith("%") else line for line in lines)
    try:
        tree = ast.parse(parsable)
    except SyntaxError as error:
        raise CarryError(f"not Python, so nothing can be carried in or out of it: {error}") from None
    found: list[Block] = []
    for node in tree.body:
        end = node.end_lineno or node.lineno
        # An indented END marker closes a region that began inside the body: it belongs to the block.
        while end < len(lines) and lines[end][:1].isspace() and MARKER.match(lines[end]):
            end += 1
        item_of = _item_assigned(node)
        if item_of is not None and found and found[-1].name == item_of:
            # `TABLE[key] = ...` right after TABLE's definition (or another item of it) is part of TABLE.
            found[-1] = Block(item_of, found[-1].start, end)
            continue
        decorators = getattr(node, "decorator_list", [])
        start = (decorators[0].lineno if decorators else node.lineno) - 1
        while start > 0 and _is_plain_comment(lines[start - 1]):
            start -= 1
        found.append(Block(_defined_name(node), start, end))
    return found


def _item_assigned(node: ast.stmt) -> str | None:
    """``X`` for a statement that completes ``X`` without naming anything: ``X[key] = value``,
    ``X.attribute = value``, ``X |= other`` or ``X.method(...)``. Right after ``X``'s block it is part of it."""
    target: ast.expr | None = None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AugAssign):
        target = node.target
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        target = node.value.func
    if isinstance(target, ast.Name) and isinstance(node, ast.AugAssign):
        return target.id
    if isinstance(target, ast.Subscript | ast.Attribute) and isinstance(target.value, ast.Name):
        return target.value.id
    return None


def definitions(source: str) -> dict[str, str]:
    """Each name a cell defines at top level, with the text that defines it (the last one wins)."""
    lines = source.splitlines()
    return {block.name: "\n".join(lines[block.start : block.end]) for block in blocks(source) if block.name}


def apply(source: str, carried: dict[str, str]) -> str:
    """``source`` with every carried block replaced by its origin's text, in place.

    Carried names the cell does not define yet are appended in the order given, so a new carried cell
    can start empty.
    """
    lines = source.splitlines()
    present = blocks(source) if source.strip() else []
    replaced: set[str] = set()
    for block in reversed(present):
        if block.name in carried:
            lines[block.start : block.end] = carried[block.name].splitlines()
            replaced.add(block.name)
    text = "\n".join(lines).strip("\n")
    missing = [carried[name] for name in carried if name not in replaced]
    return BLOCK_SEPARATOR.join(part for part in [text, *missing] if part)
