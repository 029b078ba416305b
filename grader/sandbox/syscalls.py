"""A seccomp filter on every learner process: no System V IPC, no POSIX message queues, no kernel keyring.

Those kernel objects outlive the process that made them. bubblewrap gives a slot's sandbox its own IPC
namespace, but every submission a warm zygote forks shares it, and a uid's keyring outlives even a cold
start: what one submission left there, the next one could read (an empty notebook once scored full marks
that way). The filter is loaded by the worker itself before it runs any learner code, and every call of
these families then fails with ``EPERM``. Nothing the course teaches uses them (multiprocessing's
semaphores are POSIX ones, files in ``/dev/shm``, which the zygote empties after each submission).
"""

from __future__ import annotations

import errno
import os
from functools import cache

DENIED = (
    # the kernel keyring
    "add_key",
    "request_key",
    "keyctl",
    # System V shared memory, semaphores and message queues
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    # POSIX message queues
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
)


@cache
def missing() -> str | None:
    """Why the filter cannot be loaded on this machine, or None. Tried for real in a throwaway child: a
    kernel or container may refuse seccomp (gVisor, some policies) even where libseccomp is installed."""
    try:
        import pyseccomp  # noqa: F401  (loads libseccomp.so.2)
    except (ImportError, OSError) as exc:
        return f"libseccomp is not installed (apt-get install libseccomp2; {exc})"
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child only reports by its exit code)
        try:
            _load()
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return "this kernel or container refuses seccomp filters"
    return None


def _load() -> None:
    import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError, OSError):  # not a syscall of this architecture
            continue
    flt.set_attr(seccomp.Attr.CTL_TSYNC, 1)
    flt.load()


def deny_shared_kernel_objects() -> None:
    """Load the filter into this process (every thread) and its future children; no way back. Where the
    machine cannot (``missing``), the grader has said so once and, under ``--isolation required``, refused."""
    if missing() is None:
        _load()
