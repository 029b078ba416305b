"""Benchmark 4: peak memory of the grader and of one learner process.

Run: ``uv run python benchmarks/bench_memory.py [--chapter 04-n-plus-one] [--submissions 4]``.

Grades the chapter's reference solution ``--submissions`` times with ``grader grade --jobs 1``, warm
and then cold, while sampling every process of the run every 10 ms from /proc. Each process's peak
resident set (VmHWM, which the kernel keeps, so a sample taken any time before the process ends
sees it) is put under its role: the grader's command, its fork server, the grading processes
forked from it, the zygote, and the learner processes (forked from the zygote when warm, started
with ``python -m grader.sandbox.worker`` when cold). A forked process's resident set counts the
pages it shares with its parent, so these are upper bounds. Target: <= 300 MB per learner process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parent.parent
GRADER = Path(sys.executable).parent / "grader"


def _read(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command line, VmHWM in KiB) of a live process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if "VmHWM" not in fields:  # a zombie
        return None
    return int(fields["PPid"]), cmdline, int(fields["VmHWM"].split()[0])


def snapshot() -> dict[int, tuple[int, str, int]]:
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (row := _read(int(entry.name))) is not None:
            table[int(entry.name)] = row
    return table


def descendants(table: dict[int, tuple[int, str, int]], root: int) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, row in table.items() if row[0] == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def _python(cmdline: str) -> str:
    """The command line of a Python process, or "" for a wrapper (bwrap, setpriv) that carries it in its argv."""
    return cmdline if Path(cmdline.split(" ", 1)[0]).name.startswith("python") else ""


def role(pid: int, root: int, table: dict[int, tuple[int, str, int]]) -> str | None:
    parent, cmdline, _ = table[pid]
    cmdline, parent_cmdline = _python(cmdline), _python(table.get(parent, (0, "", 0))[1])
    if pid == root:
        return "grader grade (main process)"
    if "grader.sandbox.worker" in cmdline:
        return "learner process (cold)"
    if "grader.sandbox.zygote" in cmdline:
        return "learner process (warm)" if "grader.sandbox.zygote" in parent_cmdline else "zygote"
    if "forkserver" in cmdline:
        return "grading process" if "forkserver" in parent_cmdline else "fork server"
    return None  # bwrap, setpriv and the like


def measure(notebooks: Path, out: Path, warm: bool) -> dict[str, int]:
    command = [GRADER, "grade", notebooks, "--out", out, "--course", ROOT, "--jobs", "1", "--force"]
    command.append("--warm" if warm else "--cold")
    peaks: dict[str, int] = defaultdict(int)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    while process.poll() is None:
        table = snapshot()
        for pid in descendants(table, process.pid):
            if pid in table and (name := role(pid, process.pid, table)) is not None:
                peaks[name] = max(peaks[name], table[pid][2])
        time.sleep(0.01)
    if process.returncode != 0:
        raise SystemExit(f"grader grade exited {process.returncode}: {process.stderr.read().decode()[-2000:]}")
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapter", default="04-n-plus-one")
    parser.add_argument("--submissions", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    solution = ROOT / "solutions" / args.chapter / f"{args.chapter}.ipynb"
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        notebooks = Path(tmp) / "submissions"
        notebooks.mkdir()
        for index in range(args.submissions):
            (notebooks / f"learner{index}.ipynb").write_bytes(solution.read_bytes())
        results = {mode: measure(notebooks, Path(tmp) / mode, warm=mode == "warm") for mode in ("warm", "cold")}
    print(f"peak resident memory (VmHWM, MiB) grading {args.submissions} x {args.chapter}, one job:")
    print(f"{'process':32} {'warm':>8} {'cold':>8}")
    roles = sorted({name for peaks in results.values() for name in peaks})
    for name in roles:
        cells = [f"{results[mode][name] / 1024:8.0f}" if name in results[mode] else f"{'-':>8}" for mode in results]
        print(f"{name:32} {' '.join(cells)}")
    learner = max(peaks.get(f"learner process ({mode})", 0) for mode, peaks in results.items()) / 1024
    print(f"largest learner process: {learner:.0f} MiB (target <= 300 MB)")


if __name__ == "__main__":
    main()
