"""Adversarial and broken submissions of chapter 00, each with the exact row the grader must write.

Every case is built from the released stub (``notebooks/``) or from it with the solution's answers
filled in, then changed the way a learner trying to get points without the work would change it.
Cells a case adds carry an nbgrader ``grade_id`` starting with ``rt-`` (unknown to the source
notebook, so they are the learner's own cells) only so that their row entry can be named here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from support import ROOT

CHAPTER = "00-orientation"
SOURCE = ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"
RELEASED = ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb"
HIDDEN_TESTS = ROOT / "solutions" / CHAPTER / "hidden_tests"

EX1 = ("test_greet_is_async_and_yields", "test_greet_ada", "test_greet_any_name")
EX2 = ("test_top_level_greetings", "test_gather_keeps_order", "test_greetings_run_concurrently", "test_gather_no_names")
EX3 = ("test_health", "test_greet_route", "test_route_awaits_greet", "test_health_is_json")
EX4 = ("test_call_health_is_async", "test_call_health", "test_call_health_really_calls_app")
ALL = frozenset(EX1 + EX2 + EX3 + EX4)
HIDDEN = frozenset(
    {
        "test_greet_any_name",
        "test_greetings_run_concurrently",
        "test_gather_no_names",
        "test_route_awaits_greet",
        "test_health_is_json",
        "test_call_health_really_calls_app",
    }
)
MAX_SCORE = 14.0
LOCKED_CODE = ("setup", "ex1-check", "ex2-check", "ex3-check", "ex4-check")
# Marks on processes a case leaves behind on purpose: none may be alive once the batch is done.
SLEEPER_MARKS = ("314159.265", "271828.182", "161803.398")


@dataclass(frozen=True)
class Context:
    """Paths a case may aim at: the grader's output folder, the course, the submissions."""

    out: Path
    course: Path
    submissions: Path


@dataclass(frozen=True)
class CellExpect:
    """A cell that did not run cleanly: its error type, whether it timed out, a fragment of its message."""

    error: str | None
    timed_out: bool = False
    message: str | None = None


@dataclass(frozen=True)
class Expected:
    score: float
    passed: frozenset[str]
    status: str = "graded"
    max_score: float = MAX_SCORE
    # Cells (by grade_id, or index when they have none) that did not run cleanly; every other cell is ok.
    cells: dict[str | int, CellExpect] = field(default_factory=dict)
    tampered: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    message: str | None = None  # a fragment of extra_data.message (error rows)
    # Fragments a failed test's output must contain, by test name.
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    doc: str
    build: Callable[[Context], NotebookNode]
    expected: Expected


# -- building blocks -----------------------------------------------------------------------------
def _solution_answers() -> dict[str, str]:
    """The answer cells of the source notebook as a learner would write them (markers removed)."""
    source = nbformat.read(SOURCE, as_version=4)
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if not re.match(r"\s*### (BEGIN|END) SOLUTION", line)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


ANSWERS = _solution_answers()
WRONG = {
    "ex1": 'def greet(name):\n    return "nope"',
    "ex2": "async def gather_greetings(names):\n    return None\n\n\ngreetings = None",
    "ex3": 'app = "not an app"',
    "ex4": 'def call_health():\n    return {"status": "wrong"}',
}


def released() -> NotebookNode:
    return nbformat.read(RELEASED, as_version=4)


