"""Stage 5, run tests: pytest with pytest-asyncio in this process, the learner's code behind a backend."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from grader.course import Chapter
from grader.errors import CourseError
from grader.models import TestOutcome
from grader.testing.backend import Backend
from grader.testing.plugin import GraderPlugin

PYTEST_INI = Path(__file__).resolve().parent.parent / "testing" / "pytest.ini"
_module_ids = itertools.count()
# How a check reaches the submission's second learner process (``Learner.race``, ``learner.racing()``, the
# ``twin_client`` fixture): see races_in.
TWIN_NAMES = frozenset({"race", "racing", "twin_client"})
TWIN_WORDS = re.compile(r"\b(?:" + "|".join(sorted(TWIN_NAMES)) + r")\b")


def races_in(folders: list[Path]) -> bool:
    """Whether a check in these folders runs the submission in a second process too (a race), read from the
    checks' source: grading then starts that process beside the first, before the tests, instead of when the
    first race comes, in the middle of the tests."""
    for path in (file for folder in folders if folder.is_dir() for file in sorted(folder.glob("*.py"))):
        source = path.read_text(encoding="utf-8")
        if not TWIN_WORDS.search(source):  # most files: no parse (it cost a chapter 09 grading 45 ms)
            continue
        for node in ast.walk(ast.parse(source, filename=str(path))):
            name = getattr(node, "attr", None) or getattr(node, "id", None) or getattr(node, "arg", None)
            if name in TWIN_NAMES:
                return True
    return False


def _chapter_fixtures(path: Path) -> ModuleType | None:
    """Load ``checks/fixtures.py`` as a plugin, so visible and hidden tests share its fixtures."""
    if not path.is_file():
        return None
    name = f"grader_chapter_fixtures_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_pytest_plugins() -> None:
    """Import pytest's built-in plugins now: a process forked afterwards finds them imported, where each
    grading process's pytest.main would import them anew."""
    from _pytest.config import default_plugins

    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")


def _forget_test_modules(paths: list[Path]) -> None:
    """Drop the test modules a run imported. In importlib mode pytest names them after their path
    below the rootdir (``checks.test_ex1`` in every chapter) and reuses a module already in
    ``sys.modules``: a second run in this process would get another chapter's tests."""
    # Prefixes, not Path.resolve() per module: a kernel holds a thousand modules, and resolving each
    # cost a check() cell 0.15 s.
    roots = tuple({f"{root}{os.sep}" for path in paths for root in (path.absolute(), path.resolve())})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.startswith(roots):
            del sys.modules[name]


def run_tests(
    chapter: Chapter,
    backend: Backend,
    *,
    hidden_tests: Path | None = None,
    exercise: str | None = None,
    capture: str = "fd",
    include_visible: bool = True,
) -> list[TestOutcome]:
    """Run the chapter's visible tests and hidden ones (when given); one outcome per test."""
    paths = [chapter.visible_tests] if include_visible else []
    if hidden_tests is not None:
        if not hidden_tests.is_dir():
            raise CourseError(f"hidden tests of {chapter.id} not found at {hidden_tests}")
        paths.append(hidden_tests)
    plugin = GraderPlugin(backend, exercise=exercise, hidden_dir=hidden_tests)
    plugins: list[object] = [plugin]
    if (fixtures := _chapter_fixtures(chapter.fixtures)) is not None:
        plugins.append(fixtures)
    # Only the plugins checks use: auto-loading every installed one costs ~0.4 s per run, and
    # checks fail through expect(), so pytest's assertion rewriting is not needed either. The
    # unraisable-exception plugin runs gc.collect() five times when pytest ends (0.2 s in a kernel)
    # to report exceptions in __del__ as warnings, which are off.
    options = (
        "--disable-plugin-autoload -p pytest_asyncio.plugin --assert=plain -p no:terminal -p no:warnings "
        "-p no:logging -p no:unraisableexception"
    )
    args = [
        *map(str, paths),
        *("-c", str(PYTEST_INI), "--rootdir", str(chapter.directory), f"--capture={capture}"),
        *options.split(),
    ]
    previous = os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        code = pytest.main(args, plugins=plugins)
    finally:
        if previous is not None:
            os.environ["PYTEST_ADDOPTS"] = previous
        _forget_test_modules(paths)
    if plugin.collection_errors:
        raise CourseError("the chapter's tests could not be collected: " + "; ".join(plugin.collection_errors))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CourseError(f"pytest stopped with exit code {int(code)} while running the checks of {chapter.id}")
    if not plugin.outcomes:
        raise CourseError(f"no checks found for {chapter.id}" + (f" exercise {exercise}" if exercise else ""))
    return list(plugin.outcomes.values())
