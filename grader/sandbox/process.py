"""The parent side of the learner process: start it with limits, talk to it, kill it.

The RPC client is thread-based and returns ``concurrent.futures.Future`` objects, so it serves any
event loop: pytest-asyncio gives every test its own loop, while one learner process lives for a
whole submission.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from grader.sandbox.dbserver import BRIDGE_SOCKET, SOCKET_ENV
from grader.sandbox.isolation import Isolation, prepare_scratch, sandboxed, wrap
from grader.sandbox.limits import MAX_ANSWER_BYTES, Limits
from grader.sandbox.warm import Zygote, ZygoteError

Fds = tuple[int, int, int]  # the learner's request read end, answer write end, output write end


class LearnerDied(Exception):
    """The learner process ended (killed by a limit, crashed, or exited) before answering."""


class LearnerTimeout(LearnerDied):
    """The learner process did not answer in time and was killed."""


def learner_environment(home: Path) -> dict[str, str]:
    """A stripped environment: nothing of the grader's secrets, paths or tokens leaks in. The database
    bridge's socket lies beside the home, in the submission's scratch folder."""
    keep = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return keep | {
        "HOME": str(home),
        "TMPDIR": str(home),
        "IPYTHONDIR": str(home / ".ipython"),
        SOCKET_ENV: str(home.parent / BRIDGE_SOCKET),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


class BoundedOutput:
    """Keeps the first ``limit`` bytes of what the learner prints and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0

    def drain(self, stream: Any) -> None:
        while chunk := stream.read(65536):
            room = self.limit - len(self.kept)
            self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        text = self.kept.decode(errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped]"
        return text


class ColdLauncher:
    """Starts the learner process from scratch: a new Python in a new sandbox (about a second)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._wrapped = False

    def launch(self, home: Path, scratch: Path, limits: Limits, isolation: Isolation, fds: Fds) -> None:
        req_read, ans_write, out_write = fds
        command = [sys.executable, "-m", "grader.sandbox.worker", str(req_read), str(ans_write)]
        self._wrapped = sandboxed(isolation)
        self._proc = subprocess.Popen(
            wrap(command, scratch, isolation),
            stdin=subprocess.DEVNULL,
            stdout=out_write,
            stderr=out_write,
            pass_fds=(req_read, ans_write),
            cwd=home,
            env=learner_environment(home),
            start_new_session=True,  # its own process group, so kill() reaches its children too
            preexec_fn=limits.apply,
        )

    def exit_code(self, timeout: float) -> int | None:
        """Like a warm learner's: minus the signal that killed it, even through bubblewrap (which exits with
        128 plus the signal of the process it ran)."""
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return -(code - 128) if self._wrapped and 128 < code < 128 + 65 else code

    def kill(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


class WarmLauncher:
    """Forks the learner process from the slot's zygote, whose imports are done (tens of ms)."""

    def __init__(self, zygote: Zygote) -> None:
        self.zygote = zygote
        self._pid: int | None = None

    def launch(self, home: Path, scratch: Path, limits: Limits, isolation: Isolation, fds: Fds) -> None:
        self._pid = self.zygote.spawn(home, learner_environment(home), limits, fds)

    def exit_code(self, timeout: float) -> int | None:
        return self.zygote.exit_code(self._pid, timeout) if self._pid is not None else None

    def kill(self) -> None:
        if self._pid is not None:
            self.zygote.kill(self._pid)

    def running(self) -> bool:
        return self._pid is not None


