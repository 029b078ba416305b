"""Machine-wide slot numbers: two learner processes running at once never share a uid.

A slot is held with an advisory lock on a file (``flock``), so concurrent batches, and Dask workers
on one machine, each get numbers no one else holds, and a killed holder frees its slot at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