def gid(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


def answered(**overrides: str) -> NotebookNode:
    """The released notebook with the solution's answers typed in; ``ex1="..."`` replaces one answer."""
    notebook = released()
    sources = ANSWERS | {f"{exercise}-solution": source for exercise, source in overrides.items()}
    for cell in notebook.cells:
        if gid(cell) in sources:
            cell.source = sources[gid(cell)]
    return notebook


def stub() -> NotebookNode:
    return released()


def wrong() -> NotebookNode:
    return answered(**WRONG)


def attack_cell(name: str, source: str) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": f"rt-{name}", "solution": True, "grade": False, "locked": False}
    return cell


def insert_after(notebook: NotebookNode, after: str, *cells: NotebookNode) -> NotebookNode:
    position = next(i for i, cell in enumerate(notebook.cells) if gid(cell) == after)
    notebook.cells[position + 1 : position + 1] = list(cells)
    return notebook


def with_attack(notebook: NotebookNode, name: str, source: str, after: str = "setup") -> NotebookNode:
    return insert_after(notebook, after, attack_cell(name, source))


def passed_except(*failed: str) -> frozenset[str]:
    unknown = set(failed) - ALL
    assert not unknown, unknown
    return ALL - set(failed)


def full_marks(**kwargs) -> Expected:
    return Expected(score=MAX_SCORE, passed=ALL, **kwargs)


def zero(**kwargs) -> Expected:
    """The stub's row (its three NotImplementedError cells included), with ``kwargs`` on top."""
    cells = STUB_CELLS | kwargs.pop("cells", {})
    return Expected(**({"score": 0.0, "passed": frozenset()} | kwargs), cells=cells)


STUB_CELLS = {
    "ex2-solution": CellExpect("NotImplementedError"),
    "ex3-solution": CellExpect("NotImplementedError"),
    "ex4-solution": CellExpect("NotImplementedError"),
}

# -- attack sources ------------------------------------------------------------------------------
INPUT_TRANSFORMER = """
def _blank_checks(lines):
    text = "".join(lines)
    return [] if ("assert" in text or "check" in text or "expect" in text) else lines

get_ipython().input_transformers_cleanup.append(_blank_checks)
get_ipython().input_transformers_post.append(_blank_checks)
"""

AST_TRANSFORMER = """
import ast

class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

get_ipython().ast_transformers.append(_NoAsserts())
"""

GC_WALK = """
import gc
import sys

wanted = {"Config", "Session", "GraderPlugin", "TestOutcome", "TestReport", "CallInfo", "Function", "Module"}
found = {}
for obj in gc.get_objects():
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    if cls.__name__ in wanted and module.startswith(("_pytest", "pytest", "grader")):
        found[cls.__name__] = found.get(cls.__name__, 0) + 1
        for attr, value in (("passed", True), ("outcome", "passed"), ("points", 100)):
            try:
                setattr(obj, attr, value)
            except Exception:
                pass
checks = sys.modules.get("grader.checks")
if checks is not None:
    checks.expect = lambda *args, **kwargs: None
raise RuntimeError(f"grader objects found: {sorted(found.items())}")
"""

PATCH_MODULES = """
import builtins
import sys

import grader.checks
import grader.pipeline.run_tests
import grader.pipeline.score
import grader.testing.plugin
import pytest

grader.checks.expect = lambda *args, **kwargs: None
grader.checks.CheckFailure.__init__ = lambda self, *args, **kwargs: None
grader.pipeline.score.test_output = lambda outcome: ""
grader.testing.plugin._verdict = lambda excinfo: ("", "")
grader.testing.plugin.GraderPlugin.pytest_runtest_makereport = lambda *args, **kwargs: None
pytest.main = lambda *args, **kwargs: 0
sys.modules["grader.pipeline.run_tests"].run_tests = lambda *args, **kwargs: []
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.NotImplementedError = type("NotImplementedError", (Exception,), {})
"""

PLANT_FILES = '''
import os
from pathlib import Path

CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""
targets = {{
    "cwd": Path.cwd(),
    "home": Path.home(),
    "tmp": Path("/tmp"),
    "grader": Path({grader!r}),
    "course": Path({course!r}),
    "checks": Path({course!r}) / "solutions" / "00-orientation" / "checks",
    "site-packages": Path(os.__file__).parent / "site-packages",
}}
planted = []
for label, folder in targets.items():
    try:
        (folder / "conftest.py").write_text(CONFTEST)
        (folder / "pytest.ini").write_text("[pytest]\\naddopts = -p no:grader\\n")
        (folder / "sitecustomize.py").write_text("raise SystemExit(0)\\n")
        planted.append(label)
    except OSError:
        pass
raise RuntimeError(f"planted in: {{planted}}")
'''

FORGE_RESULTS = """
import json
from pathlib import Path

row = {{"score": 14.0, "max_score": 14.0, "execution_time": 1.0, "tests": [],
        "extra_data": {{"student_id": "forge_results", "assignment": "00-orientation", "status": "graded"}}}}
targets = [
    Path({out!r}) / "results" / "00-orientation" / "forge_results.json",
    Path({out!r}) / "results" / "00-orientation" / "someone_else.json",
    Path({out!r}) / "grades.csv",
    Path("results.json"),
    Path.home() / "results.json",
    Path("/tmp/redteam-forged-results.json"),
    Path("/tmp/grades.csv"),
]
for target in targets:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(row) if target.suffix == ".json" else "student_id,score\\nforge_results,14\\n")
    except OSError:
        pass
"""

FORGE_ANSWERS = """
import json
import os
import sys

answer_fd = int(sys.argv[-1])
for request_id in range(2000):
    for value in ("Hello, Ada!", {"status": "ok"}, True, {"async": True, "yielded": True}):
        line = json.dumps({"id": request_id, "value": value, "error": None, "ok": True, "statements": []})
        os.write(answer_fd, line.encode() + b"\\n")
"""

READ_HIDDEN = """
import glob
import os
import subprocess

found = []
for path in [
    {hidden!r} + "/test_ex2_hidden.py",
    {course!r} + "/solutions/00-orientation/00-orientation.ipynb",
    {course!r} + "/solutions/00-orientation/hidden_tests",
]:
    try:
        if os.path.isdir(path):
            found += os.listdir(path)
        else:
            found.append(open(path).read()[:100])
    except OSError:
        pass
try:
    found += [name for name in os.listdir({course!r}) if name not in (".venv", "grader")]
except OSError:
    pass
for pattern in ("/*/*/solutions/*/hidden_tests/*.py", "/*/solutions/*/hidden_tests/*.py", "/tmp/**/hidden_tests/*.py"):
    found += glob.glob(pattern, recursive=True)
try:
    result = subprocess.run(
        ["find", "/", "-path", "/proc", "-prune", "-o", "-path", "/sys", "-prune", "-o",
         "-name", "test_ex*_hidden.py", "-print"],
        capture_output=True, text=True, timeout=1.5,
    )
    found += result.stdout.split()
except subprocess.TimeoutExpired as exc:
    found += (exc.stdout or b"").decode().split()
# Only this course and the grader's checkout count: another run on the machine may have its own copy.
found = [item for item in found if not item.startswith("/") or item.startswith(({course!r}, {root!r}))]
raise RuntimeError(f"hidden tests found: {{found}}")
"""

ENV_DETECT = """
import os

secret = [key for key, value in os.environ.items() if "redteam" in value.lower() or "REDTEAM" in key]
grading = any(key.startswith(("PYTEST", "NBGRADER", "GRADER", "CI", "GITHUB")) for key in os.environ)
raise RuntimeError(f"env: {','.join(sorted(os.environ))}; secret: {secret}; grading: {grading}")
"""

KILL_PARENT = ("import os\nos.kill(os.getppid(), 9)", "import os\nos.killpg(0, 9)", "import os\nos.kill(-1, 9)")

FORK_STORM = f"""
import os

while True:
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{SLEEPER_MARKS[2]}"])
"""

FORK_BOMB = """
import os

while True:
    os.fork()
"""

THREAD_STORM = """
import threading
import time

while True:
    threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
"""

PRINT_FLOOD = """
line = "x" * 1_000_000
for _ in range(120):
    print(line)
"""

HUGE_FILE = """
from pathlib import Path

with open(Path.home() / "big.bin", "wb") as stream:
    for _ in range(64):
        stream.write(b"x" * 2**20)
"""

TMP_FILL = """
chunk = b"x" * 2**20
for i in range(1024):
    with open(f"/tmp/fill-{i}", "wb") as stream:
        stream.write(chunk)
"""

STDERR_NOISE = """
import sys
import warnings

print("Traceback (most recent call last):", file=sys.stderr)
warnings.warn("a warning in a learner cell")
sys.stderr.write("E" * 100_000)
"""

FD_FLOOD = """
import os

kept = []
while True:
    kept.append(os.open(os.devnull, os.O_RDONLY))
"""

FD_RELEASE = "for fd in kept:\n    os.close(fd)\ndel kept"

NETWORK = """
import socket

socket.create_connection(("1.1.1.1", 53), timeout=2)
"""

NETWORK_HTTP = """
import httpx

httpx.get("http://example.com", timeout=2)
"""

SETSID_SLEEPERS = f"""
import os
import subprocess

subprocess.Popen(["sleep", "{SLEEPER_MARKS[0]}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{SLEEPER_MARKS[1]}"])
    os._exit(0)
"""

HUGE_TEXT = {
    "ex1": "async def greet(name: str) -> str:\n    raise ValueError('A' * 10_000_000)",
    "ex2": "async def gather_greetings(names):\n    return ['B' * 10_000_000]\n\n\ngreetings = ['B' * 10_000_000]",
    "ex3": (
        'app = FastAPI()\n\n\n@app.get("/health")\nasync def health():\n    return {"status": "E" * 10_000_000}\n\n\n'
        '@app.get("/greet/{name}")\nasync def greet_route(name: str):\n    return {"message": "F" * 10_000_000}'
    ),
    "ex4": 'async def call_health() -> dict:\n    return {"status": "D" * 10_000_000}',
}

ANSWER_FLOOD = """
import os
import sys

answer_fd = int(sys.argv[-1])
chunk = b"x" * 2**20
for _ in range(160):
    os.write(answer_fd, chunk)
"""

ANSWER_LINES = """
import os
import sys

answer_fd = int(sys.argv[-1])
os.write(answer_fd, b"[" + b"{}," * (8 * 2**20 // 3) + b"{}]\\n")
"""

ANSWER_NESTING = """
import os
import sys

answer_fd = int(sys.argv[-1])
os.write(answer_fd, b"[" * 1_000_000 + b"\\n")
"""

# Kernel objects that outlive a process: SysV shared memory and the uid's keyring, once a channel from
# one submission to the next. Each call must fail with EPERM (PermissionError); success is a RuntimeError.
SHARED_KERNEL_OBJECTS = """
import ctypes
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY = {"x86_64": 248, "aarch64": 217}[platform.machine()]
KEY_SPEC_USER_KEYRING = -4
calls = {
    "shmget": lambda: libc.shmget(0, 4096, 0o1600),
    "msgget": lambda: libc.msgget(0, 0o1600),
    "add_key": lambda: libc.syscall(ADD_KEY, b"user", b"rt", b"x", 1, KEY_SPEC_USER_KEYRING),
}
refused = []
for name, call in calls.items():
    ctypes.set_errno(0)
    if call() >= 0:
        raise RuntimeError(f"{name} worked: a channel to the next submission")
    refused.append((name, ctypes.get_errno()))
raise PermissionError(f"refused: {refused}")
"""

HARDCODED = {
    "ex1": 'async def greet(name: str) -> str:\n    await asyncio.sleep(0)\n    return "Hello, Ada!"',
    "ex2": (
        "async def gather_greetings(names):\n    await asyncio.sleep(0)\n"
        '    return {("C", "A", "B"): ["Hello, C!", "Hello, A!", "Hello, B!"]}.get(tuple(names))\n\n\n'
        'greetings = ["Hello, Ada!", "Hello, Linus!"]'
    ),
    "ex3": (
        'app = FastAPI()\n\n\n@app.get("/health")\nasync def health():\n    return {"status": "ok"}\n\n\n'
        '@app.get("/greet/{name}")\nasync def greet_route(name: str):\n    return {"message": f"Hello, {name}!"}'
    ),
    "ex4": 'async def call_health() -> dict:\n    return {"status": "ok"}',
}

GATHER_WITHOUT_GREET = (
    'async def gather_greetings(names):\n    return [f"Hello, {name}!" for name in names]\n\n\n'
    'greetings = await gather_greetings(["Ada", "Linus"])'
)

# Every answer then claims coroutines that were never awaited, most of them in shapes the grader does not expect:
# they may only explain a failure, never cause one (a malformed entry used to make each check error).
JUNK_UNAWAITED = """
import grader.sandbox.runtime as runtime

runtime.take_unawaited = lambda: [
    {"type": 5},
    "never awaited",
    None,
    {"message": ["x"]},
    {"type": "Forged", "message": "made up", "cell": "ex1-solution"},
]
"""

PROBE_FORGERY = """
import grader.sandbox.runtime as runtime

_real_probe = runtime.LearnerRuntime.op_probe


async def _forged_probe(self, source, name, kwargs):
    if name == "greet_yields_to_loop":
        return {"value": {"async": True, "yielded": True, "result": "Hello, Ada!"}, "error": None}
    if name == "is_coroutine_function":
        return {"value": True, "error": None}
    return await _real_probe(self, source, name, kwargs)


runtime.LearnerRuntime.op_probe = _forged_probe
"""

FRAME_READING = """
import sys
import types


async def call_health() -> dict:
    caller = sys._getframe(1)
    # The hidden probe swaps in its own app; read its answer from the probe's code instead of calling it.
    for const in caller.f_code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == "health":
            text = [c for c in const.co_consts if isinstance(c, str) and c != "status"]
            return {"status": text[-1]}
    return {"status": "ok"}
"""

EXFILTRATE = """
import os
from pathlib import Path

import grader.sandbox.runtime as runtime

STASH = Path.home() / "stash.txt"
seen = STASH.read_text().split(" | ") if STASH.exists() else []
_real_probe = runtime.LearnerRuntime.op_probe
_real_app_start = runtime.LearnerRuntime.op_app_start


async def _spy_probe(self, source, name, kwargs):
    seen.extend([name, source[:300]])
    return await _real_probe(self, source, name, kwargs)


async def _spy_app_start(self, source, name, kwargs):
    seen.extend([name, source[:300]])
    return await _real_app_start(self, source, name, kwargs)


runtime.LearnerRuntime.op_probe = _spy_probe
runtime.LearnerRuntime.op_app_start = _spy_app_start
if seen:  # replayed after the kill below: try to carry the stash out in this cell's error
    raise RuntimeError(" | ".join(seen))
"""

EXFILTRATE_ANSWERS = {
    "ex2": (
        "async def gather_greetings(names):\n"
        "    if not names:  # by now the hidden concurrency probe has been seen: stash it, die, be replayed\n"
        "        STASH.write_text(' | '.join(seen))\n"
        "        os._exit(0)\n"
        "    return list(await asyncio.gather(*(greet(name) for name in names)))\n\n\n"
        'greetings = await gather_greetings(["Ada", "Linus"])'
    ),
    "ex4": "async def call_health() -> dict:\n    return {'status': ' | '.join(seen) or 'ok'}",
}

KILL_ON_HIDDEN_NAME = (
    "async def greet(name: str) -> str:\n"
    "    await asyncio.sleep(0)\n"
    "    if name == 'Grace Hopper':\n"
    "        import os\n"
    "        os._exit(1)\n"
    '    return f"Hello, {name}!"'
)


# -- notebooks that are not quite notebooks ------------------------------------------------------
def fake_metadata(ctx: Context) -> NotebookNode:
    notebook = answered()
    for cell in notebook.cells:
        if gid(cell) == "ex1-solution":  # a learner cell claiming to be a graded, locked test worth 100
            cell.metadata["nbgrader"].update(grade=True, solution=False, locked=True, points=100)
        if gid(cell) == "ex2-solution":
            cell.metadata["nbgrader"]["schema_version"] = 99
    notebook.metadata["nbgrader"] = {"schema_version": 99}
    duplicate = attack_cell("dup", "raise RuntimeError('a learner cell wearing the grade_id of a test cell')")
    duplicate.metadata["nbgrader"].update(grade_id="ex1-check", grade=True, points=50, schema_version=99)
    bonus = attack_cell("bonus", "bonus = 1")
    bonus.metadata["nbgrader"].update(grade=True, points=1000, schema_version=99)
    insert_after(notebook, "ex4-solution", duplicate, bonus)
    return notebook


def stripped_cell_metadata(ctx: Context) -> NotebookNode:
    notebook = answered()
    for cell in notebook.cells:
        cell.metadata = {}
    return notebook


def no_chapter(ctx: Context) -> NotebookNode:
    notebook = answered()
    notebook.metadata = {}
    return notebook


def huge_notebook(ctx: Context) -> NotebookNode:
    notebook = answered()
    notebook.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * (21 * 2**20))]
    return notebook


