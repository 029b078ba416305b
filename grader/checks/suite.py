"""Run a notebook's pytest-style tests where they were defined, against an app or a copy of it with one
seeded bug (a *mutant*), and report plain data.

Chapter 08 has learners write tests; the checks grade those tests by running them. This module is
the runner, used in two places:

- ``await run_my_tests()`` in the notebook, on the kernel's own event loop;
- the chapter's probes, in the learner's sandboxed process while grading: there the tests run once
  against the reference app and once per mutant, and the grader judges the plain results.

The tests are ordinary pytest-asyncio tests (``async def test_x(client, shop): ...`` with fixtures made
with ``@pytest.fixture``), so they can be copied into a project unchanged. Running pytest itself for
every app variant would cost about half a second per variant; this runner resolves fixtures by
parameter name the way pytest does (function scope, setup and teardown of generator fixtures,
``tmp_path``, ``parametrize`` and ``skip`` marks) and starts in microseconds.

Every test has a time limit. A test stuck in an ``await`` is cancelled; a test stuck in a busy loop
(``while True: pass``) never gives the event loop a chance, so a watchdog thread raises
``TestTimedOut`` inside it, but only while the test's own code is on that thread's stack.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextlib
import ctypes
import inspect
import linecache
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import Any

# A grading request is cut off after 10 s, so one call starts tests for at most RUN_BUDGET seconds;
# the rest are reported `not_run` and asked for in another call. A test may run TEST_TIMEOUT seconds
# (the bookshop's tests take well under 0.2 s each), plus a little while it is being stopped.
TEST_TIMEOUT = 2.0
RUN_BUDGET = 6.0
REASON_CHARS = 400
PASSED, FAILED, NOT_WRITTEN, NOT_RUN, SKIPPED = "passed", "failed", "not_written", "not_run", "skipped"
FLAKY = "flaky"  # failed on a mutant, then also on the reference app when run again


class TestTimedOut(BaseException):
    """Raised inside a test that ran past its time limit (a BaseException, so `except Exception` keeps it)."""


# -- collecting tests and fixtures -----------------------------------------------------------------


@dataclass
class Case:
    """One test to run: a test function, or one parameter set of a parametrized one."""

    name: str
    function: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    skip: bool = False


def fixture_definition(value: Any) -> tuple[str, Callable[..., Any]] | None:
    """``(name, function)`` for a ``@pytest.fixture`` object, else None (pytest 8.4+ and older)."""
    marker = getattr(value, "_fixture_function_marker", None) or getattr(value, "_pytestfixturefunction", None)
    if marker is None:
        return None
    function = value._get_wrapped_function() if hasattr(value, "_get_wrapped_function") else value
    return (getattr(marker, "name", None) or function.__name__), function


def collect_fixtures(namespace: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    found = {}
    for value in list(namespace.values()):
        definition = fixture_definition(value)
        if definition is not None:
            found[definition[0]] = definition[1]
    return found


def is_test(name: str, value: Any) -> bool:
    return name.startswith("test") and inspect.isfunction(value) and fixture_definition(value) is None


def _marks(function: Callable[..., Any]) -> list[Any]:
    marks = getattr(function, "pytestmark", [])
    return list(marks) if isinstance(marks, list | tuple) else []


def expand(name: str, function: Callable[..., Any]) -> list[Case]:
    """The cases of one test function: one, or one per parameter set of ``@pytest.mark.parametrize``."""
    marks = _marks(function)
    skip = any(mark.name == "skip" for mark in marks)
    cases = [Case(name, function, {}, skip)]
    for mark in (m for m in marks if m.name == "parametrize"):
        argnames, argvalues = mark.args[0], mark.args[1]
        names = [a.strip() for a in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
        expanded = []
        for case in cases:
            for index, raw in enumerate(argvalues):
                if hasattr(raw, "values") and hasattr(raw, "marks"):  # pytest.param(..., id=...)
                    values, label = tuple(raw.values), raw.id or str(index)
                else:
                    values, label = (tuple(raw) if len(names) > 1 else (raw,)), str(index)
                params = case.params | dict(zip(names, values, strict=True))
                expanded.append(Case(f"{case.name}[{label}]", function, params, skip))
        cases = expanded
    return cases


def select_tests(namespace: dict[str, Any], selection: Iterable[Any] = ()) -> list[Case]:
    """The test functions of ``namespace`` in definition order: all of them, or those named in
    ``selection`` (exact names or name prefixes), or the functions given in ``selection``."""
    selection = list(selection)
    chosen: list[tuple[str, Callable[..., Any]]] = []
    if any(callable(item) for item in selection):
        chosen = [(item.__name__, item) for item in selection if callable(item)]
    else:
        prefixes = [str(item) for item in selection]
        chosen = [
            (name, value)
            for name, value in list(namespace.items())
            if is_test(name, value) and (not prefixes or name.startswith(tuple(prefixes)))
        ]
    return [case for name, function in chosen for case in expand(name, function)]


# -- explaining a failure --------------------------------------------------------------------------

SAFE_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.UnaryOp,
    ast.USub,
    ast.Call,
)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


SAFE_CALLS = {"len", "sorted", "list", "set", "tuple", "str"}  # builtins that only read their argument
SAFE_METHODS = {"json", "keys", "values", "items"}  # methods without arguments that only read


def _safe(expression: ast.AST) -> bool:
    """Whether re-evaluating ``expression`` only reads: names, attributes, subscripts, constants, and a
    few reading calls (``len(response.json())``); nothing private, nothing that awaits."""
    for node in ast.walk(expression):
        if isinstance(node, ast.Call):
            function = node.func
            reading_builtin = isinstance(function, ast.Name) and function.id in SAFE_CALLS and len(node.args) == 1
            reading_method = isinstance(function, ast.Attribute) and function.attr in SAFE_METHODS and not node.args
            if node.keywords or not (reading_builtin or reading_method):
                return False
        elif not isinstance(node, SAFE_NODES):
            return False
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return False
    return True


def _operand_values(statement: str, frame: FrameType) -> list[str]:
    """``expression = value`` for the non-constant sides of the comparison in an ``assert`` line,
    evaluated again where that only reads (see ``_safe``)."""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return []
    if not tree.body or not isinstance(tree.body[0], ast.Assert):
        return []
    test = tree.body[0].test
    operands = [test.left, *test.comparators] if isinstance(test, ast.Compare) else [test]
    shown = []
    for operand in operands:
        if isinstance(operand, ast.Constant) or not _safe(operand):
            continue
        try:
            code = compile(ast.Expression(operand), "<assert>", "eval")
            value = eval(code, frame.f_globals, dict(frame.f_locals))  # only reads: see _safe
        except Exception:
            continue
        shown.append(f"{ast.unparse(operand)} = {_short(value)}")
    return shown


def _learner_entry(tb: TracebackType | None, files: set[str]) -> TracebackType | None:
    """The innermost traceback entry in the learner's cells (the line that failed, as they wrote it)."""
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in files:
            found = tb
        tb = tb.tb_next
    return found