class LearnerProcess:
    """One learner process: ``grader.sandbox.worker`` under resource limits, started cold or forked warm."""

    def __init__(
        self,
        scratch: Path,
        limits: Limits,
        isolation: Isolation | None = None,
        zygote: Zygote | None = None,
        home: str = "home",
    ) -> None:
        self.scratch = scratch
        self.home = scratch / home  # a second process of the same submission (a race's twin) has its own
        self.limits = limits
        self.isolation = isolation or Isolation()
        self.output = BoundedOutput(limits.output_bytes)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._dead: str | None = None
        self._launcher: ColdLauncher | WarmLauncher = WarmLauncher(zygote) if zygote else ColdLauncher()
        self._to_child = -1

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        prepare_scratch(self.scratch, self.home, self.isolation)
        req_read, req_write = os.pipe()
        ans_read, ans_write = os.pipe()
        out_read, out_write = os.pipe()
        fds = (req_read, ans_write, out_write)
        try:
            try:
                self._launcher.launch(self.home, self.scratch, self.limits, self.isolation, fds)
            except ZygoteError:
                # The zygote is gone (a learner without a uid of its own can kill it): start cold instead.
                self._launcher = ColdLauncher()
                self._launcher.launch(self.home, self.scratch, self.limits, self.isolation, fds)
        except OSError as exc:
            for fd in (req_write, ans_read, out_read):
                os.close(fd)
            raise LearnerDied(f"the learner process could not be started: {exc}") from None
        finally:
            for fd in (req_read, ans_write, out_write):
                os.close(fd)
        self._to_child = req_write
        ready: Future[dict[str, Any]] = Future()
        self._pending[0] = ready
        threading.Thread(target=self._read_answers, args=(ans_read,), daemon=True).start()
        threading.Thread(target=self._drain_output, args=(out_read,), daemon=True).start()
        try:
            ready.result(timeout=max(self.limits.request_timeout, 30.0))
        except TimeoutError as exc:
            self.kill("the learner process did not start in time")
            raise LearnerTimeout("the learner process did not start in time") from exc

    def _drain_output(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            self.output.drain(stream)

    def _read_answers(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            while line := stream.readline(MAX_ANSWER_BYTES + 1):
                if len(line) > MAX_ANSWER_BYTES:  # the learner's code holds the channel's fd and may flood it
                    self.kill(
                        f"the learner process sent a line of more than {MAX_ANSWER_BYTES // 2**20} MiB "
                        "on the grader's answer channel"
                    )
                    break
                try:
                    answer = json.loads(line)
                    future = self._pending.pop(int(answer.pop("id")))
                except (ValueError, KeyError, TypeError, RecursionError):
                    continue  # garbage on the channel (deep nesting too) is ignored, never trusted
                if not future.done():
                    future.set_result(answer)
        self._mark_dead(self._death_reason())

    def _death_reason(self) -> str:
        if self._dead:
            return self._dead
        try:
            code = self._launcher.exit_code(timeout=2)
        except ZygoteError:
            code = None
        if code is None:
            return "the learner process closed its answer channel"
        if code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGXCPU:
                return (
                    f"the learner process used up its CPU time ({self.limits.cpu_seconds} s) and was stopped ({name})"
                )
            return f"the learner process was killed by {name}"
        return f"the learner process exited with code {code}"

    def _mark_dead(self, reason: str) -> None:
        with self._lock:
            self._dead = self._dead or reason
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LearnerDied(self._dead))

    @property
    def alive(self) -> bool:
        return self._dead is None and self._launcher.running()

    def submit(self, op: str, args: dict[str, Any]) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._dead is not None:
                future.set_exception(LearnerDied(self._dead))
                return future
            request_id = secrets.randbits(62)  # unguessable, so learner code cannot answer in our place
            self._pending[request_id] = future
        data = (json.dumps({"id": request_id, "op": op, "args": args}) + "\n").encode()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._to_child, view) :]
        except OSError:
            self._mark_dead(self._death_reason())
        return future

    def request(self, op: str, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Blocking call, for the pipeline's own thread."""
        future = self.submit(op, args)
        limit = timeout or self.limits.request_timeout
        try:
            return future.result(timeout=limit)
        except TimeoutError:
            reason = f"no answer within {limit:g} s (an endless loop, or code that blocks the event loop)"
            self.kill(reason)
            raise LearnerTimeout(reason) from None

    async def arequest(self, op: str, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Awaitable call from any event loop."""
        future = self.submit(op, args)
        limit = timeout or self.limits.request_timeout
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except TimeoutError:
            reason = f"no answer within {limit:g} s (an endless loop, or code that blocks the event loop)"
            self.kill(reason)
            raise LearnerTimeout(reason) from None

    def kill(self, reason: str = "stopped by the grader") -> None:
        with self._lock:
            self._dead = self._dead or reason
        with contextlib.suppress(ZygoteError):
            self._launcher.kill()
        self._mark_dead(reason)

    def stop(self) -> None:
        if self.alive:
            try:
                os.write(self._to_child, b'{"op": "shutdown"}\n')
                self._launcher.exit_code(timeout=2)
            except (OSError, ZygoteError):
                pass
        self.kill("finished")
        if self._to_child >= 0:
            os.close(self._to_child)
            self._to_child = -1
