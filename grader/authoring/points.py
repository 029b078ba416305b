"""An exercise's points, written once: on its tests (``@pytest.mark.points``), summed into its check cell.

nbgrader reads a check cell's ``points`` (stock ``nbgrader autograde`` scores the cell all or nothing);
the grader scores each test by its marker. The build writes the first from the second, so the two can
never disagree. Markers are read from the test files' syntax, without importing them: a test's
``exercise`` comes from its decorator or the module's ``pytestmark``, its points likewise (default 1,
as in ``grader.testing.plugin``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.errors import CourseError

DEFAULT_POINTS = 1.0


def _marks(expressions: list[ast.expr], where: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for expression in expressions:
        if not (isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute)):
            continue
        name = expression.func.attr
        if name == "parametrize":
            raise CourseError(f"{where}: parametrized checks are not supported (each case would need its points)")
        if name not in {"exercise", "points"}:
            continue
        if len(expression.args) != 1 or not isinstance(expression.args[0], ast.Constant):
            raise CourseError(f"{where}: @pytest.mark.{name}(...) takes one literal value")
        found[name] = expression.args[0].value
    return found


def _module_marks(tree: ast.Module, where: str) -> dict[str, object]:
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(getattr(target, "id", None) == "pytestmark" for target in targets):
            values = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            return _marks(values, where)
    return {}


def exercise_points(test_files: list[Path]) -> dict[str, float]:
    """Each exercise's points: the sum over every test of these files (visible and hidden)."""
    totals: dict[str, float] = {}
    for path in test_files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as error:
            raise CourseError(f"{path}: line {error.lineno}: {error.msg}") from None
        module = _module_marks(tree, path.name)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                raise CourseError(f"{path.name}::{node.name}: checks are module-level functions, not test classes")
            if not (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")):
                continue
            marks = {**module, **_marks(node.decorator_list, f"{path.name}::{node.name}")}
            if "exercise" not in marks:
                raise CourseError(f"{path.name}::{node.name} has no @pytest.mark.exercise(...)")
            points = marks.get("points", DEFAULT_POINTS)
            if not isinstance(points, int | float) or isinstance(points, bool):
                raise CourseError(f"{path.name}::{node.name}: points must be a number")
            exercise = str(marks["exercise"])
            totals[exercise] = totals.get(exercise, 0.0) + float(points)
    return dict(totals)


def chapter_test_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("checks/test_*.py")) + sorted(directory.glob("hidden_tests/test_*.py"))