def describe_failure(exc: BaseException, files: set[str], timeout: float) -> str:
    """One line saying why a test failed: the exception and the line of the test that raised it."""
    if isinstance(exc, TestTimedOut | asyncio.TimeoutError | asyncio.CancelledError):
        return f"did not finish within {timeout:g} s (a loop that never ends, or an await that never returns?)"
    entry = _learner_entry(exc.__traceback__, files)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = type(exc).__name__ + (f": {message}" if message else "")
    if entry is not None:
        line = linecache.getline(entry.tb_frame.f_code.co_filename, entry.tb_lineno).strip()
        if isinstance(exc, AssertionError) and line.startswith("assert") and not message:
            values = _operand_values(line, entry.tb_frame)
            text = f"`{line}` failed" + (f" ({', '.join(values)})" if values else "")
        elif line:
            text += f" at `{line}`"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


# -- the watchdog ----------------------------------------------------------------------------------


def _raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))


def _on_stack(frame: FrameType | None, codes: frozenset[CodeType]) -> bool:
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


class Watchdog:
    """Stops a test that keeps the event loop's thread busy past its deadline.

    Every 50 ms it looks at that thread's stack. Once the deadline has passed and the test's own code
    has been on the stack in two samples in a row, it raises ``TestTimedOut`` in that thread, which
    surfaces inside the test. A test only waiting in an ``await`` is not on the stack: the runner's
    own time limit cancels it instead."""

    def __init__(self) -> None:
        self.thread_id = threading.get_ident()
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._codes: frozenset[CodeType] = frozenset()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="test-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disarm()
        self._stop.set()
        self._thread.join(timeout=1)

    def arm(self, deadline: float, codes: Iterable[CodeType]) -> None:
        with self._lock:
            self._deadline, self._codes = deadline, frozenset(codes)

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def _watch(self) -> None:
        seen = 0
        while not self._stop.wait(0.05):
            with self._lock:
                deadline, codes = self._deadline, self._codes
            if deadline is None or time.monotonic() < deadline:
                seen = 0
                continue
            seen = seen + 1 if _on_stack(sys._current_frames().get(self.thread_id), codes) else 0
            if seen < 2:
                continue
            with self._lock:
                # Look again under the lock: the runner disarms under it once the test has ended.
                frame = sys._current_frames().get(self.thread_id)
                if self._deadline is not None and _on_stack(frame, codes):
                    _raise_in_thread(self.thread_id, TestTimedOut)
            seen = -10  # if the test swallows it, try again after half a second


