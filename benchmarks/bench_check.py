"""Benchmark 3: how long a learner waits for a check, from a terminal and inside the notebook.

Run: ``uv run python benchmarks/bench_check.py [--chapters 00-orientation 04-n-plus-one] [--repeat 5]``.

- ``grader check NOTEBOOK`` (the installed console script, a new process each time) on the reference
  solution: cold is the first run after the kernel's page cache was dropped (when this runs as root),
  warm the median of the runs after it.
- ``check("exN")`` in a Jupyter kernel (the reference solution, its check cells as released: visible checks
  only), timed from the client as a learner would wait for the cell:
  cold is the notebook's first check cell (it imports pytest and the chapter's checks), warm the
  median and the slowest of the others.

Targets: ``grader check`` <= 1.5 s wall; the in-notebook check <= 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import machine, run_in_kernel

from grader.course import Course

ROOT = Path(__file__).resolve().parent.parent
GRADER = Path(sys.executable).parent / "grader"


def drop_page_cache() -> bool:
    """Make the next start read every module from disk, as after a reboot; only root may."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def grader_check(notebook: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [GRADER, "check", notebook], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"grader check {notebook} exited {completed.returncode}:\n{completed.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", default=["00-orientation", "04-n-plus-one"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    course = Course.at(ROOT)
    print(f"machine: {machine()}")
    print(f"{'':24} {'grader check (s)':>24} {'check() in the notebook (ms)':>36}")
    print(f"{'chapter':24} {'cold':>8} {'warm':>15} {'cold':>12} {'warm median':>12} {'warm max':>10}")
    worst_cli, worst_cell = 0.0, 0.0
    cache_dropped = False
    for chapter in args.chapters:
        notebook = course.chapter(chapter).notebook
        cache_dropped = drop_page_cache()
        cold = grader_check(notebook)
        warm = statistics.median(grader_check(notebook) for _ in range(args.repeat))
        kernel = run_in_kernel(course.chapter(chapter).directory, repeats=0, released_checks=True)
        first, rest = kernel.checks_s[0], kernel.checks_s[1:]
        worst_cli = max(worst_cli, warm)
        worst_cell = max([worst_cell, *rest])
        print(
            f"{chapter:24} {cold:8.2f} {warm:15.2f} {first * 1000:12.0f} "
            f"{statistics.median(rest) * 1000:12.0f} {max(rest) * 1000:10.0f}"
        )
    if not cache_dropped:
        print("note: the page cache could not be dropped (not root), so 'cold' is only the first run")
    print(f"worst warm grader check: {worst_cli:.2f} s (target <= 1.5 s)")
    print(f"slowest warm check() cell: {worst_cell * 1000:.0f} ms (target <= 300 ms)")


if __name__ == "__main__":
    main()