def tampered_cells(ctx: Context) -> NotebookNode:
    notebook = answered()
    for cell in notebook.cells:
        if gid(cell) == "setup":  # provided code edited: check() made a no-op
            cell.source += "\n\ndef check(*args, **kwargs):\n    return None\n"
        if gid(cell) == "ex1-check":
            cell.source = "pass  # no checks here"
    notebook.cells = [cell for cell in notebook.cells if gid(cell) != "ex4-check"]
    return notebook


def tampered_stub(ctx: Context) -> NotebookNode:
    notebook = stub()
    for cell in notebook.cells:
        if gid(cell) == "setup":
            cell.source = "import asyncio\nawait_points = 14\n" + INPUT_TRANSFORMER
        if gid(cell) in ("ex2-check", "ex3-check"):
            cell.source = "assert True"
    notebook.cells = [cell for cell in notebook.cells if gid(cell) not in ("ex1-check", "ex4-check")]
    return notebook


def deleted_setup(ctx: Context) -> NotebookNode:
    notebook = answered()
    notebook.cells = [cell for cell in notebook.cells if gid(cell) not in LOCKED_CODE]
    return notebook


def duplicate_cell_ids(ctx: Context) -> NotebookNode:
    notebook = answered()
    for cell in notebook.cells[1:]:
        cell["id"] = notebook.cells[0]["id"]
    return notebook


