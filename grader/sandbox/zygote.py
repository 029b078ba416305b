"""A warm parent for learner processes: ``python -m grader.sandbox.zygote CONTROL_FD [isolated] [lean]``.

Starting a learner process cold costs a Python start plus the imports of FastAPI, SQLAlchemy,
pydantic and IPython, about a second, and often more than the submission's tests. The zygote pays
that once per batch slot: it runs inside the slot's sandbox (bubblewrap namespaces, the slot's
uid), imports what learner code imports, and then forks one learner process per submission, whose
imports are already done. A ``lean`` zygote, for a single submission (``grader check``), imports only what
every learner process needs and leaves the course's libraries to the notebook's own imports: it is then ready
while the grader is still starting, and no import is paid for that the notebook does not make.

What keeps submissions apart when one zygote serves many of them, one at a time:

- each learner process is a fork: whatever the learner changes is its own copy, never the zygote's;
- the zygote is not dumpable, so a learner process of the same uid cannot ptrace it or read its
  memory through ``/proc``;
- the control socket is closed in the learner process before any learner code runs, so only the
  grader can ask for forks and kills;
- between submissions ``kill`` ends every other process of the sandbox (``kill(-1)``: a learner's
  ``setsid()`` or double fork does not escape it) and empties the sandbox's private ``/tmp`` and
  ``/dev/shm``; the grader removes the submission's scratch folder itself.

The protocol is one JSON line per request on a Unix stream socket, answered by one JSON line;
``spawn`` carries the learner process's three pipe ends as ``SCM_RIGHTS``.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import random
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from grader.sandbox.limits import Limits

# What every learner process imports: the worker, and check() which every chapter's first cell imports.
BASE = (
    "asyncio",
    "sqlite3",
    "IPython.core.interactiveshell",
    "grader.sandbox.runtime",
    "grader.sandbox.worker",
    "pyseccomp",  # the worker loads its seccomp filter with it
    "grader.notebook",
)
# What learner code imports; a module missing from this environment is skipped.
COURSE = (
    "pydantic",
    "pydantic_settings",
    "fastapi",
    "fastapi.security",
    "fastapi.testclient",
    "starlette.testclient",
    "sqlalchemy",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.orm",
    "aiosqlite",
    "httpx",
    "jwt",
    "pwdlib",
    "pytest",
    "pytest_asyncio",
)
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
WIPED = (Path("/tmp"), Path("/dev/shm"))
MAX_MESSAGE = 1 << 16


def preload(lean: bool = False) -> None:
    for name in BASE if lean else BASE + COURSE:
        try:
            importlib.import_module(name)
        except Exception:  # an optional module: the learner's own import will report it
            continue
    from grader.sandbox import syscalls
    from grader.sandbox.runtime import make_shell

    syscalls.missing()  # tried once here, so no forked learner process pays for the trial

    # The shell is a singleton that each forked worker then finds ready (60 ms saved per submission). It
    # starts no thread (history is off), so forking it is safe; its namespace is still empty here.
    make_shell()


def not_dumpable() -> None:
    """No ptrace and no /proc/PID/mem for processes of the same uid (the learner processes)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall((json.dumps(message) + "\n").encode())


def drop_privileges(uid: int) -> None:
    """What ``setpriv --reuid --regid --clear-groups --no-new-privs`` does for a cold learner process."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # leaving uid 0 clears every capability
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")


def become_learner(sock: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
    """In the forked child: drop the zygote's channel, take the submission's limits, serve the grader."""
    try:
        sock.close()
        req_read, ans_write, out_write = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_write, 1)
        os.dup2(out_write, 2)
        keep = sorted({0, 1, 2, req_read, ans_write})
        for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")], strict=True):
            os.closerange(low + 1, high)
        os.setsid()
        os.environ.clear()
        os.environ.update(request["env"], PWD=request["home"])
        os.chdir(request["home"])
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        random.seed()  # a fork copies the zygote's generator: every submission would draw the same numbers
        # As a cold worker's, so learner code sees one kind of learner process whichever way it started.
        from grader.sandbox import worker

        sys.argv = [worker.__file__, str(req_read), str(ans_write)]
        Limits.model_validate(request["limits"]).apply()
        if request.get("uid") is not None:
            drop_privileges(int(request["uid"]))
        worker.run(req_read, ans_write)
    finally:
        os._exit(70)


def spawn(sock: socket.socket, fds: list[int], request: dict[str, Any]) -> dict[str, Any]:
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return {"ok": False, "error": "spawn needs three file descriptors"}
    pid = os.fork()
    if pid == 0:
        become_learner(sock, fds, request)
    for fd in fds:
        os.close(fd)
    return {"ok": True, "pid": pid}


def wait(pid: int, timeout: float) -> dict[str, Any]:
    """How a learner process ended: its exit code, or minus the signal that killed it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return {"ok": True, "code": None}
        if done:
            return {"ok": True, "code": os.waitstatus_to_exitcode(status)}
        if time.monotonic() > deadline:
            return {"ok": True, "code": None}
        time.sleep(0.01)


