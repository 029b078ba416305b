"""Stages 2 and 3, restore and extract: locked cells come from the source notebook, never from the submission."""

from __future__ import annotations

import copy

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.pipeline.extract import extract
from grader.pipeline.restore import released_source, restore

HIDDEN = "### BEGIN HIDDEN TESTS\ncheck('ex1', hidden=True)\n### END HIDDEN TESTS\n"


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False, points: int = 0):
    nbgrader = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def source_notebook() -> NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("# Chapter", metadata=_meta("intro", locked=True)),
            new_code_cell("import math", metadata=_meta("setup", locked=True)),
            new_code_cell(
                "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                metadata=_meta("ex1-solution", solution=True),
            ),
            new_code_cell("check('ex1')\n" + HIDDEN, metadata=_meta("ex1-check", grade=True, locked=True, points=2)),
            new_code_cell("g = f() + 1", metadata=_meta("uses-f", locked=True)),
            new_code_cell("# scratch space", metadata={}),
            new_code_cell(
                "def h():\n    ### BEGIN SOLUTION\n    return g\n    ### END SOLUTION",
                metadata=_meta("ex2-solution", solution=True),
            ),
            new_code_cell("check('ex2')", metadata=_meta("ex2-check", grade=True, locked=True, points=1)),
        ]
    )


def released_notebook() -> NotebookNode:
    """What nbgrader would release: solutions replaced, hidden blocks stripped."""
    notebook = copy.deepcopy(source_notebook())
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("solution"):
            cell.source = cell.source.split("### BEGIN SOLUTION")[0] + "raise NotImplementedError()"
        cell.source = released_source(cell.source)
    return notebook


def _by_id(notebook: NotebookNode, grade_id: str):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _order(restored) -> list[str | None]:
    return [cell.grade_id for cell in restored.cells]


def test_untouched_release_restores_nothing():
    restored = restore(released_notebook(), source_notebook())
    assert restored.restored == [] and restored.tampered == []
    assert _order(restored) == [c.metadata.get("nbgrader", {}).get("grade_id") for c in source_notebook().cells]
    kinds = [cell.kind for cell in restored.cells]
    assert kinds == ["markdown", "provided", "learner", "test", "provided", "learner", "learner", "test"]


def test_submitting_the_source_itself_is_not_tampering():
    """The source test cell carries the hidden block the release strips: both are untouched versions."""
    restored = restore(source_notebook(), source_notebook())
    assert restored.tampered == [] and restored.restored == []


def test_hidden_block_is_stripped_when_comparing():
    submitted = released_notebook()
    assert "HIDDEN" not in _by_id(submitted, "ex1-check").source
    _by_id(submitted, "ex1-check").source += "\n\n   "  # trailing blank lines and spaces are not tampering
    assert restore(submitted, source_notebook()).tampered == []


def test_tampered_test_cell_is_restored_and_recorded():
    submitted = released_notebook()
    _by_id(submitted, "ex1-check").source = "pass  # no checks here"
    restored = restore(submitted, source_notebook())
    assert restored.tampered == ["ex1-check"]
    assert restored.restored == []
    cell = next(c for c in restored.cells if c.grade_id == "ex1-check")
    assert cell.kind == "test"
    assert cell.source == _by_id(source_notebook(), "ex1-check").source


def test_tampered_provided_cell_is_restored():
    submitted = released_notebook()
    _by_id(submitted, "setup").source = "import math\nmath.pi = 3"
    restored = restore(submitted, source_notebook())
    assert restored.tampered == ["setup"]
    assert next(c for c in restored.cells if c.grade_id == "setup").source == "import math"


def test_unlocking_a_cell_in_metadata_changes_nothing():
    """A learner who flips a test cell to solution=True still gets the source's test cell back."""
    submitted = released_notebook()
    cell = _by_id(submitted, "ex2-check")
    cell.metadata["nbgrader"].update(grade=False, solution=True, locked=False)
    cell.source = "h = lambda: 2"
    restored = restore(submitted, source_notebook())
    assert restored.tampered == ["ex2-check"]
    assert next(c for c in restored.cells if c.grade_id == "ex2-check").kind == "test"
    assert "h = lambda: 2" not in [c.source for c in extract(restored)]


