"""A hint nudges before it tells: where a chapter's hints would hand over a line of its answer.

A hint has two levels. The first, always shown, names the idea (which tool, which rule, where to
look); the second, the *key line*, is the answer itself and is shown only when asked for: in a
notebook, a ``<details>`` folded inside the hint; in check output, the ``answer=`` of ``expect`` (or
``CheckFailure``), shown once the same check has failed before.

This module finds first levels that quote an answer line: a line between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in the chapter's source notebook that no provided code cell shows anyway.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

# Shorter lines (`return order`, `yield session`) are vocabulary, not an answer.
MIN_ANSWER_LINE = 16
HINT_SUMMARY = re.compile(r"<summary>\s*Hint\b", re.IGNORECASE)
DETAILS_TAG = re.compile(r"</?details\b[^>]*>", re.IGNORECASE)
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


@dataclass(frozen=True)
class Leak:
    """A first-level hint (``where``) that quotes ``line`` of the answer."""

    where: str
    line: str

    def __str__(self) -> str:
        return f"{self.where} quotes the answer line `{self.line}`: move it to the hint's key line"


def normalise(text: str) -> str:
    return " ".join(text.split())


def _code_lines(text: str) -> set[str]:
    lines = {normalise(line) for line in text.splitlines()}
    return {line for line in lines if len(line) >= MIN_ANSWER_LINE and not line.startswith(("#", '"""', "'''"))}


def answer_lines(notebook: NotebookNode) -> set[str]:
    """The answer's lines, less those a code cell shows outside its solution regions."""
    answers: set[str] = set()
    shown: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        answers |= {line for region in SOLUTION_REGION.findall(cell.source) for line in _code_lines(region)}
        shown |= _code_lines(SOLUTION_REGION.sub("", cell.source))
    return answers - shown


def quoted(text: str, answers: set[str]) -> list[str]:
    flat = normalise(text)
    return sorted(line for line in answers if line in flat)


def first_levels(markdown: str) -> Iterator[str]:
    """The first level of each hint in a markdown cell: the hint's text without the ``<details>`` in it."""
    for start in HINT_SUMMARY.finditer(markdown):
        depth, kept, position = 1, [], start.end()
        for tag in DETAILS_TAG.finditer(markdown, start.end()):
            if depth == 1:
                kept.append(markdown[position : tag.start()])
            depth += -1 if tag.group().startswith("</") else 1
            position = tag.end()
            if depth == 0:
                break
        else:
            kept.append(markdown[position:])
        yield "".join(kept)


def notebook_leaks(notebook: NotebookNode, answers: set[str], label: str) -> list[Leak]:
    leaks = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "markdown":
            continue
        for level in first_levels(cell.source):
            leaks += [Leak(f"{label}, the hint in cell {number}", line) for line in quoted(level, answers)]
    return leaks


# -- check output ---------------------------------------------------------------------------------------------
# A hint reaches a learner as the third argument (or ``hint=``) of these calls, or as the value of a name,
# parameter, function or fixture whose name has "hint" in it.
HINT_CALLS = {"expect": 2, "CheckFailure": 1}


def _is_hinty(name: str) -> bool:
    return "hint" in name.lower()


def _strings(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def _call_name(call: ast.Call) -> str:
    function = call.func
    return (
        function.id if isinstance(function, ast.Name) else function.attr if isinstance(function, ast.Attribute) else ""
    )


def _hint_parameters(tree: ast.Module) -> dict[str, set[int]]:
    """Per function of the module, the positions of its parameters named like a hint."""
    found: dict[str, set[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names[:1] in (["self"], ["cls"]):  # called as obj.method(...): the arguments start after it
                names = names[1:]
            found[node.name] = {i for i, name in enumerate(names) if _is_hinty(name)}
    return found


def hint_nodes(tree: ast.Module, positions: dict[str, set[int]]) -> Iterator[ast.expr]:
    """Every expression of a check module whose text may be shown as a hint."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            indexes = positions.get(name, set()) | ({HINT_CALLS[name]} if name in HINT_CALLS else set())
            yield from (arg for i, arg in enumerate(node.args) if i in indexes)
            yield from (k.value for k in node.keywords if k.arg and _is_hinty(k.arg))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_hinty(node.name):
            yield from (n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(isinstance(t, ast.Name) and _is_hinty(t.id) for t in targets):
                yield node.value


def module_leaks(path: Path, answers: set[str], positions: dict[str, set[int]], label: str) -> list[Leak]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    leaks = []
    for node in hint_nodes(tree, positions):
        text = " ".join(_strings(node))
        leaks += [Leak(f"{label}, the hint on line {node.lineno}", line) for line in quoted(text, answers)]
    return leaks


def chapter_leaks(source: Path, notebook: NotebookNode, modules: list[Path], root: Path) -> list[Leak]:
    """Every first-level hint of a chapter (its notebook's, read from ``source``, and its checks') that quotes
    the answer; places are named relative to ``root``."""
    answers = answer_lines(notebook)
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in modules}
    positions: dict[str, set[int]] = {}
    for tree in trees.values():  # a helper in fixtures.py takes hints passed from the test modules
        positions |= {name: found for name, found in _hint_parameters(tree).items() if found}
    leaks = notebook_leaks(notebook, answers, str(source.relative_to(root)))
    for path in modules:
        leaks += module_leaks(path, answers, positions, str(path.relative_to(root)))
    return leaks
