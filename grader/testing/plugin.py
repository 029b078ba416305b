"""The pytest plugin: fixtures bound to a backend, exercise selection, and verdict recording.

Tests never touch learner objects; they receive observations through the fixtures defined here,
so the same test file runs against the live kernel (``check()``) or a sandboxed process (grading).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import grader.checks as checks_package
from grader.checks import CheckFailure
from grader.course import VISIBLE_TESTS
from grader.models import TestOutcome, Visibility
from grader.sandbox.process import LearnerDied, LearnerTimeout
from grader.testing.backend import Backend
from grader.testing.fixtures import Database, Learner, LearnerTransport, StatementLog, TableTemplate, probe_source
from grader.testing.trail import TracedBackend, Trail, blame, stopped

MARKERS = {
    "points(n)": "points this test is worth",
    "exercise(id)": "the exercise (notebook task) this test grades",
    "visibility(name)": "visible, hidden, after_due_date or after_published",
}


def _marker_arg(item: pytest.Item, name: str, default: Any) -> Any:
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker and marker.args else default


def _display_name(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    if doc and doc.strip():
        return doc.strip().splitlines()[0]
    return item.name.removeprefix("test_").replace("_", " ")


MAX_MESSAGE_CHARS = 2000
MIN_HIDDEN_LINE = 20
MIN_HIDDEN_NAME = 8


def _public_text(hidden_dir: Path) -> str:
    """What a learner may see anyway: the chapter's visible tests (their hints included) and the grader's
    own check helpers, which ship in the wheel."""
    folders = [hidden_dir.parent / VISIBLE_TESTS, Path(checks_package.__file__).parent]
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for folder in folders
        if folder.is_dir()
        for path in sorted(folder.rglob("*.py"))
    )


def hidden_text(hidden_dir: Path | None) -> list[str]:
    """What of the hidden tests must never reach an output, longest first: the names of their helper
    functions (the probes, which run in the learner's process where its code can spy on them) and
    every line of their source long enough to be distinctive. Text a visible check shows as well (a
    shared hint, a fixture's line) is public: blanking it would garble what the learner is meant to read."""
    if hidden_dir is None or not hidden_dir.is_dir():
        return []
    found: set[str] = set()
    for path in sorted(hidden_dir.rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        # Only distinctive names: a helper called `run` must not blank "runs" out of every message.
        found.update(
            name
            for name in re.findall(r"^(?:async\s+)?def\s+(\w+)", source, re.M)
            if not name.startswith("test") and len(name) >= MIN_HIDDEN_NAME
        )
        found.update(line.strip() for line in source.splitlines() if len(line.strip()) >= MIN_HIDDEN_LINE)
    public = _public_text(hidden_dir)
    return sorted((text for text in found if text not in public), key=len, reverse=True)


def clean_message(text: str, hidden: list[str]) -> str:
    """A verdict as it may be shown: bounded (it quotes the learner's values, which may be huge) and
    with any text of the hidden tests blanked out (a learner's code may return what it saw of them)."""
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + f" [... {len(text) - MAX_MESSAGE_CHARS} more characters]"
    for secret in hidden:
        if secret in text:
            # Whole identifiers only, so a hidden name inside a longer word is left alone.
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "[hidden]", text)
    return text


def _verdict(excinfo: pytest.ExceptionInfo[BaseException] | None) -> tuple[str, str, str]:
    """Message, hint and key line for a failure, built so that no line of test code reaches the learner."""
    if excinfo is None:
        return "", "", ""
    exc = excinfo.value
    if isinstance(exc, CheckFailure):
        return exc.message, exc.hint, exc.answer
    if isinstance(exc, LearnerTimeout):
        return (
            f"Your code did not answer: {exc}.",
            "Look for a loop that never ends, or blocking calls (time.sleep, requests) inside async code.",
            "",
        )
    if isinstance(exc, LearnerDied):
        return (
            f"Your code stopped the process it runs in: {exc}.",
            "Check for code that exhausts memory, exits the interpreter, or kills processes.",
            "",
        )
    if isinstance(exc, AssertionError):
        first = str(exc).split("\n", 1)[0].strip()
        return (first if first and not first.startswith("assert ") else "A check failed."), "", ""
    if isinstance(exc, httpx.TransportError):
        return str(exc), "", ""
    return f"The check could not run against your code: {type(exc).__name__}: {exc}", "", ""


class GraderPlugin:
    """Registered with ``pytest.main(plugins=[...])``; one instance per run."""

    def __init__(self, backend: Backend, exercise: str | None = None, hidden_dir: Path | None = None) -> None:
        self.trail = Trail()
        self.backend = TracedBackend(backend, self.trail)
        self.exercise = exercise
        self.hidden_dir = hidden_dir.resolve() if hidden_dir else None
        self.hidden_text = hidden_text(self.hidden_dir)
        self.outcomes: dict[str, TestOutcome] = {}
        self.collection_errors: list[str] = []

    # -- configuration and selection -------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        for signature, text in MARKERS.items():
            config.addinivalue_line("markers", f"{signature}: {text}")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.exercise is None:
            return
        keep = [item for item in items if _marker_arg(item, "exercise", None) == self.exercise]
        deselected = [item for item in items if item not in keep]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = keep

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.splitlines()[-1:]}")

    # -- verdicts --------------------------------------------------------------------
    def _visibility(self, item: pytest.Item) -> Visibility:
        default = Visibility.VISIBLE
        if self.hidden_dir and Path(str(item.path)).resolve().is_relative_to(self.hidden_dir):
            default = Visibility.HIDDEN
        return Visibility(_marker_arg(item, "visibility", default))

    @pytest.hookimpl(tryfirst=True)  # before the fixtures' requests: they belong to this check
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.trail.clear()  # what the learner's code raised is noted per check

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):
        outcome = yield
        report = outcome.get_result()
        failed = report.failed or (report.when == "setup" and report.skipped)
        if report.when != "call" and not failed:
            return
        message, hint, answer = _verdict(call.excinfo if failed else None)
        exercise = str(_marker_arg(item, "exercise", ""))
        if failed and (skipped := stopped(self.backend.stopped_cells(), self.trail, exercise, message)):
            message = f"{message}\n{skipped}"
        elif failed and (blamed := blame(self.trail, exercise, message)):
            message = f"{message}\n{blamed}"
        message, hint, answer = (clean_message(text, self.hidden_text) for text in (message, hint, answer))
        if report.skipped and report.when == "setup":
            message = message or "This check was skipped."
        previous = self.outcomes.get(item.nodeid)
        if previous is not None and not previous.passed:
            return  # the first failure (setup or call) is the one that explains the verdict
        self.outcomes[item.nodeid] = TestOutcome(
            nodeid=item.nodeid,
            name=_display_name(item),
            exercise=str(_marker_arg(item, "exercise", "")),
            points=float(_marker_arg(item, "points", 1)),
            visibility=self._visibility(item),
            passed=not failed,
            message=message,
            hint=hint,
            answer=answer,
        )

    # -- fixtures ---------------------------------------------------------------------
    @pytest.fixture
    def learner(self) -> Learner:
        return Learner(self.backend)

    @pytest.fixture
    def sql(self) -> StatementLog:
        return StatementLog()

    @pytest.fixture
    def db(self, request: pytest.FixtureRequest) -> Iterator[Database]:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
        database = Database.new(self.backend.db_dir / f"{name}.sqlite", self.backend.db_driver)
        yield database
        database.remove()  # with its siblings: the bridge opens a bounded number of files per submission

    @pytest.fixture(scope="session")
    def table_template(self) -> Iterator[TableTemplate]:
        folder = Path(tempfile.mkdtemp(prefix="workbook-tables-"))
        try:
            yield TableTemplate(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @pytest.fixture
    def app_probe(self) -> Any:
        raise CheckFailure("This chapter's checks define no app to test.", "A chapter fixture `app_probe` is missing.")

    @pytest.fixture
    def app_kwargs(self, db: Database) -> dict[str, Any]:
        return {"database_url": db.url}

    @pytest.fixture
    async def client(
        self, app_probe: Any, app_kwargs: dict[str, Any], sql: StatementLog
    ) -> AsyncIterator[httpx.AsyncClient]:
        async with _client(self.backend, app_probe, app_kwargs, sql) as http:
            yield http

    @pytest.fixture
    async def twin_client(
        self, client: httpx.AsyncClient, app_probe: Any, app_kwargs: dict[str, Any], sql: StatementLog
    ) -> AsyncIterator[httpx.AsyncClient]:
        """The same app in the twin learner process, on the same database: ``client``'s rival in a race
        (``learner.racing()``). Built after ``client``, whose app creates the tables."""
        async with _client(self.backend.twin(), app_probe, app_kwargs, sql) as http:
            yield http


@contextlib.asynccontextmanager
async def _client(
    backend: Backend, app_probe: Any, app_kwargs: dict[str, Any], sql: StatementLog
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client to the app ``app_probe`` builds in ``backend``'s learner process."""
    source, name = probe_source(app_probe)
    answer = await backend.request("app_start", {"source": source, "name": name, "kwargs": app_kwargs})
    if answer.get("error"):
        error = answer["error"]
        raise CheckFailure(
            f"Your app could not be built: {error['type']}: {error['message']}",
            "Run the notebook top to bottom and make sure the cell that defines the app runs without error.",
        )
    handle = answer["value"]
    transport = LearnerTransport(backend, handle, sql)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await backend.request("app_stop", {"handle": handle})