def _wipe(folder: Path) -> None:
    for child in folder.iterdir() if folder.is_dir() else ():
        try:
            if child.is_dir() and not child.is_symlink():
                # A learner may leave folders without permissions; its own uid can give them back.
                os.chmod(child, 0o700)
                for root, dirs, _ in os.walk(child):
                    for name in dirs:
                        os.chmod(os.path.join(root, name), 0o700)
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
        except OSError:
            continue


def session_of(pid: int) -> int | None:
    """The session id of a process, from ``/proc`` (the field after the command name, which may hold anything)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    return int(fields[3]) if len(fields) > 3 else None


def kill_one(pid: int, isolated: bool, spawned: set[int]) -> dict[str, Any]:
    """End one learner process (a timed-out request's) and everything it started, leaving the submission's
    other learner process running: a race's twin timing out on an endless cell must not take the first
    process down with it. In the sandbox's PID namespace that is every process outside the sessions of the
    learner processes that stay (a child that called ``setsid()`` left its parent's session, so it goes
    too); without one, the process group of the learner process."""
    if pid not in spawned:
        return {"ok": False, "error": f"{pid} is not a learner process of this zygote"}
    spawned.discard(pid)
    for kill in (os.killpg, os.kill):  # the learner process leads its own session and process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)
    if not isolated:
        return {"ok": True}
    # Each learner process leads its own session (its session id is its pid) once it has called setsid();
    # one just forked is still in the zygote's.
    keep = {*spawned, os.getsid(0)}
    for _ in range(3):  # a process forking in a loop may add a child between two rounds
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in {1, os.getpid(), *keep} or session_of(int(entry)) in keep:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGKILL)
        time.sleep(0.005)
    return {"ok": True}


def kill_all(isolated: bool, spawned: set[int], uid: int | None) -> dict[str, Any]:
    """End every learner process, then clean up.

    In its own PID namespace the zygote ends every process of the sandbox but itself and
    bubblewrap's init (``kill(-1)``: a learner's ``setsid()`` or double fork does not escape it).
    Without one, ``kill(-1)`` would reach every process of the user on the machine, so it ends the
    process group of each learner process it forked instead.
    """
    for _ in range(3):  # a process forking in a loop may add a child between two rounds
        try:
            if isolated:
                os.kill(-1, signal.SIGKILL)
            else:
                for pid in spawned:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.005)
    spawned.clear()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if done == 0:
            time.sleep(0.005)
    if isolated:  # outside a sandbox these are the machine's own /tmp and /dev/shm
        clean_up(uid)
    return {"ok": True}


def clean_up(uid: int | None) -> None:
    """Empty the sandbox's private folders, as the learner's uid: a root without file capabilities could not
    enter the folders a learner locked, and the learner's own uid can always unlock them."""
    if uid is None and os.geteuid() == 0:
        # No learner has run (or the zygote is leaving with its sandbox): nothing to empty. Root must not
        # walk /tmp either: it owns the folders bubblewrap made there for mount points (a checkout under
        # /tmp), and the chmod to 0700 below would lock the slot's uid out of its .venv.
        return
    pid = os.fork()
    if pid == 0:
        try:
            if uid is not None:
                drop_privileges(uid)
            for folder in WIPED:
                _wipe(folder)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def serve(sock: socket.socket, isolated: bool, spawned: set[int]) -> None:
    uid: int | None = None  # the learner uid, learned from the first spawn
    send(sock, {"ok": True, "ready": True, "pid": os.getpid()})
    buffer = b""
    while True:
        data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                request = json.loads(line)
            except ValueError:  # a grading process killed in the middle of a request
                continue
            op = request.get("op")
            if op == "spawn":
                uid = request.get("uid")
                answer = spawn(sock, fds, request)
                if answer["ok"]:
                    spawned.add(answer["pid"])
                fds = []
            elif op == "wait":
                answer = wait(int(request["pid"]), float(request.get("timeout", 2.0)))
                if answer.get("code") is not None:  # reaped: its pid may be another process's from now on
                    spawned.discard(int(request["pid"]))
            elif op == "kill":
                answer = kill_all(isolated, spawned, uid)
            elif op == "kill_one":
                answer = kill_one(int(request["pid"]), isolated, spawned)
            else:
                answer = {"ok": False, "error": f"unknown op {op!r}"}
            for fd in fds:
                os.close(fd)
            fds = []
            send(sock, answer | {"id": request.get("id")})


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    flags = set(sys.argv[2:])
    isolated = "isolated" in flags
    preload(lean="lean" in flags)
    not_dumpable()
    spawned: set[int] = set()
    try:
        serve(sock, isolated, spawned)
    finally:
        kill_all(isolated, spawned, None)
        os._exit(0)


if __name__ == "__main__":
    main()
