"""Benchmark 1: a class of 40 chapter-04 submissions, stock ``nbgrader autograde`` versus ``grader grade``.

Run: ``uv run python benchmarks/bench_vs_nbgrader.py [--submissions 40] [--jobs 2]``.

Both tools get the same nbgrader course (a temporary copy of this one, released with
``nbgrader generate_assignment``) and the same submissions in ``submitted/STUDENT/04-n-plus-one/``:
a mix of reference solutions, untouched released notebooks and solutions with one known mistake
each (the cases of ``tests/test_ch04_mistakes.py``). Each tool runs in its own copy, does its whole
job (gradebook rows included) and is timed from its command's start to its exit. Prints both wall
times, the seconds per submission and the ratio; checks that both tools agree on every score.
Target: ratio >= 10.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from common import machine  # noqa: E402
from support import VENV_BIN, copy_course, solution_with_cells_replaced, tool_env  # noqa: E402
from test_ch04_mistakes import MISTAKES  # noqa: E402

CHAPTER = "04-n-plus-one"
NOTEBOOK = f"{CHAPTER}.ipynb"


def submit(course: Path, count: int) -> dict[str, str]:
    """Write ``count`` submissions into ``course/submitted``; returns student -> kind."""
    kinds: dict[str, str] = {}
    mistakes = list(MISTAKES.values())
    for index in range(count):
        student = f"student{index:03d}"
        target = course / "submitted" / student / CHAPTER
        target.mkdir(parents=True)
        kind = ("reference", "released", "mistake")[index % 3]
        if kind == "reference":
            shutil.copy2(ROOT / "solutions" / CHAPTER / NOTEBOOK, target / NOTEBOOK)
        elif kind == "released":
            shutil.copy2(ROOT / "notebooks" / CHAPTER / NOTEBOOK, target / NOTEBOOK)
        else:
            mistake = mistakes[(index // 3) % len(mistakes)]
            solution_with_cells_replaced(CHAPTER, {mistake.cell: mistake.source}, target / NOTEBOOK)
        kinds[student] = kind
    return kinds


def course_copy(parent: Path, name: str, count: int) -> tuple[Path, dict[str, str]]:
    course = parent / name
    copy_course(course)
    released = timed([VENV_BIN / "nbgrader", "generate_assignment", CHAPTER, "--force"], course)[1]
    if released.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{released.stderr[-2000:]}")
    return course, submit(course, count)


def timed(command: list[str | Path], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, completed


def gradebook_scores(course: Path, students: list[str]) -> dict[str, float | None]:
    scores: dict[str, float | None] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                scores[student] = gradebook.find_submission(CHAPTER, student).score
            except MissingEntry:
                scores[student] = None
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as tmp:
        stock, kinds = course_copy(Path(tmp), "stock", args.submissions)
        ours, _ = course_copy(Path(tmp), "grader", args.submissions)
        students = sorted(kinds)

        nbgrader_s, completed = timed([VENV_BIN / "nbgrader", "autograde", CHAPTER], stock)
        if completed.returncode != 0:
            print(f"warning: nbgrader autograde exited {completed.returncode}: {completed.stderr[-1000:]}")
        grader_s, completed = timed(
            [VENV_BIN / "grader", "grade", ours, "--out", ours / "grades", "--course", ours, "--jobs", str(args.jobs)],
            ours,
        )
        if completed.returncode != 0:
            raise SystemExit(f"grader grade failed:\n{completed.stderr[-2000:]}")

        theirs, mine = gradebook_scores(stock, students), gradebook_scores(ours, students)
        # nbgrader scores a check cell all or nothing, the grader each test: only the mistakes may differ.
        disagree = {s: (theirs[s], mine[s]) for s in students if theirs[s] != mine[s] and kinds[s] != "mistake"}
        partial = sum(theirs[s] != mine[s] for s in students if kinds[s] == "mistake")

    count = args.submissions
    print(f"submissions: {count} of {CHAPTER} (reference, released and one-mistake notebooks in turn)")
    print(f"{'tool':40} {'wall (s)':>9} {'s/submission':>13}")
    print(f"{'nbgrader autograde (one at a time)':40} {nbgrader_s:9.1f} {nbgrader_s / count:13.2f}")
    print(f"{f'grader grade --jobs {args.jobs}':40} {grader_s:9.1f} {grader_s / count:13.2f}")
    print(f"ratio: {nbgrader_s / grader_s:.1f}x (target >= 10)")
    if disagree:
        print(f"reference or released notebooks scored differently (nbgrader, grader): {disagree}")
    else:
        print("both tools gave every reference notebook full marks and every released one zero")
    print(f"one-mistake notebooks scored differently (partial credit per test): {partial}")


if __name__ == "__main__":
    main()
