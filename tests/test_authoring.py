"""One source for every piece of the course: chapter sources, carried code and what the build writes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from support import copy_course

from grader.authoring import build, carry
from grader.course import Course
from grader.errors import CourseError
from grader.release import check, release

MAX_VISIBLE_LINES = 150


def _built(course: Course) -> dict[str, nbformat.NotebookNode]:
    return {
        chapter.id: nbformat.reads(chapter.files[course.source / chapter.id / f"{chapter.id}.ipynb"], 4)
        for chapter in build.build(course)
    }


def _carried_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.get("metadata", {}).get("workbook", {}).get("carry")]


# -- the committed course -------------------------------------------------------------------------------


def test_every_chapter_has_a_text_source(course: Course):
    assert sorted(build.source_paths(course)) == course.chapter_ids


def test_committed_notebooks_are_what_their_sources_build(course: Course):
    stale = [path.relative_to(course.root).as_posix() for path in check(course, released=False).stale]
    assert stale == [], "run `uv run grader release` and commit solutions/ and notebooks/"


def test_carried_cells_equal_their_origin(course: Course):
    """Each carried definition is, to the letter, the reference text of the chapter that writes it."""
    notebooks = {chapter_id: nbformat.read(course.chapter(chapter_id).notebook, 4) for chapter_id in course.chapter_ids}
    origins = {chapter_id: build._origin_of(notebook) for chapter_id, notebook in notebooks.items()}
    checked = 0
    for chapter_id, notebook in notebooks.items():
        for cell in _carried_cells(notebook):
            defined = carry.definitions(cell.source)
            for origin_id, names in cell.metadata["workbook"]["carry"].items():
                assert origin_id < chapter_id, f"{chapter_id} carries from a later chapter, {origin_id}"
                for name in names:
                    assert name not in origins[origin_id].carried, f"{origin_id} only carries {name}"
                    assert defined.get(name) == origins[origin_id].definitions[name], (
                        f"{chapter_id}: carried {name!r} differs from {origin_id}'s; run `uv run grader release`"
                    )
                    checked += 1
    assert checked > 100  # chapters 02-09 carry most of the bookshop


def test_carried_cells_are_collapsed(course: Course):
    for chapter_id in course.chapter_ids:
        notebook = nbformat.read(course.release / chapter_id / f"{chapter_id}.ipynb", 4)
        for cell in _carried_cells(notebook):
            assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, (chapter_id, cell.metadata)


def test_released_notebooks_reach_the_first_exercise_within_150_visible_lines(course: Course, chapter_id: str):
    notebook = json.loads((course.release / chapter_id / f"{chapter_id}.ipynb").read_text(encoding="utf-8"))
    lines = build.visible_lines_before_first_exercise(notebook)
    assert 0 < lines <= MAX_VISIBLE_LINES, f"{chapter_id}: {lines} visible lines before the first exercise"


def test_chapter_texts_state_how_long_they_take(course: Course, chapter_id: str):
    text = build.source_paths(course)[chapter_id].read_text(encoding="utf-8")
    assert "**Time**" in text, f"{chapter_id} does not say how long it takes"


def test_source_and_notebook_are_a_jupytext_pair(course: Course, chapter_id: str):
    """What JupyterLab's jupytext writes when an author saves the .ipynb is the committed .md, byte for byte."""
    config = build._config(course)
    notebook = nbformat.read(course.chapter(chapter_id).notebook, 4)
    source = build.source_paths(course)[chapter_id]
    assert jupytext.writes(notebook, fmt=build.SOURCE_FORMAT, config=config) == source.read_text(encoding="utf-8")


def test_released_notebooks_are_not_paired(course: Course, chapter_id: str):
    """A released notebook paired with a text file could be re-synced from one that holds the answers."""
    notebook = nbformat.read(course.release / chapter_id / f"{chapter_id}.ipynb", 4)
    assert "jupytext" not in notebook.metadata
    assert not list(course.release.rglob("jupytext.toml")) and not list(course.release.rglob("*.md"))


# -- the build on a copy of the course -------------------------------------------------------------------


@pytest.fixture
def course_copy(tmp_path: Path) -> Course:
    copy_course(tmp_path)
    return Course.at(tmp_path)


def _edit_source(course: Course, chapter_id: str, old: str, new: str) -> None:
    path = build.source_paths(course)[chapter_id]
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {chapter_id}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_fix_in_an_origin_reaches_every_chapter_that_carries_it(course_copy: Course):
    old = '"""An async engine; every SQLite connection it opens enforces foreign keys."""'
    new = '"""An async engine whose SQLite connections enforce foreign keys."""'
    _edit_source(course_copy, "01-persistence", old, new)
    built = _built(course_copy)
    carriers = [
        chapter_id
        for chapter_id, notebook in built.items()
        if any("make_engine" in names for c in _carried_cells(notebook) for names in c.metadata.workbook.carry.values())
    ]
    assert len(carriers) >= 6
    for chapter_id in carriers:
        text = "\n".join(cell.source for cell in _carried_cells(built[chapter_id]))
        assert new in text and old not in text, chapter_id


