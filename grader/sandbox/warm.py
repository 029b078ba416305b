"""The grader's end of a zygote (``grader.sandbox.zygote``): start one per slot, ask it for learner processes.

A ``Zygote`` is made in the batch process, one per concurrent slot, and handed to that slot's grading
processes: it pickles to its control socket alone (multiprocessing passes the descriptor along), so
a grading process forked for one submission talks to the same warm zygote as the one before it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from grader.sandbox.isolation import Isolation, sandboxed, wrap
from grader.sandbox.limits import Limits

START_TIMEOUT = 60.0  # the zygote imports FastAPI, SQLAlchemy and IPython once, on a possibly busy machine
REQUEST_TIMEOUT = 30.0


class ZygoteError(Exception):
    """The zygote is gone or did not answer; the caller falls back to, or reports, a cold start."""


def zygote_environment(root: Path) -> dict[str, str]:
    """As stripped as a learner process's: the zygote's environment is what every learner process inherits
    until it takes its own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(root),
        "TMPDIR": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _zygote_limits() -> None:
    """The zygote itself is the grader's code; each learner process takes the submission's limits after the
    fork. Only core dumps are refused here (a dump would hold a learner's memory on disk)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Zygote:
    """A warm, sandboxed parent for one slot's learner processes (``root`` is bound into its sandbox)."""

    def __init__(self, root: Path, isolation: Isolation, lean: bool = False) -> None:
        self.root = root
        self.isolation = isolation
        self.lean = lean  # for one submission: preload only what every learner process needs
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._buffer = b""
        self._ready = True  # a zygote reached through attach() or a pickle was ready before it was passed on

    @property
    def isolated(self) -> bool:
        """Inside its own PID namespace, where ending "every process but me" ends only the sandbox's."""
        return sandboxed(self.isolation)

    @property
    def learner_uid(self) -> int | None:
        """The uid learner processes switch to after the fork (when we are root and the sandbox is on)."""
        return self.isolation.uid if self.isolated and os.geteuid() == 0 else None

    def start(self, wait: bool = True) -> Zygote:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        command = [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno())]
        if self.isolated:
            command.append("isolated")
        if self.lean:
            command.append("lean")
        self._proc = subprocess.Popen(
            wrap(command, self.root, self.isolation, zygote=True),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            cwd=self.root,
            env=zygote_environment(self.root),
            start_new_session=True,
            preexec_fn=_zygote_limits,
        )
        theirs.close()
        self._sock = ours
        self._ready = False
        if wait:
            self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        if self._ready:
            return
        ready = self._receive(START_TIMEOUT)
        if not ready.get("ready"):
            self.close()
            raise ZygoteError("the zygote did not start")
        self._ready = True

    @classmethod
    def attach(cls, fd: int, root: Path, isolation: Isolation) -> Zygote:
        """The zygote a parent process started, reached through the control socket it passed down."""
        zygote = cls(root, isolation)
        zygote._sock = socket.socket(fileno=fd)
        return zygote

    def fileno(self) -> int | None:
        return self._sock.fileno() if self._sock is not None else None

    def __getstate__(self) -> dict[str, Any]:
        # The Popen stays with the batch process that started the zygote; a grading process needs the socket.
        return {"root": self.root, "isolation": self.isolation, "_sock": self._sock}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _proc=None, _lock=threading.Lock(), _buffer=b"", _ready=True)

    def _receive(self, timeout: float, request_id: int | None = None) -> dict[str, Any]:
        """The answer to ``request_id``. Answers to other ids were meant for a grading process that was
        killed before it read them (the socket is shared by the slot's successive grading processes)."""
        sock = self._sock  # close() may empty the attribute from another thread: use one socket throughout
        if sock is None:
            raise ZygoteError("the zygote is not running")
        while True:
            try:
                sock.settimeout(timeout)
                while b"\n" not in self._buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ZygoteError("the zygote closed its control channel")
                    self._buffer += chunk
            except OSError as exc:  # socket.timeout is an OSError
                raise ZygoteError(f"the zygote did not answer: {exc}") from None
            line, self._buffer = self._buffer.split(b"\n", 1)
            answer = json.loads(line)
            if answer.get("id") == request_id:
                return answer

    def request(self, message: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        request_id = secrets.randbits(62)
        data = (json.dumps(message | {"id": request_id}) + "\n").encode()
        with self._lock:
            sock = self._sock  # close() may empty the attribute from another thread: a closed socket raises
            if sock is None:
                raise ZygoteError("the zygote is not running")
            self._wait_ready()
            try:
                if fds:
                    socket.send_fds(sock, [data], list(fds))
                else:
                    sock.sendall(data)
            except OSError as exc:
                raise ZygoteError(f"the zygote is gone: {exc}") from None
            answer = self._receive(REQUEST_TIMEOUT, request_id)
        if not answer.get("ok"):
            raise ZygoteError(str(answer.get("error", "the zygote refused")))
        return answer

    def spawn(self, home: Path, env: dict[str, str], limits: Limits, fds: tuple[int, int, int]) -> int:
        """A new learner process serving on ``fds`` (request read end, answer write end, output)."""
        message = {"op": "spawn", "home": str(home), "env": env, "limits": limits.model_dump(), "uid": self.learner_uid}
        answer = self.request(message, fds)
        return int(answer["pid"])

    def exit_code(self, pid: int, timeout: float) -> int | None:
        return self.request({"op": "wait", "pid": pid, "timeout": timeout}).get("code")

    def kill(self, pid: int) -> None:
        """End one learner process of this zygote and what it started (see ``zygote.kill_one``), not the others."""
        self.request({"op": "kill_one", "pid": pid})

    def kill_all(self) -> None:
        """End every learner process of this zygote and empty its sandbox's private folders."""
        self.request({"op": "kill"})

    @property
    def alive(self) -> bool:
        return self._sock is not None and (self._proc is None or self._proc.poll() is None)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._proc is not None:
            # Closing the socket ends the zygote's loop; it kills what is left and exits.
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, 9)
                self._proc.wait()
            self._proc = None