# -- running ---------------------------------------------------------------------------------------


def fixture_names(function: Callable[..., Any]) -> list[str]:
    """The parameters pytest fills with fixtures: those without a default value."""
    parameters = inspect.signature(function).parameters.values()
    return [p.name for p in parameters if p.default is inspect.Parameter.empty]


class FixtureError(Exception):
    """A test asks for a fixture that does not exist, or fixtures that depend on each other in a circle."""


class Resolver:
    """Builds the fixtures one test asks for (function scope), and tears them down in reverse order."""

    def __init__(self, fixtures: dict[str, Callable[..., Any]]) -> None:
        self.fixtures = fixtures
        self.values: dict[str, Any] = {}
        self.teardowns: list[Any] = []
        self.tmp: list[Path] = []

    async def get(self, name: str, chain: tuple[str, ...] = ()) -> Any:
        if name in self.values:
            return self.values[name]
        if name in chain:
            raise FixtureError(f"fixtures depend on each other in a circle: {' -> '.join((*chain, name))}")
        if name == "tmp_path" and name not in self.fixtures:
            path = Path(tempfile.mkdtemp(prefix="test-"))
            self.tmp.append(path)
            self.values[name] = path
            return path
        if name not in self.fixtures:
            known = ", ".join(sorted({*self.fixtures, "tmp_path"}))
            raise FixtureError(f"there is no fixture named {name!r} (known fixtures: {known})")
        function = self.fixtures[name]
        kwargs = {p: await self.get(p, (*chain, name)) for p in fixture_names(function)}
        value = function(**kwargs)
        if inspect.isasyncgen(value):
            self.teardowns.append(value)
            value = await value.__anext__()
        elif inspect.isgenerator(value):
            self.teardowns.append(value)
            value = next(value)
        elif inspect.isawaitable(value):
            value = await value
        self.values[name] = value
        return value

    async def close(self) -> None:
        """Finish every generator fixture, last set up first; the first error is raised after all ran."""
        error: BaseException | None = None
        for generator in reversed(self.teardowns):
            try:
                if inspect.isasyncgen(generator):
                    await generator.__anext__()
                else:
                    next(generator)
            except (StopIteration, StopAsyncIteration):
                pass
            except Exception as exc:
                error = error or exc
        self.teardowns.clear()
        for path in self.tmp:
            shutil.rmtree(path, ignore_errors=True)
        if error is not None:
            raise error


def _learner_codes(fixtures: dict[str, Callable[..., Any]], case: Case) -> set[CodeType]:
    functions = [case.function, *fixtures.values()]
    return {f.__code__ for f in functions if hasattr(f, "__code__")}


async def _call(case: Case, resolver: Resolver) -> None:
    wanted = [name for name in fixture_names(case.function) if name not in case.params]
    kwargs = {name: await resolver.get(name) for name in wanted} | case.params
    result = case.function(**kwargs)
    if inspect.isawaitable(result):
        await result


async def _within(coroutine: Any, watchdog: Watchdog, codes: set[CodeType], timeout: float) -> asyncio.Task:
    """Run ``coroutine`` as a task for at most ``timeout`` seconds (cancelled after that, or stopped by
    the watchdog if it keeps the thread busy); the task, done unless it swallowed the cancellation."""
    task = asyncio.ensure_future(coroutine)
    watchdog.arm(time.monotonic() + timeout + 0.3, codes)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)  # a test that swallows the cancellation is left behind
    finally:
        watchdog.disarm()
    return task


