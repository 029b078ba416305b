"""Isolation layers around the learner process, built from bubblewrap and setpriv.

Layers: an unprivileged uid per concurrent slot (so RLIMIT_NPROC counts and no file of the grader
is writable), a PID namespace (nothing the learner starts outlives it, ``setsid()`` included), no
network, a private ``/tmp``, a read-only root, and no view at all of the course's files (solutions,
hidden tests), the submissions or the grader's outputs. Where the machine lacks a layer the grader
says so once and, as configured, refuses (``required``) or goes on without it (``available``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

import grader
from grader.sandbox import syscalls
from grader.sandbox.dbserver import private_root

UID_BASE = 61000
TMPFS_BYTES = 64 * 2**20


class IsolationMode(StrEnum):
    REQUIRED = "required"
    AVAILABLE = "available"
    OFF = "off"


class Isolation(BaseModel):
    """How to isolate one learner process; ``slot`` picks its uid when the grader runs as root."""

    mode: IsolationMode = IsolationMode.AVAILABLE
    slot: int = 0
    hide: list[Path] = Field(default_factory=list)

    @property
    def uid(self) -> int:
        return UID_BASE + self.slot


class MissingLayers(Exception):
    """``required`` isolation was asked for on a machine that lacks a layer."""


@cache
def missing_layers() -> tuple[str, ...]:
    """What this machine cannot provide, in words an operator can act on."""
    missing = []
    if shutil.which("bwrap") is None:
        missing.append(
            "bubblewrap is not installed (apt-get install bubblewrap): no PID or network namespace, "
            "and learner code can read the course files"
        )
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        missing.append("setpriv is not installed (util-linux): learner code would run as root")
    if (reason := syscalls.missing()) is not None:
        missing.append(f"{reason}: learner code could pass data to the next submission through SysV IPC or the keyring")
    return tuple(missing)


def check_isolation(isolation: Isolation) -> tuple[str, ...]:
    """The missing layers, or ``MissingLayers`` if they are required."""
    if isolation.mode is IsolationMode.OFF:
        return ()
    missing = missing_layers()
    if missing and isolation.mode is IsolationMode.REQUIRED:
        raise MissingLayers("isolation is required but " + "; ".join(missing))
    return missing


def _exposed_paths() -> list[Path]:
    """What the learner's Python needs to run: the interpreter, the venv, the grader package."""
    paths = {
        Path(os.path.realpath(sys.base_prefix)),
        Path(os.path.realpath(sys.prefix)),
        Path(grader.__file__).resolve().parent,
    }
    return sorted(paths, key=lambda p: len(p.parts))


def _course_root() -> Path:
    """The checkout the grader runs from (solutions and hidden tests live there in development)."""
    return Path(grader.__file__).resolve().parent.parent


def _hidden_folders(extra: list[Path]) -> list[Path]:
    """Folders replaced by an empty tmpfs: homes, the course checkout, the test databases, submissions,
    outputs."""
    folders = [Path("/root"), Path("/home"), Path("/var/tmp"), _course_root(), private_root()]
    for path in extra:
        folder = path if path.is_dir() else path.parent  # a tmpfs can only cover a folder
        if folder != Path("/"):
            folders.append(folder)
    return [folder for folder in dict.fromkeys(folders) if folder.is_dir()]


def _between(path: Path, tmpfs: list[Path]) -> list[Path]:
    """The folders strictly between the innermost tmpfs that holds ``path`` and ``path``, outermost first."""
    holders = [folder for folder in tmpfs if path != folder and path.is_relative_to(folder)]
    if not holders:
        return []
    folder = max(holders, key=lambda holder: len(holder.parts))
    parts = path.relative_to(folder).parts
    return [folder.joinpath(*parts[:n]) for n in range(1, len(parts))]


def _reachable(mount_point: Path, tmpfs: list[Path]) -> list[str]:
    return [arg for folder in _between(mount_point, tmpfs) for arg in ("--perms", "0755", "--dir", str(folder))]