def test_a_carried_copy_edited_by_hand_is_refused_not_overwritten(course_copy: Course):
    """The edit would be lost at the next build: the build names the chapter to make it in."""
    source = build.source_paths(course_copy)["06-error-contracts"]
    _edit_source(
        course_copy,
        "06-error-contracts",
        "    return async_sessionmaker(engine, expire_on_commit=False)",
        "    return async_sessionmaker(engine)",
    )
    edited = source.read_text(encoding="utf-8")
    with pytest.raises(CourseError, match="make_sessionmaker was edited here, but it is carried from 01-persistence"):
        build.build(course_copy)
    assert source.read_text(encoding="utf-8") == edited


def test_an_origin_changed_since_the_last_build_is_not_taken_for_a_hand_edit(course_copy: Course):
    _edit_source(
        course_copy,
        "01-persistence",
        "    return async_sessionmaker(engine, expire_on_commit=False)",
        "    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)",
    )
    build.write(build.build(course_copy))
    assert check(course_copy, released=False).clean
    text = course_copy.chapter("06-error-contracts").notebook.read_text(encoding="utf-8")
    assert "autoflush=False" in text


def test_an_answer_cell_cannot_carry_code(course_copy: Course):
    """Carried code in an answer cell would replace the solution markers and release the answer."""
    _edit_source(
        course_copy,
        "09-capstone",
        "nbgrader:\n  grade: false\n  grade_id: ex1-database\n",
        "workbook:\n  carry:\n    01-persistence: [make_sessionmaker]\n"
        "nbgrader:\n  grade: false\n  grade_id: ex1-database\n",
    )
    with pytest.raises(CourseError, match="an answer cell cannot carry code"):
        build.build(course_copy)


def _answer_cell(course: Course, chapter_id: str, grade_id: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(course.chapter(chapter_id).notebook, 4)
    return next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_a_recalled_answer_is_the_origins_answer_markers_and_all(course: Course):
    """Chapter 07 asks again for chapter 06's 422 handler: the answer is written once, the stub is the same."""
    recalled = _answer_cell(course, "07-response-models", "ex3-solution")
    origin = carry.definitions(_answer_cell(course, "06-error-contracts", "ex4-solution").source)
    assert recalled.metadata.workbook.recall == {"06-error-contracts": ["validation_error_handler"]}
    assert recalled.source == origin["validation_error_handler"]
    assert "### BEGIN SOLUTION" in recalled.source and "### END SOLUTION" in recalled.source
    assert not recalled.metadata.get("jupyter", {}).get("source_hidden")  # the learner writes in it
    released = nbformat.read(course.release / "07-response-models" / "07-response-models.ipynb", 4)
    stub = next(c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-solution")
    assert "problem_response(" not in stub.source and "raise NotImplementedError" in stub.source


def test_a_provided_cell_cannot_recall(course_copy: Course):
    _edit_source(
        course_copy,
        "09-capstone",
        "nbgrader:\n  grade: false\n  grade_id: setup\n",
        "workbook:\n  recall:\n    06-error-contracts: [validation_error_handler]\n"
        "nbgrader:\n  grade: false\n  grade_id: setup\n",
    )
    with pytest.raises(CourseError, match="only an answer cell recalls; a provided cell carries"):
        build.build(course_copy)


def test_recalling_what_the_origin_gives_is_refused(course_copy: Course):
    """Only an exercise's answer can be asked for again; given code is carried."""
    _edit_source(
        course_copy,
        "07-response-models",
        "    06-error-contracts: [validation_error_handler]\n",
        "    06-error-contracts: [validation_error_handler, Problem]\n",
    )
    with pytest.raises(CourseError, match="recalls 'Problem', which is not a whole answer in 06-error-contracts"):
        build.build(course_copy)


def test_item_assignments_belong_to_the_table_above_them():
    source = "T = {1: 'a'}\nT[2] = 'b'\nT[3] = (\n    'c'\n)\n\n\nU = 1\nU[0] = 2\n"
    found = carry.definitions(source)
    assert found["T"] == "T = {1: 'a'}\nT[2] = 'b'\nT[3] = (\n    'c'\n)"
    assert found["U"] == "U = 1\nU[0] = 2"
    assert carry.apply(source, {"T": "T = {}"}) == "T = {}\n\n\nU = 1\nU[0] = 2"


def test_statements_that_complete_a_name_belong_to_it():
    source = "log = get()\nlog.handlers = [h]\nlog.setLevel(1)\nlog |= x\n\n\nother = 1\n"
    assert carry.definitions(source)["log"] == "log = get()\nlog.handlers = [h]\nlog.setLevel(1)\nlog |= x"


def test_only_whole_answers_can_be_recalled():
    assert carry.has_answer("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    assert not carry.has_answer("T = {}\n### BEGIN SOLUTION\nT[1] = 2")  # the region closes outside
    assert not carry.has_answer("def f():\n    return 1")


def test_an_indented_end_marker_closes_the_block_that_opened_it():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\n### BEGIN SOLUTION\nX = 1\n"
    assert carry.definitions(source)["f"].endswith("    ### END SOLUTION")
    assert carry.definitions(source)["X"] == "X = 1"


def test_a_solution_marker_is_never_taken_as_a_definitions_comment():
    source = "class A:\n    x = 1\n### BEGIN SOLUTION\n# the answer\ndef f():\n    return 1\n### END SOLUTION\n"
    assert carry.apply(source, {"f": "def f():\n    return 2"}).splitlines()[2] == "### BEGIN SOLUTION"


def test_a_misnamed_source_is_refused(course_copy: Course):
    source = build.source_paths(course_copy)["09-capstone"]
    source.rename(source.with_name("capstone.md"))
    with pytest.raises(
        CourseError, match=re.escape("09-capstone has no source: write it as 09-capstone/09-capstone.md")
    ):
        build.build(course_copy)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  grade_id: models\n",
            "  grade_id: models\n  oops: [\n",
            "06-error-contracts.md: not a readable chapter source",
        ),
        (
            "    01-persistence: [make_engine, make_sessionmaker,",
            "    01-persistence: make_engine\n    00-x: [make_sessionmaker,",
            "maps each origin chapter to a list of names",
        ),
    ],
    ids=["yaml-typo", "carry-not-a-list"],
)
def test_a_typo_in_a_source_is_named_not_a_traceback(course_copy: Course, old: str, new: str, message: str):
    _edit_source(course_copy, "06-error-contracts", old, new)
    with pytest.raises(CourseError, match=message):
        build.build(course_copy)