def _error(task: asyncio.Task) -> BaseException | None:
    if not task.done() or task.cancelled():
        return TestTimedOut()
    return task.exception()


async def run_case(case: Case, fixtures: dict[str, Callable[..., Any]], watchdog: Watchdog, timeout: float) -> dict:
    """Run one test with fresh fixtures; its outcome as plain data. The fixtures are torn down in a task
    of their own, so that a test cancelled for taking too long still closes its app and database."""
    started = time.monotonic()
    codes = _learner_codes(fixtures, case)
    files = {code.co_filename for code in codes}
    result = {"name": case.name, "outcome": PASSED, "reason": "", "seconds": 0.0}
    if case.skip:
        return result | {"outcome": SKIPPED, "reason": "marked skip"}
    resolver = Resolver(fixtures)
    exc = _error(await _within(_call(case, resolver), watchdog, codes, timeout))
    teardown = _error(await _within(resolver.close(), watchdog, codes, timeout))
    exc = exc or teardown
    result["seconds"] = round(time.monotonic() - started, 3)
    if exc is None:
        return result
    if isinstance(exc, NotImplementedError):
        return result | {"outcome": NOT_WRITTEN, "reason": "raises NotImplementedError (not written yet)"}
    return result | {"outcome": FAILED, "reason": describe_failure(exc, files, timeout)}


def _not_run(case: Case) -> dict:
    return {"name": case.name, "outcome": NOT_RUN, "reason": "", "seconds": 0.0}


async def run_cases(
    cases: list[Case],
    fixtures: dict[str, Callable[..., Any]],
    *,
    first_failure: bool = False,
    timeout: float = TEST_TIMEOUT,
    budget: float = RUN_BUDGET,
) -> list[dict]:
    """Run ``cases`` in order; stop after the first failure if asked, or once ``budget`` seconds are
    spent (the rest are reported ``not_run``, to be asked for again). The first case always runs."""
    results: list[dict] = []
    started = time.monotonic()
    with Watchdog() as watchdog:
        for case in cases:
            over_budget = results and time.monotonic() - started > budget  # the first test always runs
            if over_budget or (first_failure and any(r["outcome"] == FAILED for r in results)):
                results.append(_not_run(case))
                continue
            results.append(await run_case(case, fixtures, watchdog, timeout))
    return results


# -- app variants ----------------------------------------------------------------------------------


class PatchError(Exception):
    """A mutant's patch does not apply to the app's source (the source changed since it was written)."""


def apply_patch(source: str, patch: list[list[str]] | None) -> str:
    """``source`` with each ``(old, new)`` replacement applied; each ``old`` must occur exactly once."""
    for old, new in patch or []:
        if source.count(old) != 1:
            raise PatchError(f"the text to replace occurs {source.count(old)} times in the app, expected once")
        source = source.replace(old, new)
    return source


_reference_modules: dict[str, dict[str, Any]] = {}


def build_app_module(source: str, *, keep: bool = False) -> dict[str, Any]:
    """Run ``source`` (an app) as a fresh module; its namespace. With ``keep``, a module built from the
    same source before in this process is reused (the reference app serves every mutant's run)."""
    if keep and source in _reference_modules:
        return _reference_modules[source]
    module: dict[str, Any] = {"__name__": "bookshop", "__builtins__": builtins}
    exec(compile(source, "<bookshop>", "exec", dont_inherit=True), module)
    if keep:
        _reference_modules.clear()
        _reference_modules[source] = module
    return module


@contextlib.contextmanager
def swapped_in(namespace: dict[str, Any], module: dict[str, Any]) -> Iterator[None]:
    """Every name ``module`` defines put into ``namespace`` for the length of the block: the tests and
    fixtures defined there, which look those names up when they run, then meet this app. The previous
    values are put back afterwards."""
    with replaced(namespace, {name: value for name, value in module.items() if not name.startswith("__")}):
        yield


@contextlib.contextmanager
def replaced(namespace: dict[str, Any], replacements: dict[str, Any]) -> Iterator[None]:
    """Some names of ``namespace`` replaced for the length of the block (a hand-made mutant)."""
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def list_tests(namespace: dict[str, Any]) -> list[str]:
    return [case.name for case in select_tests(namespace)]


