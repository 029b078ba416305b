"""Build the course's source notebooks from the chapters' text sources.

``solutions/CH/CH.md`` (MyST Markdown, read and written by jupytext) is where a chapter is written:
prose, code, and nbgrader's metadata on each cell. The build, chapter by chapter in order:

1. fills every carried cell (``workbook.carry``) with the definitions it takes from earlier chapters
   and collapses it (``jupyter.source_hidden``), so the text source always shows what runs; fills
   every recalled definition of an answer cell (``workbook.recall``: an exercise that asks again for
   what an earlier chapter taught) with the earlier chapter's answer, solution markers included, so
   the answer is written once and released as the same stub;
2. sets each check cell's nbgrader ``points`` to the sum of its exercise's test markers
   (``grader.authoring.points``), so a point value is written once, on the test;
3. writes ``solutions/CH/CH.ipynb`` (the notebook nbgrader releases), each cell id taken from its grade_id;
4. writes the files a chapter generates from its cells (``workbook.generates`` in the notebook's
   metadata: chapter 08's ``checks/reference_app.py``).

It writes only what changed, and ``check`` reports what a build would change without writing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from jupytext.config import JupytextConfiguration, load_jupytext_configuration_file
from nbformat import NotebookNode

from grader.authoring import carry, points
from grader.course import Course
from grader.errors import CourseError

SOURCE_SUFFIX = ".md"
SOURCE_FORMAT = "md:myst"
CONFIG_FILE = "jupytext.toml"
# Chapters are built in the order of their folder names, so numbers are zero-padded: 02 before 10.
CHAPTER_ID = re.compile(r"^[0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*$")
CELL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Origin:
    """What one chapter's reference cells define: each name's text, and which names it only carries."""

    definitions: dict[str, str] = field(default_factory=dict)
    carried: set[str] = field(default_factory=set)
    # Each name an answer cell defines, with its solution markers: what a later exercise may recall.
    answers: dict[str, str] = field(default_factory=dict)


@dataclass
class BuiltChapter:
    id: str
    files: dict[Path, str]


def source_paths(course: Course) -> dict[str, Path]:
    """Every chapter source ``<source>/CH/CH.md``, by chapter id, in course order.

    Once one chapter has a source, every chapter folder must have one, named after the folder: a
    renamed or missing source would otherwise leave its notebook unbuilt without a word.
    """
    if not course.source.is_dir():
        return {}
    found = {p.parent.name: p for p in course.source.glob(f"*/*{SOURCE_SUFFIX}") if p.stem == p.parent.name}
    if not found:
        return {}
    folders = {p.parent.name for p in course.source.glob("*/*.ipynb")} | {
        p.parent.name for p in course.source.glob(f"*/*{SOURCE_SUFFIX}")
    }
    for folder in sorted(folders - set(found)):
        raise CourseError(f"{course.source_directory}/{folder} has no source: write it as {folder}/{folder}.md")
    for chapter_id in found:
        if not CHAPTER_ID.match(chapter_id):
            raise CourseError(f"chapter folder {chapter_id!r}: name it NN-name (two digits, lower-case words)")
    return dict(sorted(found.items()))


def _config(course: Course) -> JupytextConfiguration:
    """The chapters' jupytext configuration: exactly ``<source>/jupytext.toml``, nothing inherited."""
    path = course.source / CONFIG_FILE
    if not path.is_file():
        raise CourseError(f"{path} is missing: it says how chapter sources pair with their notebooks")
    return load_jupytext_configuration_file(str(path))


