"""Sandbox overhead: grade each chapter's reference solution with and without isolation.

Run: ``uv run python benchmarks/bench_sandbox.py [--repeat N]``. Prints, per chapter, the median
wall time of the whole pipeline (load to score, learner process included) with isolation off and
with every available layer (bubblewrap, setpriv, limits), and their ratio. Target: <= 1.3.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from grader.course import Course
from grader.grade import grade_submission
from grader.models import Submission
from grader.sandbox.isolation import Isolation, IsolationMode, missing_layers
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def time_grading(course: Course, chapter: str, mode: IsolationMode) -> float:
    submission = Submission(path=course.chapter(chapter).notebook, student_id="bench", assignment=chapter)
    started = time.perf_counter()
    result = grade_submission(submission, course, Limits(), isolation=Isolation(mode=mode))
    elapsed = time.perf_counter() - started
    if result.score != result.max_score:
        raise SystemExit(f"{chapter}: the reference solution scored {result.score}/{result.max_score} ({mode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    course = Course.at(ROOT)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"missing layers: {', '.join(missing_layers()) or 'none'}")
    print(f"{'chapter':28} {'off (s)':>9} {'sandboxed (s)':>14} {'ratio':>6}")
    ratios = []
    for chapter in course.chapter_ids:
        off, on = [], []
        for _ in range(args.repeat):  # interleaved, so a busy moment hurts both sides alike
            off.append(time_grading(course, chapter, IsolationMode.OFF))
            on.append(time_grading(course, chapter, IsolationMode.AVAILABLE))
        ratio = statistics.median(on) / statistics.median(off)
        ratios.append(ratio)
        print(f"{chapter:28} {statistics.median(off):9.2f} {statistics.median(on):14.2f} {ratio:6.2f}")
    print(f"worst ratio: {max(ratios):.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
