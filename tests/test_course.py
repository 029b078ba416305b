"""The course on disk (nbgrader_config.py, chapters) and how a batch finds submissions and their owners."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import ROOT
from typer.testing import CliRunner

from grader.cli import app
from grader.course import Course
from grader.errors import CourseError
from grader.pipeline.discover import discover, identify

CONFIG = 'c = get_config()\nc.CourseDirectory.source_directory = "src"\nc.CourseDirectory.release_directory = "rel"\n'


def _make_course(root: Path, chapters: list[str], config: str = CONFIG) -> Course:
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(config, encoding="utf-8")
    for chapter in chapters:
        (root / "src" / chapter).mkdir(parents=True)
        (root / "src" / chapter / f"{chapter}.ipynb").write_text("{}", encoding="utf-8")
    return Course.at(root)


def _notebook(path: Path, chapter: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"workbook": {"chapter": chapter}} if chapter else {}
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": []}), "utf-8")
    return path


def test_this_repository_is_a_course(course: Course):
    assert course.root == ROOT
    assert course.source == ROOT / "solutions"
    assert course.release == ROOT / "notebooks"
    assert course.chapter_ids == sorted(course.chapter_ids)
    for chapter in course.chapters():
        assert chapter.notebook.is_file()
        assert chapter.visible_tests.is_dir(), f"{chapter.id} has no checks/"
        assert chapter.hidden_tests.is_dir(), f"{chapter.id} has no hidden_tests/"
        assert list(chapter.visible_tests.glob("test_*.py")), f"{chapter.id} has no visible tests"
        assert list(chapter.hidden_tests.glob("test_*.py")), f"{chapter.id} has no hidden tests"


def test_chapters_are_folders_with_a_notebook_of_the_same_name(tmp_path: Path):
    course = _make_course(tmp_path, ["02-b", "01-a"])
    (tmp_path / "src" / "03-notes").mkdir()
    (tmp_path / "src" / "03-notes" / "scratch.ipynb").write_text("{}")  # not <id>/<id>.ipynb: no chapter
    (tmp_path / "src" / "README.md").write_text("")
    assert course.chapter_ids == ["01-a", "02-b"]
    assert course.source == tmp_path.resolve() / "src"
    assert course.release == tmp_path.resolve() / "rel"
    chapter = course.chapter("01-a")
    assert chapter.notebook == tmp_path.resolve() / "src" / "01-a" / "01-a.ipynb"
    assert chapter.visible_tests.name == "checks" and chapter.hidden_tests.name == "hidden_tests"
    assert [c.id for c in course.chapters()] == ["01-a", "02-b"]


def test_defaults_without_course_directory_settings(tmp_path: Path):
    course = _make_course(tmp_path, [], config="c = get_config()\n")
    assert (course.source_directory, course.release_directory) == ("source", "release")
    assert course.chapter_ids == []


def test_unknown_chapter_names_the_known_ones(tmp_path: Path):
    course = _make_course(tmp_path, ["01-a"])
    with pytest.raises(CourseError, match=r"unknown chapter '99-x' \(this course has: 01-a\)"):
        course.chapter("99-x")


def test_not_a_course(tmp_path: Path):
    with pytest.raises(CourseError, match=r"has no nbgrader_config\.py"):
        Course.at(tmp_path)


def test_discover_walks_up_to_the_config(tmp_path: Path):
    _make_course(tmp_path / "course", ["01-a"])
    deep = tmp_path / "course" / "submitted" / "ada" / "01-a"
    deep.mkdir(parents=True)
    assert Course.discover(deep).root == (tmp_path / "course").resolve()
    assert Course.discover(ROOT / "solutions").root == ROOT


def test_discover_fails_clearly(tmp_path: Path):
    with pytest.raises(CourseError, match=r"no nbgrader_config\.py found"):
        Course.discover(tmp_path)


def test_identify_from_an_nbgrader_path(tmp_path: Path):
    course = _make_course(tmp_path, ["01-a"])
    path = _notebook(tmp_path / "submitted" / "ada" / "01-a" / "01-a.ipynb")
    submission = identify(path, course, None, None)
    assert (submission.student_id, submission.assignment) == ("ada", "01-a")


def test_identify_prefers_option_then_metadata_then_path(tmp_path: Path):
    course = _make_course(tmp_path, ["01-a", "02-b"])
    tagged = _notebook(tmp_path / "loose" / "homework.ipynb", chapter="02-b")
    assert identify(tagged, course, None, None).assignment == "02-b"
    assert identify(tagged, course, "01-a", "zoe").assignment == "01-a"
    assert identify(tagged, course, None, "zoe").student_id == "zoe"
    assert identify(tagged, course, None, None).student_id == "homework"
    untagged = _notebook(tmp_path / "01-a" / "mine.ipynb")
    assert identify(untagged, course, None, None).assignment == "01-a"  # from the folder name
    lost = _notebook(tmp_path / "elsewhere" / "mine.ipynb")
    assert identify(lost, course, None, None).assignment is None


def test_discover_a_course_root_and_duplicate_identities(tmp_path: Path):
    course = _make_course(tmp_path, ["01-a"])
    for student in ("ada", "bob"):
        _notebook(tmp_path / "submitted" / student / "01-a" / "01-a.ipynb")
    _notebook(tmp_path / "submitted" / "ada" / "01-a" / "copy.ipynb")
    _notebook(tmp_path / "submitted" / "ada" / "01-a" / ".ipynb_checkpoints" / "01-a-checkpoint.ipynb")
    found = discover([tmp_path], course)
    assert sorted((s.student_id, s.assignment) for s in found) == [("ada", "01-a"), ("ada-2", "01-a"), ("bob", "01-a")]


def test_cli_grade_with_no_notebooks_exits_2(tmp_path: Path):
    _make_course(tmp_path / "course", ["01-a"])
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(
        app, ["grade", str(empty), "--out", str(tmp_path / "out"), "--course", str(tmp_path / "course")]
    )
    assert result.exit_code == 2


def test_cli_release_unknown_chapter_exits_2_before_nbgrader_runs(tmp_path: Path):
    course = _make_course(tmp_path, ["01-a"])
    result = CliRunner().invoke(app, ["release", "99-x", "--course", str(course.root)])
    assert result.exit_code == 2
    assert not course.release.exists()