async def run_variant(
    namespace: dict[str, Any],
    *,
    source: str,
    patch: list[list[str]] | None = None,
    names: list[str] | None = None,
    prefer: list[str] | None = None,
    first_failure: bool = False,
    timeout: float = TEST_TIMEOUT,
    budget: float = RUN_BUDGET,
) -> dict[str, Any]:
    """The tests of ``namespace`` (or those in ``names``) against ``source`` with ``patch`` applied.

    With ``first_failure`` (hunting a mutant) the run stops at the first test that fails on the
    variant *and* passes when run again on ``source`` as given. A test that fails on both is reported
    ``flaky``: its result depends on what ran before it (state kept between runs), so it catches
    nothing. ``prefer`` (name prefixes) runs some tests first, the ones most likely to catch this
    mutant. Returns ``{"tests": [...], "error": None}``; ``error`` says why the app could not be built."""
    try:
        reference = build_app_module(source, keep=True)
        variant = build_app_module(apply_patch(source, patch)) if patch else reference
    except PatchError as exc:
        return {"tests": [], "error": str(exc)}
    except Exception as exc:
        return {"tests": [], "error": f"the app could not be built: {type(exc).__name__}: {exc}"[:REASON_CHARS]}
    cases = [case for case in select_tests(namespace) if names is None or case.name in names]
    cases.sort(key=lambda case: not case.name.startswith(tuple(prefer or ())))
    started = time.monotonic()
    # Hunting a mutant, a failure is run once more on the reference app: keep time for that run.
    reserve = timeout + 1.0 if first_failure else 0.0
    results: list[dict] = []
    while cases:
        window = budget - (time.monotonic() - started) - reserve
        if results and window <= 0:
            return {"tests": results + [_not_run(case) for case in cases], "error": None}
        with swapped_in(namespace, variant):
            fixtures = collect_fixtures(namespace)
            batch = await run_cases(cases, fixtures, first_failure=first_failure, timeout=timeout, budget=window)
        failed = next((r for r in batch if r["outcome"] == FAILED), None)
        if not first_failure or failed is None or variant is reference:
            return {"tests": results + batch, "error": None}
        position = batch.index(failed)
        with swapped_in(namespace, reference):
            again = (await run_cases([cases[position]], collect_fixtures(namespace), timeout=timeout))[0]
        if again["outcome"] == PASSED:
            return {"tests": results + batch, "error": None}
        failed["outcome"] = FLAKY
        failed["reason"] = f"failed on the bug, and again on the app as given ({again['reason']})"
        results += batch[: position + 1]
        cases = cases[position + 1 :]
    return {"tests": results, "error": None}


# -- in the notebook -------------------------------------------------------------------------------


def _namespace() -> dict[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("run_my_tests() runs inside a notebook")
    return shell.user_ns


LABELS = {
    PASSED: "passed",
    FAILED: "FAILED",
    FLAKY: "flaky",
    NOT_WRITTEN: "not written",
    NOT_RUN: "not run",
    SKIPPED: "skipped",
}


async def run_my_tests(*selection: Any, replace: dict[str, Any] | None = None) -> None:
    """Run your tests here and print one line per test.

    ``await run_my_tests()`` runs every ``test_...`` function of the notebook; ``run_my_tests("test_orders")``
    those whose names start with ``test_orders``; ``run_my_tests(some_test, other_test)`` exactly those.
    ``replace={"list_books": buggy_list_books}`` runs them with names of the notebook replaced for the
    time of the run: your own mutant, to see whether your tests notice it."""
    namespace = _namespace()
    cases = select_tests(namespace, selection)
    if not cases:
        print("No tests found: a test is a function whose name starts with `test`.")
        return
    with replaced(namespace, replace or {}):
        fixtures = collect_fixtures(namespace)
        results = await run_cases(cases, fixtures, budget=float("inf"))
    width = max(len(r["name"]) for r in results)
    for r in results:
        detail = r["reason"] or f"{r['seconds']:.2f} s"
        print(f"{LABELS[r['outcome']]:<11} {r['name']:<{width}}  {detail}")
    counts = {label.lower(): sum(r["outcome"] == outcome for r in results) for outcome, label in LABELS.items()}
    summary = ", ".join(f"{count} {label}" for label, count in counts.items() if count)
    print(f"{len(results)} test(s): {summary}" + (f" (with {', '.join(replace)} replaced)" if replace else ""))