def test_a_chapter_folder_must_be_named_nn_name(course_copy: Course):
    source = build.source_paths(course_copy)["00-orientation"]
    folder = course_copy.source / "1.5-extra"
    folder.mkdir()
    shutil.copy2(source, folder / "1.5-extra.md")
    with pytest.raises(CourseError, match="name it NN-name"):
        build.build(course_copy)


def test_check_compares_the_released_notebooks_too(course_copy: Course):
    for chapter_id in course_copy.chapter_ids[2:]:  # two chapters (they carry nothing) are enough here
        shutil.rmtree(course_copy.source / chapter_id)
    course_copy = Course.at(course_copy.root)
    released = course_copy.release / "00-orientation" / "00-orientation.ipynb"
    assert release(course_copy) and check(course_copy).clean
    released.write_text(released.read_text(encoding="utf-8").replace("Orientation", "Orientatoin"), encoding="utf-8")
    assert check(course_copy).unreleased == [
        "differs from a fresh release: notebooks/00-orientation/00-orientation.ipynb"
    ]


def test_carrying_a_name_the_origin_does_not_write_is_refused(course_copy: Course):
    _edit_source(
        course_copy, "06-error-contracts", "[make_engine, make_sessionmaker,", "[make_engine, no_such_function,"
    )
    with pytest.raises(CourseError, match="defines no 'no_such_function'"):
        build.build(course_copy)


def test_carrying_from_a_chapter_that_only_carries_it_is_refused(course_copy: Course):
    """The carry names the chapter to edit: one that carries the name itself would send the author astray."""
    _edit_source(
        course_copy,
        "06-error-contracts",
        "    01-persistence: [make_engine, make_sessionmaker, Base, Author, Book, create_schema]\n",
        "    01-persistence: [make_engine, make_sessionmaker, Author, Book, create_schema]\n"
        "    02-dependency-injection: [Base]\n",
    )
    with pytest.raises(CourseError, match="carries 'Base' itself"):
        build.build(course_copy)


def test_a_new_chapter_written_as_text_only_is_built(course_copy: Course):
    directory = course_copy.source / "10-extra"
    directory.mkdir()
    source = build.source_paths(course_copy)["01-persistence"]
    shutil.copy2(source, directory / "10-extra.md")
    shutil.copytree(source.parent / "checks", directory / "checks")
    built = build.build(course_copy)
    assert built[-1].id == "10-extra"
    build.write(built)
    notebook = nbformat.read(directory / "10-extra.ipynb", 4)
    assert notebook.metadata.workbook.chapter == "10-extra"


# -- carry, unit by unit ---------------------------------------------------------------------------------


