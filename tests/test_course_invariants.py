"""Course invariants that a graded check cannot hold for every chapter, held over the reference code.

A rule taught in one chapter is kept by every later chapter's reference code, given apps and carried
code (shared/design/CURRICULUM.md). Carried code is the origin's to the letter (tests/test_authoring.py);
these tests hold what later chapters write themselves, and what their apps answer.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from support import chapter_ids

from grader.authoring import carry
from grader.course import Course

# Chapter 03 teaches a unit of work that is open once at a time (entering it while open raises).
UNIT_OF_WORK_FROM = "03"
# Chapter 04 teaches query loading on plain sessions (chapter 02's style): it has no unit of work.
NO_UNIT_OF_WORK = {"04-n-plus-one"}
# Chapter 05 teaches that argon2 runs off the event loop; its graded check measures it over HTTP.
HASHING_FROM = "05"
HASHING = {"hash_password", "verify_password", "hash", "verify", "verify_and_update"}
# The test kit of chapter 08 hashes test data in fixtures, with a hasher a thousand times cheaper:
# no request is being served there.
NOT_REQUEST_CODE = {"testkit"}


def _reference_trees(course: Course, chapter_id: str) -> list[tuple[str, ast.Module]]:
    notebook = nbformat.read(course.chapter(chapter_id).notebook, 4)
    trees = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or not (meta.get("solution") or meta.get("locked")):
            continue
        source = "\n".join(
            "#" + line if line.startswith("%") else line for line in carry.reference_text(cell.source).splitlines()
        )
        try:
            trees.append((meta["grade_id"], ast.parse(source)))
        except SyntaxError:
            continue  # an INI file or a Mako template written by %%writefile
    return trees


def _hashing_on_the_loop(tree: ast.Module) -> list[str]:
    """Calls of a password-hashing function made directly inside an ``async def``."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                callee = node.func
                name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)
                if name in HASHING:
                    found.append(f"{function.name}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("hashing_chapter", [c for c in chapter_ids() if c[:2] >= HASHING_FROM])
def test_argon2_runs_off_the_event_loop_in_every_chapter_that_hashes(course: Course, hashing_chapter: str):
    blocking = [
        f"{grade_id}: {call}"
        for grade_id, tree in _reference_trees(course, hashing_chapter)
        if grade_id not in NOT_REQUEST_CODE
        for call in _hashing_on_the_loop(tree)
    ]
    assert blocking == [], f"{hashing_chapter} hashes on the event loop (use asyncio.to_thread): {blocking}"


def test_the_blocking_detector_sees_a_blocking_call():
    tree = ast.parse("async def log_in(p, h):\n    return verify_password(p, h)\n")
    assert _hashing_on_the_loop(tree) == ["log_in: verify_password(p, h)"]
    tree = ast.parse("async def log_in(p, h):\n    return await asyncio.to_thread(verify_password, p, h)\n")
    assert _hashing_on_the_loop(tree) == []


def _unit_of_work_guards(tree: ast.Module) -> dict[str, bool] | None:
    """For a ``class UnitOfWork`` in ``tree``: does ``__aenter__`` raise RuntimeError, does ``__aexit__``
    set ``self.session = None``? None when the tree defines no such class."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "UnitOfWork":
            methods = {m.name: m for m in node.body if isinstance(m, ast.AsyncFunctionDef | ast.FunctionDef)}
            enter, leave = methods.get("__aenter__"), methods.get("__aexit__")
            refuses = enter is not None and any(
                isinstance(n, ast.Raise) and "RuntimeError" in ast.unparse(n) for n in ast.walk(enter)
            )
            resets = leave is not None and any(
                isinstance(n, ast.Assign) and ast.unparse(n) == "self.session = None" for n in ast.walk(leave)
            )
            return {"refuses a second entry": refuses, "closes to None": resets}
    return None


@pytest.mark.parametrize(
    "uow_chapter", [c for c in chapter_ids() if c[:2] >= UNIT_OF_WORK_FROM and c not in NO_UNIT_OF_WORK]
)
def test_every_unit_of_work_is_open_once_at_a_time(course: Course, uow_chapter: str):
    found = [
        (grade_id, guards)
        for grade_id, tree in _reference_trees(course, uow_chapter)
        if (guards := _unit_of_work_guards(tree)) is not None
    ]
    assert found, f"{uow_chapter} defines no UnitOfWork"
    for grade_id, guards in found:
        assert all(guards.values()), f"{uow_chapter}, cell {grade_id}: {guards}"


def test_the_unit_of_work_detector_sees_a_missing_guard():
    tree = ast.parse(
        "class UnitOfWork:\n    async def __aenter__(self):\n        self.session = 1\n"
        "    async def __aexit__(self, *exc):\n        await self.session.close()\n"
    )
    assert _unit_of_work_guards(tree) == {"refuses a second entry": False, "closes to None": False}


# Chapter 01's unique constraint and chapter 03's models index every foreign key (chapter 04 reads the plan).
INDEX_CALLS = {"UniqueConstraint": 0, "Index": 1}  # where the column names start among the arguments


def _callee(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def _leading_index_columns(model: ast.ClassDef) -> set[str]:
    """The first column of each unique constraint or index in the model's ``__table_args__``."""
    leading = set()
    for statement in model.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if not any(isinstance(target, ast.Name) and target.id == "__table_args__" for target in targets):
            continue
        for call in ast.walk(statement.value):
            if isinstance(call, ast.Call) and _callee(call) in INDEX_CALLS:
                names = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
                columns = names[INDEX_CALLS[_callee(call) or ""] :]
                leading.update(columns[:1])
    return leading


def _unindexed_foreign_keys(tree: ast.Module) -> list[str]:
    """Mapped columns with a ForeignKey and no index that starts with them."""
    found = []
    for model in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        leading = _leading_index_columns(model)
        for statement in model.body:
            if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Call)):
                continue
            column, call = getattr(statement.target, "id", "?"), statement.value
            foreign = any(isinstance(arg, ast.Call) and _callee(arg) == "ForeignKey" for arg in call.args)
            indexed = any(
                keyword.arg in ("index", "unique", "primary_key") and getattr(keyword.value, "value", None) is True
                for keyword in call.keywords
            )
            if foreign and not indexed and column not in leading:
                found.append(f"{model.name}.{column}")
    return found