def _read_source(path: Path, config: JupytextConfiguration) -> NotebookNode:
    try:
        return jupytext.read(path, fmt=SOURCE_FORMAT, config=config)
    except Exception as error:  # jupytext raises YAML, JSON and its own errors, with long tracebacks
        summary = " ".join(str(error).split())[:300]
        raise CourseError(f"{path}: not a readable chapter source ({type(error).__name__}: {summary})") from None


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_reference(cell: NotebookNode) -> bool:
    """Answer cells and provided (locked) code: what later chapters may carry. Check cells are not."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and not meta.get("grade") and bool(meta.get("solution") or meta.get("locked"))


def _name_spec(cell: NotebookNode, key: str) -> dict[str, list[str]]:
    spec = cell.get("metadata", {}).get("workbook", {}).get(key, {})
    well_formed = isinstance(spec, dict) and all(
        isinstance(names, list) and all(isinstance(name, str) for name in names) for names in spec.values()
    )
    if not well_formed:
        raise CourseError(
            f"cell {_grade_id(cell)!r}: workbook.{key} maps each origin chapter to a list of names, "
            f"as in `01-persistence: [make_engine, Base]`; found {spec!r}"
        )
    return dict(spec)


def _carry_spec(cell: NotebookNode) -> dict[str, list[str]]:
    return _name_spec(cell, "carry")


def _recall_spec(cell: NotebookNode) -> dict[str, list[str]]:
    return _name_spec(cell, "recall")


def _where(chapter_id: str, cell: NotebookNode) -> str:
    return f"{chapter_id}, cell {_grade_id(cell)!r}"


def _carried_text(
    chapter_id: str, cell: NotebookNode, origins: dict[str, Origin], *, recall: bool = False
) -> dict[str, str]:
    taken: dict[str, str] = {}
    for origin_id, names in (_recall_spec(cell) if recall else _carry_spec(cell)).items():
        if origin_id not in origins:
            raise CourseError(
                f"{_where(chapter_id, cell)}: carries from {origin_id!r}, which is not an earlier chapter"
            )
        origin = origins[origin_id]
        for name in names:
            if name in taken:
                raise CourseError(f"{_where(chapter_id, cell)}: carries {name!r} twice")
            if name not in origin.definitions:
                raise CourseError(f"{_where(chapter_id, cell)}: {origin_id} defines no {name!r} in its reference cells")
            if name in origin.carried:
                raise CourseError(
                    f"{_where(chapter_id, cell)}: {origin_id} carries {name!r} itself; name the chapter that writes it"
                )
            if recall and name not in origin.answers:
                raise CourseError(
                    f"{_where(chapter_id, cell)}: recalls {name!r}, which is not a whole answer in {origin_id} "
                    "(a definition with its own BEGIN/END SOLUTION markers inside): carry given code instead"
                )
            taken[name] = origin.answers[name] if recall else origin.definitions[name]
    return taken


def _origin_of_name(cell: NotebookNode, name: str) -> str:
    specs = {**_carry_spec(cell), **_recall_spec(cell)}
    return next(origin for origin, names in specs.items() if name in names)


def _refuse_hand_edits(chapter_id: str, cell: NotebookNode, built: NotebookNode | None, taken: dict[str, str]) -> None:
    """A carried definition edited in this chapter's source since the last build would be lost: refuse.

    The last build's notebook tells a hand edit (source differs from it) from an origin that changed
    (source still equal to it, origin not).
    """
    if built is None:
        return
    before = carry.definitions(built.source)
    now = carry.definitions(cell.source)
    for name, text in taken.items():
        if name in now and name in before and now[name] not in (before[name], text):
            origin = _origin_of_name(cell, name)
            raise CourseError(
                f"{_where(chapter_id, cell)}: {name} was edited here, but it is carried from {origin}: "
                f"make the change in {origin}'s source (or drop {name} from this cell's "
                "workbook.carry or workbook.recall list to make it this chapter's own)"
            )


def _fill_carried_cells(
    chapter_id: str, notebook: NotebookNode, origins: dict[str, Origin], previous: dict[str, NotebookNode]
) -> None:
    for cell in notebook.cells:
        if cell.cell_type != "code" or not (_carry_spec(cell) or _recall_spec(cell)):
            continue
        answer_cell = bool(cell.metadata.get("nbgrader", {}).get("solution"))
        if answer_cell and _carry_spec(cell):
            raise CourseError(
                f"{_where(chapter_id, cell)}: an answer cell cannot carry code (it would be released); "
                "to ask for an earlier chapter's answer again, recall it (workbook.recall)"
            )
        if _recall_spec(cell) and not answer_cell:
            raise CourseError(f"{_where(chapter_id, cell)}: only an answer cell recalls; a provided cell carries")
        try:
            taken = _carried_text(chapter_id, cell, origins, recall=answer_cell)
            _refuse_hand_edits(chapter_id, cell, previous.get(_grade_id(cell) or ""), taken)
            cell.source = carry.apply(cell.source, taken)
        except carry.CarryError as error:
            raise CourseError(f"{_where(chapter_id, cell)}: {error}") from None
        if not answer_cell:
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True


def _previous_build(path: Path) -> dict[str, NotebookNode]:
    """The cells of the notebook the last build wrote, by grade_id (none if it is missing or unreadable)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # a first build, or a notebook damaged by hand: nothing to compare with
        return {}
    return {grade_id: cell for cell in notebook.cells if (grade_id := _grade_id(cell))}


def _set_check_points(chapter_id: str, directory: Path, notebook: NotebookNode) -> None:
    """Each check cell's nbgrader points: the sum of its exercise's test markers (visible and hidden)."""
    totals = points.exercise_points(points.chapter_test_files(directory))
    checks = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and str(meta.get("grade_id", "")).endswith("-check"):
            checks[meta["grade_id"].removesuffix("-check")] = meta
    if unchecked := sorted(set(totals) - set(checks)):
        raise CourseError(f"{chapter_id}: tests of {', '.join(unchecked)} but no check cell (grade_id exN-check)")
    for exercise, meta in checks.items():
        if exercise not in totals:
            raise CourseError(f"{chapter_id}: check cell {exercise}-check has no test with that exercise marker")
        total = totals[exercise]
        meta["points"] = int(total) if total.is_integer() else total


