"""Benchmark 2: what the grader adds to a submission beyond running its code and its tests.

Run: ``uv run python benchmarks/bench_overhead.py [--chapters 00-orientation 04-n-plus-one] [--submissions 8]``.

For each chapter, the reference solution is graded ``--submissions`` times in a row in one batch
(one job, warm, every sandbox layer this machine has), and each submission's wall time is taken
between two consecutive rows (the first, which starts the zygote, is left out). The baseline is
the same notebook's cells and the same tests (visible and hidden) run in-process in a Jupyter
kernel that has first imported what a warm learner process has (FastAPI, SQLAlchemy, pytest...).
Overhead = grader seconds per submission - (cells + tests in the kernel). Target: <= 100 ms.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from common import machine, run_in_kernel

from grader.batch import grade_batch
from grader.course import Course
from grader.models import Submission, SubmissionResult
from grader.sandbox.isolation import Isolation, missing_layers
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def grader_seconds(course: Course, chapter: str, count: int, warm: bool) -> float:
    """Median wall seconds between consecutive rows of a one-job batch of the reference solution."""
    notebook = course.chapter(chapter).notebook
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as out:
        submissions = [
            Submission(path=notebook, student_id=f"s{i:02d}", assignment=chapter, sha256=f"{i}") for i in range(count)
        ]
        stamps: list[float] = []

        def stamp(result: SubmissionResult) -> None:
            if result.score != result.max_score:
                raise SystemExit(f"{chapter}: the reference solution scored {result.score}/{result.max_score}")
            stamps.append(time.perf_counter())

        grade_batch(
            submissions,
            course,
            Path(out),
            Limits(),
            jobs=1,
            isolation=Isolation(hide=[Path(out)]),
            on_result=stamp,
            warm=warm,
        )
    return statistics.median(b - a for a, b in itertools.pairwise(stamps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", default=["00-orientation", "04-n-plus-one"])
    parser.add_argument("--submissions", type=int, default=8)
    args = parser.parse_args()
    course = Course.at(ROOT)
    print(f"machine: {machine()}")
    print(f"missing sandbox layers: {', '.join(missing_layers()) or 'none'}")
    header = f"{'chapter':24} {'cells':>7} {'tests':>7} {'in kernel':>10} {'warm':>7} {'overhead':>9} {'cold':>7}"
    print(header + "   (seconds per submission; overhead = warm - in kernel)")
    worst = float("-inf")
    for chapter in args.chapters:
        kernel = run_in_kernel(course.chapter(chapter).directory)
        tests = statistics.median(kernel.tests_s)
        baseline = kernel.cells_s + tests
        warm = grader_seconds(course, chapter, args.submissions, warm=True)
        cold = grader_seconds(course, chapter, max(3, args.submissions // 2), warm=False)
        worst = max(worst, warm - baseline)
        print(
            f"{chapter:24} {kernel.cells_s:7.3f} {tests:7.3f} {baseline:10.3f} {warm:7.3f} "
            f"{(warm - baseline) * 1000:7.0f}ms {cold:7.3f}"
        )
    print(f"worst overhead: {worst * 1000:.0f} ms per submission (target <= 100 ms)")


if __name__ == "__main__":
    main()
