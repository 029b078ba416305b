"""Entry point of the learner process: ``python -m grader.sandbox.worker IN_FD OUT_FD``.

Requests arrive as JSON lines on IN_FD and answers leave on OUT_FD, each tagged with the request's
id so that concurrent requests (two orders racing for the last copy) are answered independently.
Whatever the learner's code prints goes to stdout/stderr, which the parent drains and truncates;
it never shares a channel with the answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from grader.sandbox.runtime import LearnerRuntime, install_unawaited_hook, make_shell
from grader.sandbox.syscalls import deny_shared_kernel_objects


class Worker:
    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        shell = make_shell()
        self.runtime = LearnerRuntime(shell.user_ns, shell)
        install_unawaited_hook()
        self._tasks: set[asyncio.Task[None]] = set()
        self._copy = False
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A copy of this process made by the learner's ``os.fork()`` is not the worker: it would race the
        worker for requests and answer them from its own state. Its request pipe reads end-of-file and,
        once the learner's code in it is done, it waits to be killed with the sandbox instead of answering
        (waiting, not exiting: a fork loop then meets the process limit at once, not after a churn)."""
        self._copy = True
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, self.in_fd)
        os.dup2(devnull, self.out_fd)
        os.close(devnull)

    def send(self, message: dict[str, Any]) -> None:
        while self._copy:
            time.sleep(3600)
        data = (json.dumps(message) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.out_fd, view)
            view = view[written:]

    async def answer(self, request: dict[str, Any]) -> None:
        answer = await self.runtime.handle(request)
        answer["id"] = request.get("id")
        self.send(answer)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**26)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(self.in_fd, "rb", buffering=0)
        )
        self.send({"id": 0, "ready": True, "pid": os.getpid()})
        while line := await reader.readline():
            request = json.loads(line)
            if request.get("op") == "shutdown":
                break
            task = asyncio.create_task(self.answer(request))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def run(in_fd: int, out_fd: int) -> None:
    """Serve the grader until it says shutdown; also the entry of a learner process forked warm."""
    deny_shared_kernel_objects()
    asyncio.run(Worker(in_fd, out_fd).serve())
    # Learner threads or pending tasks must not keep a finished worker alive.
    os._exit(0)


def main() -> None:
    run(int(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()
