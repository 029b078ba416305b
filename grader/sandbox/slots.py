"""Slots: where one submission at a time is graded, each with a uid of its own and a warm zygote.

Slot numbers are machine-wide, so two learner processes running at once never share a uid: a number
is held with an advisory lock on a file (``flock``), so concurrent batches, and Dask workers on one
machine, each get numbers no one else holds, and a killed holder frees its slot at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.models import SubmissionResult
from grader.sandbox.isolation import Isolation
from grader.sandbox.warm import Zygote, ZygoteError

MAX_SLOTS = 256


class NoFreeSlot(Exception):
    """Every slot of this machine is held."""


def _lock_folder() -> Path:
    # Per user: another user's folder would refuse our lock files. Under /tmp, which learner code never sees.
    folder = Path(tempfile.gettempdir()) / f"workbook-slots-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@contextlib.contextmanager
def machine_slot() -> Iterator[int]:
    """Hold the lowest free slot number until the block ends."""
    folder = _lock_folder()
    for number in range(MAX_SLOTS):
        fd = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield number
        finally:
            os.close(fd)  # closing the file releases the lock
        return
    raise NoFreeSlot(f"all {MAX_SLOTS} grading slots of this machine are in use")


class Slot:
    """One of ``--jobs`` concurrent places to grade: its own uid and, when warm, its own zygote.

    The zygote is started on first use and again whenever a submission left it unusable (a grading
    process killed in the middle of talking to it, the zygote itself killed). If it cannot start, the
    slot grades cold: slower, never wrong.
    """

    def __init__(self, number: int, isolation: Isolation, warm: bool, lean: bool = False) -> None:
        self.isolation = isolation.model_copy(update={"slot": number})
        self.warm = warm
        self.lean = lean  # one submission only: its zygote imports what every learner process needs, no more
        self.zygote: Zygote | None = None
        self.root: Path | None = None

    def ready_zygote(self, wait: bool = True) -> Zygote | None:
        """The slot's zygote, started if need be; ``wait=False`` returns while it is still importing (its
        first request waits), so that the caller's own start-up runs meanwhile."""
        if not self.warm:
            return None
        if self.zygote is not None and self.zygote.alive:
            return self.zygote
        self.close()
        self.root = Path(tempfile.mkdtemp(prefix="workbook-slot-"))
        try:
            self.zygote = Zygote(self.root, self.isolation, lean=self.lean).start(wait=wait)
        except (OSError, ZygoteError):
            self.zygote = None
        return self.zygote

    def after(self, result: SubmissionResult) -> None:
        """Leave nothing of this submission for the next one: its processes, its files, a confused zygote."""
        if self.zygote is None:
            return
        try:
            self.zygote.kill_all()
        except ZygoteError:
            self.close()
            return
        if self.root is not None:
            for leftover in self.root.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
