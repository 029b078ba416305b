"""The course on disk: nbgrader's configuration, chapters, their notebooks and tests."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import BaseModel
from traitlets.config.loader import PyFileConfigLoader

from grader.errors import CourseError

CONFIG_FILE = "nbgrader_config.py"
VISIBLE_TESTS = "checks"
HIDDEN_TESTS = "hidden_tests"
CHAPTER_FIXTURES = "fixtures.py"


def exercise_of(grade_id: str | None) -> str | None:
    """The exercise a cell belongs to, by the course's grade ids: ``ex3-solution`` -> ``ex3``; provided
    cells (``cell-03-...``) belong to none."""
    if grade_id is None or not grade_id.startswith("ex"):
        return None
    return grade_id.split("-", 1)[0]


class Chapter(BaseModel):
    """One assignment: ``<source>/<id>/<id>.ipynb`` with ``checks/`` and ``hidden_tests/`` beside it."""

    id: str
    directory: Path

    @property
    def notebook(self) -> Path:
        return self.directory / f"{self.id}.ipynb"

    @property
    def visible_tests(self) -> Path:
        return self.directory / VISIBLE_TESTS

    @property
    def hidden_tests(self) -> Path:
        return self.directory / HIDDEN_TESTS

    @property
    def fixtures(self) -> Path:
        return self.visible_tests / CHAPTER_FIXTURES


class Course(BaseModel):
    """An nbgrader course root whose ``nbgrader_config.py`` names the source and release folders."""

    root: Path
    source_directory: str = "source"
    release_directory: str = "release"

    @classmethod
    def at(cls, root: Path) -> Course:
        config_path = root / CONFIG_FILE
        if not config_path.is_file():
            raise CourseError(f"{root} is not a course: it has no {CONFIG_FILE}")
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
        course_dir = config.get("CourseDirectory", {})
        return cls(
            root=root.resolve(),
            source_directory=course_dir.get("source_directory", "source"),
            release_directory=course_dir.get("release_directory", "release"),
        )

    @classmethod
    def discover(cls, start: Path | None = None) -> Course:
        """The nearest folder at or above ``start`` (default: here) holding ``nbgrader_config.py``."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.at(folder)
        raise CourseError(f"no {CONFIG_FILE} found in {here} or above it; pass --course")

    @property
    def source(self) -> Path:
        return self.root / self.source_directory

    @property
    def release(self) -> Path:
        return self.root / self.release_directory

    @cached_property
    def chapter_ids(self) -> list[str]:
        if not self.source.is_dir():
            return []
        return sorted(p.parent.name for p in self.source.glob("*/*.ipynb") if p.stem == p.parent.name)

    def chapter(self, chapter_id: str) -> Chapter:
        if chapter_id not in self.chapter_ids:
            known = ", ".join(self.chapter_ids) or "none"
            raise CourseError(f"unknown chapter {chapter_id!r} (this course has: {known})")
        return Chapter(id=chapter_id, directory=self.source / chapter_id)

    def chapters(self) -> list[Chapter]:
        return [self.chapter(chapter_id) for chapter_id in self.chapter_ids]