@pytest.mark.parametrize("model_chapter", [c for c in chapter_ids() if c[:2] >= "01"])
def test_every_foreign_key_is_indexed(course: Course, model_chapter: str):
    unindexed = [
        f"{grade_id}: {column}"
        for grade_id, tree in _reference_trees(course, model_chapter)
        for column in _unindexed_foreign_keys(tree)
    ]
    assert unindexed == [], f"{model_chapter} has foreign keys without an index: {unindexed}"


def test_the_index_detector_sees_a_bare_foreign_key():
    tree = ast.parse(
        "class Book(Base):\n"
        "    __table_args__ = (UniqueConstraint('author_id', 'title'),)\n"
        "    author_id: Mapped[int] = mapped_column(ForeignKey('authors.id'))\n"
        "class Line(Base):\n"
        "    order_id: Mapped[int] = mapped_column(ForeignKey('orders.id'), index=True)\n"
        "    book_id: Mapped[int] = mapped_column(ForeignKey('books.id'))\n"
    )
    assert _unindexed_foreign_keys(tree) == ["Line.book_id"]


# Chapter 06 teaches one error contract (RFC 9457 problems, nothing leaked) and chapter 07 adds input
# models that refuse unknown fields; tests/contract_audit.py holds every later reference app to both.
CONTRACT_FROM = "07"
AUDIT = Path(__file__).with_name("contract_audit.py")


def _audit(chapter_id: str, *options: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, str(AUDIT), chapter_id, *options], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.splitlines()[-1])


@pytest.mark.parametrize("later_chapter", [c for c in chapter_ids() if c[:2] >= CONTRACT_FROM])
def test_every_later_chapter_keeps_the_error_contract(later_chapter: str):
    assert _audit(later_chapter) == []


def test_the_contract_audit_sees_a_rule_not_yet_taught():
    """Chapter 06 comes before extra='forbid': the audit names exactly that rule, and nothing else."""
    assert _audit("06-error-contracts") == [
        "a registration with `is_admin` is not refused as an unknown field (extra='forbid')",
        "an order with a `customer_id`: not a 422 problem (the HTTP status is 404, expected 422)",
    ]


def test_the_contract_audit_fails_fastapis_defaults():
    """Chapter 07's app with FastAPI's own exception handlers: the audit names what chapter 06 fixes."""
    broken = _audit("07-response-models", "--default-handlers")
    for rule in (
        "an unknown URL: not a 404 problem",
        "a wrong method: not a 405 problem",
        "an unknown book: type None, not the table's",
        "no token: not a 401 problem",
        "the 422 repeats the password that was sent",
        "the 422's `errors` are not exactly {loc, msg, type} each",
        "a taken email: not a 409 problem",
        "a query on a dropped table: not a 500 problem",
    ):
        assert any(found.startswith(rule) for found in broken), (rule, broken)
