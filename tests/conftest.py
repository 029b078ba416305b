"""Shared fixtures: the course on disk, its chapters, and one graded batch of the whole course."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from support import ROOT, GradeFolder, chapter_ids, grade_cli, read_grade_folder

from grader.course import Course
from grader.history import STATE_DIR_ENV


def pytest_configure(config: pytest.Config) -> None:
    """The ``grader check`` runs of the tests keep their failed-check history away from the user's."""
    os.environ[STATE_DIR_ENV] = tempfile.mkdtemp(prefix="grader-state-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop(STATE_DIR_ENV, ""), ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Any test taking ``chapter_id`` runs once per chapter found in solutions/ at collection time."""
    if "chapter_id" in metafunc.fixturenames:
        metafunc.parametrize("chapter_id", chapter_ids())


@pytest.fixture(scope="session")
def course() -> Course:
    return Course.at(ROOT)


@pytest.fixture(scope="session")
def course_grades(
    course: Course, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], GradeFolder]:
    """Every solution and every released notebook, graded in one ``grader grade`` batch."""
    out = tmp_path_factory.mktemp("grades")
    completed = grade_cli([course.source, course.release], out, "--jobs", "2")
    return completed, read_grade_folder(out)