@pytest.mark.parametrize("deleted", ["ex1-check", "ex2-check", "setup", "uses-f"])
def test_deleted_locked_cell_is_reinserted_in_source_order(deleted: str):
    submitted = released_notebook()
    submitted.cells = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != deleted]
    restored = restore(submitted, source_notebook())
    assert restored.restored == [deleted]
    assert restored.tampered == []
    expected = [c.metadata.get("nbgrader", {}).get("grade_id") for c in source_notebook().cells]
    assert _order(restored) == expected
    assert [cell.index for cell in restored.cells] == list(range(len(expected)))


def test_provided_cell_that_uses_an_answer_comes_back_after_that_answer():
    """`uses-f` needs the learner's f: re-inserted before it, it would raise NameError."""
    submitted = released_notebook()
    submitted.cells = [
        c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in ("ex1-check", "uses-f")
    ]
    restored = restore(submitted, source_notebook())
    assert restored.restored == ["ex1-check", "uses-f"]
    program = [cell.grade_id for cell in extract(restored)]
    assert program.index("ex1-solution") < program.index("uses-f")


def test_all_locked_cells_deleted():
    submitted = released_notebook()
    submitted.cells = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("solution")]
    restored = restore(submitted, source_notebook())
    assert restored.restored == ["setup", "ex1-check", "uses-f", "ex2-check"]
    assert [c.grade_id for c in restored.cells] == [
        "setup",
        "ex1-solution",
        "ex1-check",
        "uses-f",
        "ex2-solution",
        "ex2-check",
    ]


def test_fake_test_cell_metadata_is_still_learner_code():
    """A learner cell claiming grade=True with an unknown grade_id is not a test cell: it runs as learner code."""
    submitted = released_notebook()
    fake = new_code_cell("f = lambda: 1", metadata=_meta("my-own-check", grade=True, locked=True, points=100))
    submitted.cells.insert(3, fake)
    restored = restore(submitted, source_notebook())
    cell = next(c for c in restored.cells if c.grade_id == "my-own-check")
    assert cell.kind == "learner"
    assert "f = lambda: 1" in [c.source for c in extract(restored)]
    assert restored.tampered == [] and restored.restored == []


@pytest.mark.parametrize(
    "nbgrader",
    [["grade", True], "test", {"grade_id": 5, "grade": True}, {"grade_id": ["ex1-check"]}, None],
    ids=["list", "string", "int-grade-id", "list-grade-id", "null"],
)
def test_odd_nbgrader_metadata_is_learner_code(nbgrader):
    submitted = released_notebook()
    submitted.cells.append(new_code_cell("y = 3", metadata={"nbgrader": nbgrader}))
    restored = restore(submitted, source_notebook())
    assert restored.cells[-1].kind == "learner"
    assert restored.cells[-1].source == "y = 3"


def test_duplicate_grade_id_of_a_locked_cell_is_restored_every_time():
    submitted = released_notebook()
    duplicate = copy.deepcopy(_by_id(submitted, "ex1-check"))
    duplicate.source = "f = lambda: 1"
    submitted.cells.append(duplicate)
    restored = restore(submitted, source_notebook())
    assert restored.tampered == ["ex1-check"]
    assert "f = lambda: 1" not in [c.source for c in extract(restored)]


def test_extract_keeps_learner_and_provided_code_in_order():
    submitted = released_notebook()
    submitted.cells.append(new_code_cell("   \n", metadata={}))  # blank cells are not code
    submitted.cells.append(new_markdown_cell("x = 1"))
    restored = restore(submitted, source_notebook())
    cells = extract(restored)
    assert [c.grade_id for c in cells] == ["setup", "ex1-solution", "uses-f", None, "ex2-solution"]
    assert [c.kind for c in cells] == ["provided", "learner", "provided", "learner", "learner"]
    assert [c.index for c in cells] == sorted(c.index for c in cells)
    assert all(c.kind != "test" for c in cells)


def test_released_source_strips_only_the_hidden_block():
    source = "check('ex1')\n" + HIDDEN + "print('after')\n"
    assert released_source(source) == "check('ex1')\nprint('after')\n"
    assert released_source("no block\n") == "no block\n"