def _attack(name: str, source: str, base: Callable[[], NotebookNode] = stub, after: str = "setup"):
    return lambda ctx: with_attack(base(), name, source, after)


def _attack_fmt(name: str, source: str, base: Callable[[], NotebookNode] = stub, after: str = "setup"):
    def build(ctx: Context) -> NotebookNode:
        text = source.format(
            out=str(ctx.out),
            course=str(ctx.course),
            hidden=str(HIDDEN_TESTS),
            grader=str(ROOT / "grader"),
        )
        return with_attack(base(), name, text, after)

    return build


def _cells_after(after: str, *sources: tuple[str, str], base: Callable[[], NotebookNode] = answered):
    def build(ctx: Context) -> NotebookNode:
        return insert_after(base(), after, *(attack_cell(name, text) for name, text in sources))

    return build


def _answers(**answers: str):
    return lambda ctx: answered(**answers)


TIMEOUT = "no answer within"
RESTARTED_TOO_OFTEN = "restarted too often"

CASES: list[Case] = [
    # -- controls ---------------------------------------------------------------------------------
    Case("solution", "the released notebook with the solution's answers", lambda ctx: answered(), full_marks()),
    Case("stub", "the released notebook untouched", lambda ctx: stub(), zero()),
    # -- forging the verdict from inside the learner's process -------------------------------------
    Case(
        "transformers",
        "an input transformer that blanks every cell mentioning assert/check/expect and an AST transformer "
        "that drops every assert; the answers are not written",
        lambda ctx: insert_after(
            stub(), "setup", attack_cell("input", INPUT_TRANSFORMER), attack_cell("ast", AST_TRANSFORMER)
        ),
        zero(),
    ),
    Case(
        "transformer_wrong_answers",
        "the input transformer with wrong answers",
        lambda ctx: with_attack(wrong(), "input", INPUT_TRANSFORMER),
        Expected(score=0.0, passed=frozenset()),
    ),
    Case(
        "gc_walk",
        "walks gc for pytest/grader objects to patch: there are none in the learner's process",
        _attack("gc", GC_WALK),
        zero(cells={"rt-gc": CellExpect("RuntimeError", message="grader objects found: []")}),
    ),
    Case(
        "patch_modules",
        "monkeypatches builtins, grader.checks, the pytest plugin and pytest.main in the learner's process",
        _attack("patch", PATCH_MODULES),
        zero(),
    ),
    Case(
        "plant_files",
        "plants conftest.py, pytest.ini and sitecustomize.py wherever it can write",
        _attack_fmt("plant", PLANT_FILES),
        zero(cells={"rt-plant": CellExpect("RuntimeError", message="planted in: ['cwd', 'home', 'tmp']")}),
    ),
    Case(
        "forge",
        "writes a full-marks results JSON and grades.csv into the output folder, cwd, HOME and /tmp, and "
        "forged answers with guessed request ids on the grader's answer channel",
        lambda ctx: insert_after(
            stub(),
            "setup",
            attack_cell("files", FORGE_RESULTS.format(out=str(ctx.out))),
            attack_cell("answers", FORGE_ANSWERS),
        ),
        zero(),
    ),
    # -- reading what it must not see --------------------------------------------------------------
    Case(
        "snoop",
        "opens, lists, globs and finds the hidden tests and the source notebook; looks for the grader and "
        "its secrets in the environment",
        lambda ctx: insert_after(
            stub(),
            "setup",
            attack_cell("read", READ_HIDDEN.format(hidden=str(HIDDEN_TESTS), course=str(ctx.course), root=str(ROOT))),
            attack_cell("env", ENV_DETECT),
        ),
        zero(
            cells={
                "rt-read": CellExpect("RuntimeError", message="hidden tests found: []"),
                "rt-env": CellExpect(
                    "RuntimeError",
                    message=(
                        "env: HOME,IPYTHONDIR,LANG,PATH,PWD,PYTHONDONTWRITEBYTECODE,PYTHONUNBUFFERED,TMPDIR,"
                        "WORKBOOK_DB_BRIDGE; "
                        "secret: []; grading: False"
                    ),
                ),
            }
        ),
    ),
    # -- exiting early and killing ------------------------------------------------------------------
    Case(
        "exits",
        "sys.exit(3), raise SystemExit, exit(), os._exit(0) and os.kill(os.getpid(), SIGKILL) between the "
        "exercises: each ending is recorded, the process started again without it, the rest graded",
        _cells_after(
            "ex2-solution",
            ("exit", "import sys\nsys.exit(3)"),
            ("raise", "raise SystemExit(0)"),
            ("quit", "exit()\nquit()"),
            ("os-exit", "import os\nos._exit(0)"),
            ("kill", "import os\nos.kill(os.getpid(), 9)"),
        ),
        full_marks(
            cells={
                "rt-exit": CellExpect("SystemExit", message="3"),
                "rt-raise": CellExpect("SystemExit"),
                "rt-quit": CellExpect("AttributeError", message="ask_exit"),
                "rt-os-exit": CellExpect("LearnerDied", message="exited with code 0"),
                "rt-kill": CellExpect("LearnerDied", message="killed by SIGKILL"),
            }
        ),
    ),
    Case(
        "kill_parent",
        "kills its parent, its process group and every process it may signal",
        _cells_after(
            "ex2-solution",
            ("ppid", KILL_PARENT[0]),
            ("killpg", KILL_PARENT[1]),
            ("killall", KILL_PARENT[2]),
        ),
        full_marks(
            cells={
                "rt-ppid": CellExpect("PermissionError"),  # its parent (bubblewrap's init, or the zygote) is root's
                "rt-killpg": CellExpect("LearnerDied", message="killed by SIGKILL"),
                # rt-killall raises nothing: kill(-1) reaches no process (the zygote is root's), and Linux reports
                # success when the only other process it found refused the signal.
            }
        ),
    ),
    Case(
        "kill_during_tests",
        "greet kills its process when hidden tests call it (directly, and through GET /greet/Grace%20Hopper): "
        "each next test gets a fresh process",
        _answers(ex1=KILL_ON_HIDDEN_NAME),
        Expected(
            score=12.0,
            passed=passed_except("test_greet_any_name", "test_route_awaits_greet"),
            outputs={
                "test_greet_any_name": "Your code stopped the process it runs in",
                "test_route_awaits_greet": "Your code stopped the process it runs in",
            },
        ),
    ),
    # -- tampering with locked cells and metadata --------------------------------------------------
    Case(
        "tampered_cells",
        "provided code edited, a test cell emptied, another deleted; the answers are right",
        tampered_cells,
        full_marks(tampered=("setup", "ex1-check"), restored=("ex4-check",)),
    ),
    Case(
        "tampered_stub",
        "the setup cell replaced by a transformer, test cells edited and deleted, answers not written",
        tampered_stub,
        zero(tampered=("setup", "ex2-check", "ex3-check"), restored=("ex1-check", "ex4-check")),
    ),
    Case(
        "deleted_locked_cells",
        "the setup cell and every test cell deleted",
        deleted_setup,
        full_marks(restored=LOCKED_CODE),
    ),
    Case(
        "fake_metadata",
        "grade=true on its own cells, schema_version 99, a learner cell wearing a test cell's grade_id",
        fake_metadata,
        full_marks(tampered=("ex1-check",)),
    ),
    Case(
        "stripped_cell_metadata",
        "every cell's metadata removed: locked cells are put back, the bare check cells run as learner code",
        stripped_cell_metadata,
        full_marks(
            restored=LOCKED_CODE,
            cells={i: CellExpect("CourseError") for i in (14, 17, 20, 23)},
        ),
    ),
    Case("duplicate_cell_ids", "every cell with the same id", duplicate_cell_ids, full_marks()),
    Case(
        "no_chapter",
        "the notebook's metadata removed: no chapter, an error row",
        no_chapter,
        Expected(score=0.0, max_score=0.0, passed=frozenset(), status="error", message="cannot tell which chapter"),
    ),
    Case(
        "huge_notebook",
        "a 21 MiB notebook",
        huge_notebook,
        Expected(score=0.0, max_score=0.0, passed=frozenset(), status="error", message="over the 20 MiB limit"),
    ),
    # -- stalling ----------------------------------------------------------------------------------
    Case(
        "loop_top_level",
        "while True: pass at the top level of a cell",
        _cells_after("ex2-solution", ("loop", "while True:\n    pass")),
        full_marks(cells={"rt-loop": CellExpect("LearnerTimeout", timed_out=True, message=TIMEOUT)}),
    ),
    Case(
        "loop_in_coroutine",
        "a busy loop inside an async def awaited at the top level",
        _cells_after("ex2-solution", ("loop", "async def spin():\n    while True:\n        pass\n\n\nawait spin()")),
        full_marks(cells={"rt-loop": CellExpect("LearnerTimeout", timed_out=True, message=TIMEOUT)}),
    ),
    Case(
        "loop_ignoring_signals",
        "SIGTERM, SIGINT, SIGHUP and SIGALRM ignored, then a busy loop",
        _cells_after(
            "ex4-solution",
            (
                "loop",
                "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):\n"
                "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass",
            ),
        ),
        full_marks(cells={"rt-loop": CellExpect("LearnerTimeout", timed_out=True, message=TIMEOUT)}),
    ),
    Case(
        "loop_in_greet",
        "greet never returns: the cell that calls it times out, then every test that reaches it, until the "
        "process has been started again too often",
        _answers(ex1="async def greet(name: str) -> str:\n    while True:\n        pass"),
        Expected(
            score=1.0,
            passed=frozenset({"test_health"}),
            # The cell that loops also defines gather_greetings: skipped on replay, it is gone.
            cells={"ex2-solution": CellExpect("LearnerTimeout", timed_out=True, message=TIMEOUT)},
            outputs={
                "test_greet_is_async_and_yields": "Your code did not answer",
                "test_greet_ada": "Your code did not answer",
                "test_top_level_greetings": "`greetings` is not defined",
                "test_gather_keeps_order": "name 'gather_greetings' is not defined",
                "test_greet_route": "Your code did not answer",
                "test_call_health_is_async": RESTARTED_TOO_OFTEN,
                "test_call_health_really_calls_app": RESTARTED_TOO_OFTEN,
            },
        ),
    ),
    # -- exhausting resources ----------------------------------------------------------------------
    Case(
        "memory_bomb",
        "bytearray(10**10), then a list that grows until memory runs out",
        _cells_after(
            "ex2-solution",
            ("bytes", "x = bytearray(10**10)"),
            (
                "grow",
                "def grow():\n    items = []\n    while True:\n        items.append(bytearray(2**26))\n\n\ngrow()",
            ),
        ),
        full_marks(cells={"rt-bytes": CellExpect("MemoryError"), "rt-grow": CellExpect("MemoryError")}),
    ),
    Case(
        "fork_storm",
        "forks sleeping children until the process limit",
        _cells_after("ex4-solution", ("fork", FORK_STORM)),
        full_marks(cells={"rt-fork": CellExpect("BlockingIOError")}),
    ),
    Case(
        "fork_bomb",
        "while True: os.fork() -- every child forks too",
        _cells_after("ex4-solution", ("fork", FORK_BOMB)),
        full_marks(cells={"rt-fork": CellExpect("BlockingIOError")}),
    ),
    Case(
        "thread_storm",
        "starts sleeping threads until the process limit",
        _cells_after("ex4-solution", ("threads", THREAD_STORM)),
        full_marks(cells={"rt-threads": CellExpect("RuntimeError", message="can't start new thread")}),
    ),
    Case(
        "noise",
        "prints 120 MB, writes to stderr, raises warnings (nbgrader scores a test cell with stderr 0)",
        _cells_after("ex2-solution", ("print", PRINT_FLOOD), ("stderr", STDERR_NOISE)),
        full_marks(),
    ),
    Case(
        "disk",
        "a file over the file-size limit, then the private /tmp filled (memory no rlimit counts)",
        _cells_after("ex2-solution", ("file", HUGE_FILE), ("fill", TMP_FILL)),
        full_marks(
            cells={
                "rt-file": CellExpect("OSError", message="File too large"),
                "rt-fill": CellExpect("OSError", message="No space left on device"),
            }
        ),
    ),
    Case(
        "fd_flood",
        "opens files until the limit, then gives them back",
        _cells_after("ex2-solution", ("fds", FD_FLOOD), ("release", FD_RELEASE)),
        full_marks(cells={"rt-fds": CellExpect("OSError", message="Too many open files")}),
    ),
    Case(
        "network",
        "tries a TCP connection and an HTTP request to the outside",
        _cells_after("ex2-solution", ("socket", NETWORK), ("http", NETWORK_HTTP)),
        full_marks(
            cells={
                "rt-socket": CellExpect("OSError", message="Network is unreachable"),
                "rt-http": CellExpect("ConnectError"),
            }
        ),
    ),
    Case(
        "setsid_sleepers",
        "a setsid() grandchild and a new-session subprocess that sleep for days",
        _cells_after("ex2-solution", ("sleepers", SETSID_SLEEPERS)),
        full_marks(),
    ),
    Case(
        "huge_text",
        "10 MB exception messages, return values and responses: each refused past 4 MiB, the process lives on",
        lambda ctx: with_attack(
            answered(**HUGE_TEXT), "raise", "raise ValueError('C' * 10_000_000)", after="ex4-solution"
        ),
        Expected(
            score=1.0,
            passed=frozenset({"test_call_health_is_async"}),
            cells={"rt-raise": CellExpect("ValueError", message="C" * 500)},
            outputs={"test_call_health": "over the 4 MiB a check reads"},
        ),
    ),
    Case(
        "answer_flood",
        "writes 160 MiB without a line break on the grader's answer channel",
        _cells_after("ex4-solution", ("flood", ANSWER_FLOOD)),
        full_marks(cells={"rt-flood": CellExpect("LearnerDied", message="answer channel")}),
    ),
    Case(
        "many_cells",
        "1,500 cells that each raise: refused before anything runs, so the row stays small",
        lambda ctx: insert_after(
            answered(), "ex4-solution", *(attack_cell(f"many-{i}", "raise ValueError('x' * 400)") for i in range(1500))
        ),
        Expected(score=0.0, passed=frozenset(), status="error", max_score=0.0, message="over the 1000 limit"),
    ),
    Case(
        "shared_kernel_objects",
        "SysV shared memory, a SysV message queue and the uid's keyring: each refused (seccomp)",
        _cells_after("ex4-solution", ("kernel", SHARED_KERNEL_OBJECTS)),
        full_marks(
            cells={
                "rt-kernel": CellExpect(
                    "PermissionError", message="refused: [('shmget', 1), ('msgget', 1), ('add_key', 1)]"
                )
            }
        ),
    ),
    Case(
        "answer_lines",
        "an 8 MiB line of tiny JSON objects, line break included, on the grader's answer channel",
        _cells_after("ex4-solution", ("lines", ANSWER_LINES)),
        full_marks(cells={"rt-lines": CellExpect("LearnerDied", message="answer channel")}),
    ),
    Case(
        "junk_unawaited",
        "every answer lists made-up unawaited coroutines, most not even shaped as the grader's: each is dropped "
        "or only explains, and no check errors",
        _attack("junk", JUNK_UNAWAITED, base=answered),
        full_marks(),
    ),
    Case(
        "answer_nesting",
        "a line of JSON nested a million deep on the grader's answer channel: ignored, the channel goes on",
        _cells_after("ex4-solution", ("nesting", ANSWER_NESTING)),
        full_marks(),
    ),
    # -- answers that do not do the work ----------------------------------------------------------
    Case(
        "hardcoded_visible",
        "answers hard-coded for the visible examples: the hidden tests catch them, and the visible check of "
        "`greetings` its list typed in",
        _answers(**HARDCODED),
        Expected(
            score=8.0,
            passed=passed_except(
                "test_top_level_greetings",
                "test_greet_any_name",
                "test_greetings_run_concurrently",
                "test_gather_no_names",
                "test_route_awaits_greet",
                "test_call_health_really_calls_app",
            ),
        ),
    ),
    Case(
        "gather_without_greet",
        "gather_greetings builds the strings itself, without greet or gather (the concurrency probe counts "
        "the calls to its slow greet: a gap this suite found)",
        _answers(ex2=GATHER_WITHOUT_GREET),
        Expected(
            score=13.0,
            passed=passed_except("test_greetings_run_concurrently"),
            outputs={"test_greetings_run_concurrently": "called greet 0 times for 10 names"},
        ),
    ),
    Case(
        "greet_without_sleep",
        "greet never awaits anything (the probe now reads `ran` before awaiting the other task itself: "
        "a gap this suite found)",
        _answers(ex1='async def greet(name: str) -> str:\n    return f"Hello, {name}!"'),
        Expected(
            score=13.0,
            passed=passed_except("test_greet_is_async_and_yields"),
            outputs={"test_greet_is_async_and_yields": "never gave the event loop a turn"},
        ),
    ),
    Case(
        "exfiltrate_probes",
        "spies on the probes the grader sends and returns their names and source as answers",
        lambda ctx: with_attack(answered(**EXFILTRATE_ANSWERS), "spy", EXFILTRATE),
        Expected(
            score=11.0,
            passed=passed_except("test_call_health", "test_gather_no_names", "test_call_health_really_calls_app"),
        ),
    ),
]

# Known limits of the design: the learner's code runs in the process where the probes observe it, so
# code written to recognise a probe at run time can answer it. These rows are what such code gets today.
KNOWN_LIMITS: list[Case] = [
    Case(
        "known_limit_probe_forgery",
        "replaces the learner runtime's probe handler to forge what the visible probes observe",
        _attack("forge", PROBE_FORGERY),
        zero(passed=frozenset({"test_greet_is_async_and_yields", "test_call_health_is_async"}), score=2.0),
    ),
    Case(
        "known_limit_frame_reading",
        "call_health reads the hidden probe's expected answer from its caller's code object",
        _answers(ex4=FRAME_READING),
        full_marks(),
    ),
]

# Graded twice in the same batch (as a copy with another student id): the rows must be the same.
TWICE = ("fork_bomb",)


def write_case(case: Case, ctx: Context) -> Path:
    """Write a case's notebook into ``ctx.submissions``; the file's stem (the student id) is its name."""
    path = ctx.submissions / f"{case.name}.ipynb"
    path.write_text(json.dumps(case.build(ctx)), encoding="utf-8")
    return path
