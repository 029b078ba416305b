"""Stage 4, the sandboxed learner process: limits turn runaway cells into cell errors, never a stuck grader."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT

from grader.pipeline.restore import Cell
from grader.pipeline.sandbox import SandboxBackend, SandboxSession
from grader.sandbox import isolation
from grader.sandbox.dbserver import SOCKET_ENV
from grader.sandbox.isolation import Isolation, IsolationMode, MissingLayers, missing_layers, wrap
from grader.sandbox.limits import Limits
from grader.sandbox.process import LearnerTimeout

FAST = Limits(cell_timeout=3, request_timeout=3)


def _cells(*sources: str) -> list[Cell]:
    return [Cell(index=i, kind="learner", source=source, grade_id=f"cell-{i}") for i, source in enumerate(sources)]


def _ask(session: SandboxSession, op: str, **args) -> dict:
    return asyncio.run(session.request(op, args))


def _defined(session: SandboxSession, *names: str) -> dict[str, bool]:
    return _ask(session, "defined", names=list(names))["value"]


@contextlib.contextmanager
def sandbox(*sources: str, limits: Limits = FAST) -> Iterator[tuple[SandboxSession, list]]:
    """A learner process that has run ``sources``, its scratch laid out as `grade_submission` does it."""
    with tempfile.TemporaryDirectory(prefix="workbook-test-") as scratch:
        session = SandboxSession(_cells(*sources), Path(scratch), limits)
        try:
            yield session, session.start()
        finally:
            session.close()


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def runaway():
    """One learner process that has run a memory bomb, a 10 MB print and a few ordinary cells."""
    with sandbox(
        "before = 1",
        "x = bytearray(10**10)",
        "print('x' * 10_000_000)",
        "import os\ndef environment():\n    return dict(os.environ)\ndef cwd():\n    return os.getcwd()",
        "import asyncio\nafter = await asyncio.sleep(0, result=2)",
        "import sqlite3\nwith open('notes.txt', 'w') as f:\n    f.write('mine')\n"
        "sqlite3.connect('app.db').execute('create table t (x)')",
        limits=Limits(cell_timeout=10),
    ) as (session, runs):
        yield session, runs


def test_memory_bomb_is_a_cell_error(runaway):
    session, runs = runaway
    bomb = runs[1]
    assert not bomb.ok and not bomb.timed_out
    assert bomb.error is not None and bomb.error.type == "MemoryError"
    assert session.restarts == 0
    assert _defined(session, "before", "x", "after") == {"before": True, "x": False, "after": True}


def test_huge_output_is_truncated(runaway):
    session, runs = runaway
    assert runs[2].ok
    output = session.process.output
    _wait_for(lambda: output.dropped > 0)
    text = session.output()
    assert len(output.kept) == Limits().output_bytes
    assert output.dropped > 9_000_000
    assert len(text) < Limits().output_bytes + 200
    assert text.endswith("more bytes of output dropped]")


def test_learner_process_gets_a_stripped_environment_and_a_scratch_cwd(runaway):
    session, runs = runaway
    assert runs[3].ok
    environment = _ask(session, "call", name="environment", args=[], kwargs={})["value"]
    allowed = {"PATH", "LANG", "HOME", "TMPDIR", "IPYTHONDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
    allowed |= {SOCKET_ENV}  # where the database bridge listens: a socket in the scratch folder
    assert set(environment) - allowed <= {"PWD", "LC_CTYPE"}  # set by the shell / Python itself
    assert Path(environment["HOME"]) == session.scratch / "home"
    assert Path(_ask(session, "call", name="cwd", args=[], kwargs={})["value"]) == session.scratch / "home"


def test_top_level_await_works(runaway):
    session, runs = runaway
    assert runs[4].ok, runs[4].error
    assert _ask(session, "probe", source="def p(ns):\n    return ns['after']\n", name="p", kwargs={})["value"] == 2


def test_learner_can_write_files_and_databases_in_its_working_directory(runaway):
    """As in Jupyter: `open("notes.txt", "w")` and `sqlite:///app.db` work relative to the cwd."""
    session, runs = runaway
    assert runs[5].ok, runs[5].error
    assert (session.scratch / "home" / "notes.txt").read_text() == "mine"
    assert (session.scratch / "home" / "app.db").is_file()


def test_learner_cannot_see_the_course():
    """Solutions and hidden tests live in the course checkout: bubblewrap hides it from learner code."""
    assert missing_layers() == (), "this machine lacks sandbox layers (install bubblewrap)"
    paths = [str(ROOT / "nbgrader_config.py"), str(ROOT / "solutions")]
    probe = f"import os\nvisible = [os.path.exists(p) for p in {paths!r}]"
    with sandbox(probe) as (session, runs):
        assert runs[0].ok, runs[0].error
        assert _ask(session, "probe", source="def p(ns):\n    return ns['visible']\n", name="p", kwargs={})[
            "value"
        ] == [False, False]


def test_required_layers_are_enforced_wherever_a_learner_process_starts(monkeypatch, tmp_path):
    """Not only the CLI: a library caller that asks for the layers never runs learner code without them (on a
    machine without bubblewrap the red-team suite once planted its sitecustomize.py in the system Python)."""
    monkeypatch.setattr(isolation, "missing_layers", lambda: ("bubblewrap is not installed",))
    with pytest.raises(MissingLayers, match="bubblewrap is not installed"):
        wrap(["python", "-c", "pass"], tmp_path, Isolation(mode=IsolationMode.REQUIRED))
    assert wrap(["python", "-c", "pass"], tmp_path, Isolation(mode=IsolationMode.AVAILABLE)) == ["python", "-c", "pass"]


def test_test_databases_are_reached_only_through_the_bridge_which_counts_each_statement():
    """The file a check reads is out of the learner's sight; its SQL arrives through the grader's bridge."""
    assert missing_layers() == (), "this machine lacks sandbox layers (install bubblewrap)"
    with sandbox(
        "import os, sqlite3\n"
        "from sqlalchemy import text\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "def seen(path):\n"
        "    return os.path.exists(path)\n"
        "def direct(path):\n"
        "    sqlite3.connect(f'file:{path}?mode=rw', uri=True).execute('select 1')\n"
        "async def count(url):\n"
        "    engine = create_async_engine(url)\n"
        "    async with engine.connect() as connection:\n"
        "        rows = (await connection.execute(text('select count(*) from t'))).scalar_one()\n"
        "        await connection.execute(text('select count(*) from t where x > 1'))\n"
        "    await engine.dispose()\n"
        "    return rows"
    ) as (session, runs):
        assert runs[0].ok, runs[0].error
        path = session.db_dir / "checks.sqlite"
        with sqlite3.connect(path) as connection:
            connection.executescript("create table t (x); insert into t values (1), (2);")
        connection.close()
        backend = SandboxBackend(session)

        def ask(name: str, *args: str) -> dict:
            return asyncio.run(backend.request("call", {"name": name, "args": list(args), "kwargs": {}}))

        assert ask("seen", str(path))["value"] is False
        assert ask("direct", str(path))["error"]["type"] == "OperationalError"
        answer = ask("count", f"sqlite+{backend.db_driver}:///{path}")
        assert answer["value"] == 2, answer
        assert answer["statements"] == ["select count(*) from t", "select count(*) from t where x > 1"]


@pytest.mark.parametrize(
    "loop",
    ["while True:\n    pass", "async def spin():\n    while True:\n        pass\n\nawait spin()"],
    ids=["plain", "inside-async-def"],
)
def test_endless_cell_times_out_and_is_skipped_on_replay(loop: str):
    started = time.monotonic()
    with sandbox("a = 1", loop, "b = 2") as (session, runs):
        elapsed = time.monotonic() - started
        assert [run.ok for run in runs] == [True, False, True]
        assert runs[1].timed_out
        assert runs[1].error is not None and runs[1].error.type == "LearnerTimeout"
        assert "no answer within 3 s" in runs[1].error.message
        assert session.skipped == {1}
        assert session.restarts == 1
        assert elapsed < FAST.cell_timeout + 20
        assert _defined(session, "a", "b") == {"a": True, "b": True}


def test_a_request_that_hangs_times_out_and_the_process_comes_back():
    with sandbox("a = 1", "def spin():\n    while True:\n        pass") as (session, runs):
        assert all(run.ok for run in runs)
        with pytest.raises(LearnerTimeout):
            _ask(session, "call", name="spin", args=[], kwargs={})
        assert _defined(session, "a", "spin") == {"a": True, "spin": True}  # started again, cells replayed
        assert session.restarts == 1


def test_a_learner_error_is_an_observation():
    with sandbox("def boom(n):\n    raise ValueError(f'bad {n}')", "1 / 0") as (session, runs):
        assert runs[0].ok
        assert runs[1].error is not None and runs[1].error.type == "ZeroDivisionError"
        answer = _ask(session, "call", name="boom", args=[7], kwargs={})
        # ... with where in the notebook it was raised: the cell (by its grade id) and the function
        assert answer["error"] == {
            "type": "ValueError",
            "message": "bad 7",
            "cell": "cell-0",
            "function": "boom",
            "caller_cell": "cell-0",
            "caller_function": "boom",
        }
        assert _ask(session, "call", name="missing", args=[], kwargs={})["error"]["type"] == "NameError"


def test_a_twin_asked_for_at_start_has_replayed_the_cells_before_any_check_runs():
    with tempfile.TemporaryDirectory(prefix="workbook-test-") as scratch:
        session = SandboxSession(_cells("a = 1", "b = a + 1"), Path(scratch), FAST)
        try:
            runs = session.start(twin=True)
            assert all(run.ok for run in runs)
            assert session.twin is not None and session.twin.alive and session.twin_starts == 1
            answer = asyncio.run(session.request("defined", {"names": ["a", "b"]}, twin=True))
            assert answer["value"] == {"a": True, "b": True}
            assert session.twin_starts == 1  # the request found it running: it was not started again
        finally:
            session.close()


def test_races_are_found_in_the_checks_that_run_them():
    from grader.pipeline.run_tests import races_in

    chapters = {folder.name: folder for folder in (ROOT / "solutions").iterdir() if (folder / "checks").is_dir()}
    racing = {name for name, folder in chapters.items() if races_in([folder / "checks", folder / "hidden_tests"])}
    # Chapter 02's unique title, chapter 03's stock, chapter 05's registration: the race checks there are.
    assert {"02-dependency-injection", "03-unit-of-work", "05-jwt-auth"} <= racing
    assert "00-orientation" not in racing and "04-n-plus-one" not in racing
