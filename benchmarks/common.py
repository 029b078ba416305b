"""What every benchmark prints first: the machine its figures were measured on."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.machine())
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, Python {platform.python_version()}, load {load:.2f}"


def is_check_cell(cell: dict) -> bool:
    """An nbgrader autograder-test cell: a ``check("exN")`` line."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


# Runs in the kernel after the notebook: every visible and hidden test of the chapter, in-process against
# the kernel's namespace (as check() does, on a thread with its own loop), timed; prints the seconds.
TIME_TESTS_IN_KERNEL = """
import threading as _threading, time as _time
from pathlib import Path as _Path
from grader.course import Chapter as _Chapter
from grader.pipeline.run_tests import run_tests as _run_tests
from grader.testing.backend import KernelBackend as _KernelBackend

def _time_tests():
    directory = _Path.cwd()
    chapter = _Chapter(id=directory.name, directory=directory)
    box = {}
    def target():
        started = _time.perf_counter()
        outcomes = _run_tests(chapter, _KernelBackend(get_ipython().user_ns), hidden_tests=directory / "hidden_tests",
                              capture="sys")
        box["seconds"] = _time.perf_counter() - started
        box["failed"] = [o for o in outcomes if not o.passed]
    thread = _threading.Thread(target=target)
    thread.start()
    thread.join()
    assert not box["failed"], box["failed"]
    return box["seconds"]

print(_time_tests())
"""


# Run first and not timed: the imports a warm learner process has already done (the zygote's preload), so
# that the kernel's cell times are those of the learner's code, not of importing FastAPI.
PRELOAD_CELL = """
import importlib
from grader.sandbox.zygote import BASE, COURSE
for _name in BASE + COURSE:
    importlib.import_module(_name)
"""


@dataclass
class KernelRun:
    cells_s: float  # the learner's program: every cell that is not a check cell
    checks_s: list[float]  # each check("exN") cell, in notebook order (the first one is cold)
    tests_s: list[float]  # every test of the chapter, in-process, once per repeat


def as_released(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution notebook with its check cells as a learner has them: nbgrader's release removes the
    hidden-test lines (``check("exN", hidden=True)``), which a learner's check cell never runs."""
    from nbgrader.preprocessors import ClearHiddenTests

    released, _ = ClearHiddenTests().preprocess(notebook, {})
    return released


def run_in_kernel(chapter_dir: Path, repeats: int = 3, released_checks: bool = False) -> KernelRun:
    """Execute the chapter's notebook in a real kernel, cell by cell, timing each from the client's side;
    with ``released_checks``, its check cells run the visible checks only, as in the released notebook."""
    notebook = nbformat.read(chapter_dir / f"{chapter_dir.name}.ipynb", as_version=4)
    if released_checks:
        notebook = as_released(notebook)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(chapter_dir)}}
    )
    run = KernelRun(cells_s=0.0, checks_s=[], tests_s=[])
    with client.setup_kernel():
        preload = nbformat.v4.new_code_cell(PRELOAD_CELL)
        client.execute_cell(preload, 0)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            started = time.perf_counter()
            client.execute_cell(cell, index)
            elapsed = time.perf_counter() - started
            if is_check_cell(cell):
                run.checks_s.append(elapsed)
            else:
                run.cells_s += elapsed
        for _ in range(repeats):
            cell = nbformat.v4.new_code_cell(TIME_TESTS_IN_KERNEL)
            notebook.cells.append(cell)
            client.execute_cell(cell, len(notebook.cells) - 1)
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            run.tests_s.append(float(text.strip().splitlines()[-1]))
    return run