def test_reference_text_drops_markers_and_the_stubs_instructions():
    source = (
        "def f(x: int) -> int:\n"
        '    """Double x."""\n'
        "    # Return x times two.\n"
        "    # (one line is enough)\n"
        "    ### BEGIN SOLUTION\n"
        "    # the answer\n"
        "    return 2 * x\n"
        "    ### END SOLUTION\n"
    )
    assert (
        carry.reference_text(source) == 'def f(x: int) -> int:\n    """Double x."""\n    # the answer\n    return 2 * x'
    )


def test_apply_replaces_carried_blocks_in_place_and_keeps_the_rest():
    cell = "# the engine\ndef a():\n    return 1\n\n\nX = 2\n\n\n@decorate\nclass B:\n    pass\n"
    result = carry.apply(cell, {"a": "def a():\n    return 10", "B": "class B:\n    x = 1", "c": "def c():\n    pass"})
    assert result == "def a():\n    return 10\n\n\nX = 2\n\n\nclass B:\n    x = 1\n\n\ndef c():\n    pass"


def test_apply_fills_an_empty_cell_in_the_order_given():
    assert carry.apply("", {"b": "B = 1", "a": "A = 2"}) == "B = 1\n\n\nA = 2"


def test_blocks_read_a_writefile_cell():
    source = '%%writefile app/x.py\n"""Module."""\n\nimport os\n\n\ndef f():\n    return os.sep\n'
    assert carry.definitions(source) == {"f": "def f():\n    return os.sep"}


def test_a_course_of_notebooks_only_is_released_as_it_stands(course_copy: Course):
    """An instructor's own course without .md sources still releases through `grader release`."""
    for source in build.source_paths(course_copy).values():
        source.unlink()
    (course_copy.source / "jupytext.toml").unlink()
    assert build.build(course_copy) == []
    assert release(course_copy, ["00-orientation"]) == ["00-orientation"]
    assert (course_copy.release / "00-orientation" / "00-orientation.ipynb").is_file()


# -- points, written once on the tests -------------------------------------------------------------------


def _check_cell_points(notebook: nbformat.NotebookNode, exercise: str) -> float:
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{exercise}-check"]
    return cells[0].metadata.nbgrader.points


def test_a_check_cells_points_follow_its_tests_markers(course_copy: Course):
    test_file = course_copy.source / "02-dependency-injection" / "checks" / "test_ex6.py"
    text = test_file.read_text(encoding="utf-8")
    assert "@pytest.mark.points(1)" in text
    test_file.write_text(text.replace("@pytest.mark.points(1)", "@pytest.mark.points(3)", 1), encoding="utf-8")
    before = _check_cell_points(nbformat.read(course_copy.chapter("02-dependency-injection").notebook, 4), "ex6")
    after = _check_cell_points(_built(course_copy)["02-dependency-injection"], "ex6")
    assert after == before + 2


def test_tests_of_an_exercise_without_a_check_cell_are_refused(course_copy: Course):
    extra = course_copy.source / "00-orientation" / "hidden_tests" / "test_ex9_hidden.py"
    extra.write_text("import pytest\n\n\n@pytest.mark.exercise('ex9')\nasync def test_x():\n    pass\n")
    with pytest.raises(CourseError, match="tests of ex9 but no check cell"):
        build.build(course_copy)


def test_test_classes_and_syntax_errors_in_tests_are_named(course_copy: Course):
    extra = course_copy.source / "00-orientation" / "hidden_tests" / "test_ex1_more_hidden.py"
    extra.write_text("import pytest\n\n\nclass TestGroup:\n    async def test_x(self):\n        pass\n")
    with pytest.raises(CourseError, match="checks are module-level functions"):
        build.build(course_copy)
    extra.write_text("def test_x(:\n")
    with pytest.raises(CourseError, match=re.escape("test_ex1_more_hidden.py: line 1")):
        build.build(course_copy)


def test_parametrized_checks_are_refused(course_copy: Course):
    extra = course_copy.source / "00-orientation" / "hidden_tests" / "test_ex1_more_hidden.py"
    extra.write_text(
        "import pytest\n\n\n@pytest.mark.exercise('ex1')\n@pytest.mark.parametrize('x', [1, 2])\n"
        "async def test_x(x):\n    pass\n"
    )
    with pytest.raises(CourseError, match="parametrized"):
        build.build(course_copy)


def test_every_checks_name_is_its_whole_docstring(course: Course):
    """A check is shown by its docstring's first line: a docstring that goes on would show a name cut short."""
    import ast

    cut = []
    for path in sorted(course.source.glob("*/*/test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                doc = ast.get_docstring(node) or ""
                if len(doc.strip().splitlines()) > 1:
                    cut.append(f"{path.parent.parent.name}/{path.parent.name}/{path.name}::{node.name}")
    assert not cut, cut
