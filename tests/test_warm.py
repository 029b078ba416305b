"""Warm learner processes: forked from a slot's zygote, as isolated from each other as cold ones."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.process import LearnerDied, LearnerProcess
from grader.sandbox.warm import Zygote

LIMITS = Limits(cell_timeout=3, request_timeout=3)

PLANT = """
import os, subprocess
subprocess.Popen(["sleep", "3600.5"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    os.execv("/bin/sleep", ["sleep", "3600.6"])
os.makedirs("/tmp/planted/deep")
open("/tmp/planted/deep/answer.txt", "w").write("42")
os.chmod("/tmp/planted", 0)
try:
    open("/dev/shm/planted", "w").write("42")  # not writable in the sandbox when the grader is root
except PermissionError:
    pass
"""

LOOK = """
import os
def leftovers():
    found = [p for p in ("/tmp/planted", "/dev/shm/planted") if os.path.lexists(p)]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found += [f"process {pid}"] if b"3600." in open(f"/proc/{pid}/cmdline", "rb").read() else []
        except OSError:
            pass
    return found
"""


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with tempfile.TemporaryDirectory(prefix="workbook-slot-") as root:
        zygote = Zygote(Path(root), Isolation()).start()
        try:
            yield zygote
        finally:
            zygote.close()


def learner(zygote: Zygote, limits: Limits = LIMITS) -> LearnerProcess:
    process = LearnerProcess(Path(tempfile.mkdtemp(dir=zygote.root)), limits, Isolation(), zygote=zygote)
    process.start()
    return process


def run(process: LearnerProcess, source: str) -> dict:
    return process.request("run_cell", {"source": source})


def test_nothing_of_one_submission_reaches_the_next(zygote: Zygote):
    first = learner(zygote)
    planted = run(first, PLANT)
    assert planted["ok"], planted["error"]
    assert run(first, LOOK + "\nassert leftovers()")["ok"], "the plant did not take; the test would prove nothing"
    first.stop()  # ends the learner process only (a race's other process may still be running) ...
    zygote.kill_all()  # ... and the submission's end, everything of it
    second = learner(zygote)
    try:
        answer = run(second, LOOK + "\nfound = leftovers()\nassert not found, found")
        assert answer["ok"], answer["error"]
    finally:
        second.stop()


def test_learner_cannot_signal_or_read_the_zygote(zygote: Zygote):
    process = learner(zygote)
    try:
        for source in (
            "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
            "import os\nopen(f'/proc/{os.getppid()}/mem', 'rb').read(1)",
            "import os\nopen(f'/proc/{os.getppid()}/environ', 'rb').read()",
        ):
            answer = run(process, source)
            assert answer["error"] and answer["error"]["type"] == "PermissionError", (source, answer)
    finally:
        process.stop()
    assert zygote.alive
    later = learner(zygote)
    assert run(later, "x = 1")["ok"]
    later.stop()


def test_each_submission_gets_its_own_limits_uid_and_random_state(zygote: Zygote):
    probe = "import os, random, resource as r\nprint(os.getuid(), r.getrlimit(r.RLIMIT_AS)[0], random.random())"
    lines = []
    for memory_mb in (512, 768):
        process = learner(zygote, LIMITS.model_copy(update={"memory_mb": memory_mb}))
        assert run(process, probe)["ok"]
        process.stop()
        lines.append(process.output.text().split())
    (uid_a, limit_a, random_a), (uid_b, limit_b, random_b) = lines
    assert (int(limit_a), int(limit_b)) == (512 * 2**20, 768 * 2**20)
    assert random_a != random_b
    if os.geteuid() == 0:
        assert uid_a == uid_b == str(Isolation().uid)


def test_an_endless_cell_is_killed_and_the_zygote_serves_the_next(zygote: Zygote):
    process = learner(zygote)
    with pytest.raises(LearnerDied, match="no answer within"):
        process.request("run_cell", {"source": "while True:\n    pass"}, timeout=1)
    assert not process.alive
    after = learner(zygote)
    assert run(after, "import fastapi, sqlalchemy")["ok"]
    after.stop()


def test_a_dead_zygote_falls_back_to_a_cold_start():
    with tempfile.TemporaryDirectory(prefix="workbook-slot-") as root:
        zygote = Zygote(Path(root), Isolation()).start()
        zygote.close()
        process = LearnerProcess(Path(tempfile.mkdtemp(dir=root)), LIMITS, Isolation(), zygote=zygote)
        process.start()
        try:
            assert run(process, "x = 1")["ok"]
        finally:
            process.stop()


def test_a_kill_before_any_learner_keeps_the_sandbox_reachable(tmp_path: Path):
    """A slot's first submission may start no learner (a broken notebook) and still be cleaned up after. That
    clean-up must not lock the slot's uid out of the folders leading to a mount point under /tmp, as with a
    checkout (and its .venv) under /tmp: its next learner process would fail to import anything new."""
    hidden = tmp_path / "checkout" / "course"
    hidden.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="workbook-slot-") as root:
        zygote = Zygote(Path(root), Isolation(hide=[hidden])).start()
        try:
            zygote.kill_all()
            process = learner(zygote)
            try:
                answer = run(process, f"import os\nprint(os.listdir({str(hidden)!r}))")
                assert answer["ok"], answer
            finally:
                process.stop()
        finally:
            zygote.close()


def test_a_zygote_closed_while_a_request_waits_answers_with_a_zygote_error(tmp_path: Path):
    """A learner process's reader thread asks the zygote for an exit code while the grading ends and closes
    the zygote: the request must fail as a ZygoteError (which the reader handles), not crash its thread."""
    import socket
    import threading

    from grader.sandbox.warm import ZygoteError

    zygote = Zygote(tmp_path, Isolation())
    ours, _theirs = socket.socketpair()
    zygote._sock = ours
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            zygote.exit_code(1, timeout=1)
        except BaseException as exc:
            outcome.append(exc)

    with zygote._lock:  # the request waits for the lock, as behind another request
        asker = threading.Thread(target=ask)
        asker.start()
        zygote.close()
    asker.join(5)
    _theirs.close()
    assert len(outcome) == 1 and isinstance(outcome[0], ZygoteError), outcome


LOADED = """
import sys
def loaded():
    return sorted(name for name in ("fastapi", "jwt", "pytest") if name in sys.modules)
"""


def loaded(process: LearnerProcess) -> list[str]:
    assert run(process, LOADED)["ok"]
    return process.request("call", {"name": "loaded", "args": [], "kwargs": {}})["value"]


def test_a_zygote_preloads_the_course_libraries(zygote: Zygote):
    process = learner(zygote)
    try:
        assert loaded(process) == ["fastapi", "jwt", "pytest"]
    finally:
        process.stop()


def test_a_lean_zygote_leaves_the_course_libraries_to_the_notebooks_imports():
    """``grader check`` grades one notebook: its zygote imports only what every learner process needs."""
    with tempfile.TemporaryDirectory(prefix="workbook-slot-") as root:
        zygote = Zygote(Path(root), Isolation(), lean=True).start()
        try:
            process = learner(zygote)
            try:
                assert loaded(process) == []
                assert run(process, "from grader.notebook import check\nimport fastapi")["ok"]
                assert loaded(process) == ["fastapi"]
            finally:
                process.stop()
        finally:
            zygote.close()


def test_a_notebooks_first_cell_imports_no_test_runner():
    """Every learner process imports check() (a notebook's first cell): pytest, rich and the grading pipeline
    wait for the first check() call, so that starting a learner process does not pay for them."""
    import subprocess
    import sys

    probe = "import sys, grader.notebook; print(sorted(m for m in ('pytest', 'rich', 'nbformat') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]", completed.stdout


def test_a_timed_out_learner_process_is_ended_alone(zygote: Zygote):
    """A race's two processes share the zygote: the one whose request timed out ends, with what it started
    (a child in a session of its own too), and the other goes on."""
    other, stuck = learner(zygote), learner(zygote)
    escape_then_spin = (
        "import subprocess\nsubprocess.Popen(['sleep', '3600.7'], start_new_session=True)\nwhile True:\n    pass"
    )
    try:
        assert run(other, LOOK)["ok"]
        with pytest.raises(LearnerDied):
            stuck.request("run_cell", {"source": escape_then_spin}, timeout=2)
        assert not stuck.alive
        assert other.request("defined", {"names": ["leftovers"]})["value"] == {"leftovers": True}
        if zygote.isolated:  # outside a PID namespace only the process group is ended until the submission ends
            assert other.request("call", {"name": "leftovers", "args": [], "kwargs": {}})["value"] == []
    finally:
        stuck.stop()
        other.stop()
        zygote.kill_all()