def _origin_of(notebook: NotebookNode) -> Origin:
    origin = Origin()
    for cell in notebook.cells:
        if not _is_reference(cell):
            continue
        try:
            origin.definitions.update(carry.definitions(carry.reference_text(cell.source)))
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                answers = carry.definitions(cell.source)
                origin.answers.update({name: text for name, text in answers.items() if carry.has_answer(text)})
        except carry.CarryError:
            continue  # not Python (an INI file written by %%writefile): nothing to carry from it
        for names in [*_carry_spec(cell).values(), *_recall_spec(cell).values()]:
            origin.carried.update(names)
    return origin


def _generated_files(chapter_id: str, notebook: NotebookNode) -> dict[str, str]:
    """``workbook.generates``: files made of some of the chapter's cells, joined in the order given."""
    by_id = {_grade_id(cell): cell for cell in notebook.cells}
    files = {}
    for relative, spec in notebook.metadata.get("workbook", {}).get("generates", {}).items():
        missing = [grade_id for grade_id in spec["cells"] if grade_id not in by_id]
        if missing:
            raise CourseError(f"{chapter_id}: {relative} is made of cells that do not exist: {', '.join(missing)}")
        parts = [by_id[grade_id].source.strip() + "\n" for grade_id in spec["cells"]]
        files[relative] = spec.get("header", "") + "\n\n".join(parts)
    return files


def _notebook_text(chapter_id: str, notebook: NotebookNode) -> str:
    """The nbgrader source notebook: the source's cells, stable ids, no jupytext bookkeeping."""
    released = nbformat.from_dict(json.loads(json.dumps(notebook)))
    released.metadata.pop("jupytext", None)
    released.nbformat, released.nbformat_minor = 4, 5
    free = 0
    for cell in released.cells:
        grade_id = _grade_id(cell)
        if grade_id:
            cell.id = CELL_ID_UNSAFE.sub("-", grade_id)[:64]
        else:  # numbered among the free cells only, so adding a cell renumbers few others
            free += 1
            cell.id = f"{chapter_id[:2]}-free-{free:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(released)
    text = nbformat.writes(released)
    return text if text.endswith("\n") else text + "\n"


def _sorted(value: Any) -> Any:
    """Metadata with its keys sorted at every level, as nbformat writes it (so .md and .ipynb agree)."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value


def _normalise(notebook: NotebookNode) -> None:
    notebook.metadata = nbformat.from_dict(_sorted(notebook.metadata))
    for cell in notebook.cells:
        cell.metadata = nbformat.from_dict(_sorted(cell.metadata))


def build(course: Course) -> list[BuiltChapter]:
    """Every chapter built in memory, in order (a chapter carries only from the chapters before it)."""
    sources = source_paths(course)
    if not sources:
        return []
    config = _config(course)
    origins: dict[str, Origin] = {}
    built = []
    for chapter_id, source in sources.items():
        notebook = _read_source(source, config)
        notebook.metadata.setdefault("workbook", {})["chapter"] = chapter_id
        previous = _previous_build(source.parent / f"{chapter_id}.ipynb")
        _fill_carried_cells(chapter_id, notebook, origins, previous)
        _set_check_points(chapter_id, source.parent, notebook)
        _normalise(notebook)
        origins[chapter_id] = _origin_of(notebook)
        directory = source.parent
        files = {
            source: jupytext.writes(notebook, fmt=SOURCE_FORMAT, config=config),
            directory / f"{chapter_id}.ipynb": _notebook_text(chapter_id, notebook),
        }
        files.update({directory / name: text for name, text in _generated_files(chapter_id, notebook).items()})
        built.append(BuiltChapter(id=chapter_id, files=files))
    return built


def stale_files(chapters: list[BuiltChapter]) -> list[Path]:
    """The files whose content on disk differs from the build's."""
    return [
        path
        for chapter in chapters
        for path, text in chapter.files.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def write(chapters: list[BuiltChapter]) -> list[str]:
    """Write what changed; returns the chapters that changed."""
    stale = set(stale_files(chapters))
    for chapter in chapters:
        for path, text in chapter.files.items():
            if path in stale:
                path.write_text(text, encoding="utf-8")
    return [chapter.id for chapter in chapters if stale.intersection(chapter.files)]


def visible_lines_before_first_exercise(notebook: dict[str, Any]) -> int:
    """Lines a learner scrolls past before the first answer cell; a collapsed cell counts as one."""
    lines = 0
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            return lines
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
        lines += 1 if hidden else len(source.splitlines())
    return lines