@cache
def _tmpfs_size() -> tuple[str, ...]:
    """``--size`` for the next tmpfs, where this bwrap knows it (0.8 does, 0.6 does not). A tmpfs is memory
    that no rlimit counts: without a size a learner's files in /tmp could take half the machine's RAM."""
    try:
        usage = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("--size", str(TMPFS_BYTES)) if "--size" in usage.stdout + usage.stderr else ()


# What a zygote started by root keeps inside its sandbox: switching a forked child to the slot's uid, and
# ending every process of the sandbox. Nothing else (no file-permission override, no mounts, no network).
ZYGOTE_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL")


def sandboxed(isolation: Isolation) -> bool:
    """Whether ``wrap`` puts commands in bubblewrap namespaces."""
    return isolation.mode is not IsolationMode.OFF and not missing_layers()


def wrap(command: list[str], scratch: Path, isolation: Isolation, *, zygote: bool = False) -> list[str]:
    """``command`` run inside bubblewrap (and as the slot's uid when we are root).

    A ``zygote`` started by root stays root inside the sandbox, with only ``ZYGOTE_CAPABILITIES``: the
    learner processes it forks switch to the slot's uid themselves, before any learner code runs, and
    so can neither signal nor trace it.
    """
    # Enforced here, where every learner process starts, and not only by the CLI: a library caller (a test
    # suite, a Dask worker) that asked for the layers never runs learner code without them.
    check_isolation(isolation)
    if not sandboxed(isolation):
        return command
    root = os.geteuid() == 0
    args = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    if not root:
        args.append("--unshare-user")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    args += ["--perms", "1777", *_tmpfs_size(), "--tmpfs", "/tmp"]
    # bubblewrap makes the folders leading to a mount point inside a tmpfs root-only (0700): the slot's uid
    # could then not reach the interpreter's standard library (/root/.pyenv/... on this machine), nor a
    # checkout's .venv when the checkout itself lies under /tmp. Each such folder is made 0755 first.
    tmpfs = [Path("/tmp")]
    for hidden in _hidden_folders(isolation.hide):
        args += _reachable(hidden, tmpfs)
        args += [*_tmpfs_size(), "--tmpfs", str(hidden)]
        tmpfs.append(hidden)
    for path in _exposed_paths():
        args += _reachable(path, tmpfs)
        args += ["--ro-bind", str(path), str(path)]
    # No --chdir: bwrap keeps the caller's cwd (the learner's home inside scratch, which it may write);
    # scratch itself stays root's, so a cwd there made `open("x.txt", "w")` or `sqlite:///./app.db` fail.
    args += ["--bind", str(scratch), str(scratch)]
    if root and zygote:
        for capability in ZYGOTE_CAPABILITIES:
            args += ["--cap-add", capability]
        return [*args, "--", *command]
    args.append("--")
    if root:
        uid = str(isolation.uid)
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    return args + command


def prepare_scratch(scratch: Path, home: Path, isolation: Isolation) -> None:
    """Give ``home`` (a folder inside ``scratch``) and what is in it to the slot's uid; ``scratch`` stays root's.

    The learner can then write in its home but not rename or replace it, nor the database bridge's socket
    beside it. On a restart the learner has had the folder, and the submission's other process (a race's
    twin, which sees it too) may still be running: every entry is changed through its folder's descriptor
    without following a symlink (``os.fwalk``), so a folder swapped for a link mid-walk never makes root
    hand the learner a file elsewhere, and an entry deleted meanwhile is skipped.
    """
    if os.geteuid() != 0 or isolation.mode is IsolationMode.OFF or missing_layers():
        return
    os.chmod(scratch, 0o755)
    if home.is_symlink() or not home.is_dir():
        return
    os.chown(home, isolation.uid, isolation.uid, follow_symlinks=False)
    for _, folders, files, folder_fd in os.fwalk(home, follow_symlinks=False):
        for name in [*folders, *files]:
            with contextlib.suppress(FileNotFoundError):
                os.chown(name, isolation.uid, isolation.uid, dir_fd=folder_fd, follow_symlinks=False)
