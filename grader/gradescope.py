"""Gradescope: ``grader gradescope CHAPTER`` makes the autograder zip; ``run_autograder`` grades with it.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
the zip is unpacked into ``/autograder/source``, ``setup.sh`` runs once when the image is built, and
``run_autograder`` runs for every submission, which Gradescope puts in ``/autograder/submission``; the
result goes to ``/autograder/results/results.json``.

The zip holds what grading one chapter needs and nothing more: the grader's package and lock, the course
configuration, and that chapter's source notebook, checks and hidden tests (no other chapter, no
chapter text source). What the learner submitted goes through the same pipeline as any submission;
whatever it is (no notebook, several, a damaged file, another chapter's notebook), Gradescope gets a
``results.json`` with a score and a message, never a crashed autograder.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
import zipfile
from pathlib import Path

from grader.course import Course
from grader.errors import CourseError
from grader.grade import error_extra, peek_chapter
from grader.models import Submission, SubmissionResult
from grader.pipeline.exports import write_gradescope
from grader.pipeline.score import error_result
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits

STUDENT = "gradescope"
PROJECT_FILES = ("pyproject.toml", "uv.lock", "README.md", "nbgrader_config.py")
JUNK = {"__pycache__", ".ipynb_checkpoints"}
EXECUTABLE = 0o755

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# It installs what grading needs: bubblewrap for the sandbox, uv, and the locked Python packages.
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$source_dir"

# GRADESCOPE_SKIP_APT=1 skips the system packages (a machine that has them, or no apt-get).
if [ "${GRADESCOPE_SKIP_APT:-0}" != 1 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip python3-venv bubblewrap >/dev/null
fi
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --break-system-packages uv
fi
export UV_PYTHON="${UV_PYTHON:-3.11}"
# The lock, exactly: the same versions the course was written and tested with. Bytecode is compiled
# here, once, so that no submission pays for compiling FastAPI and SQLAlchemy.
uv sync --frozen --no-dev --compile-bytecode
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission as chapter {chapter},
# write /autograder/results/results.json. AUTOGRADER_ROOT moves /autograder (for tests).
set -uo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
results="$root/results/results.json"
mkdir -p "$root/results"
rm -f "$results"
"$root/source/.venv/bin/grader" gradescope-run {chapter} \\
  --submission "$root/submission" --results "$results" --course "$root/source"
status=$?
if [ ! -s "$results" ]; then
  # The grader itself failed (it writes a result for every bad submission): say so, score 0.
  message="The autograder failed (exit $status) before it could grade this submission. Tell your instructor."
  printf '{{"score": 0, "output": "%s", "tests": []}}\\n' "$message" > "$results"
fi
exit 0
"""


def _chapter_files(course: Course, chapter_id: str) -> list[Path]:
    """The chapter's source notebook, checks and hidden tests: everything but its text source."""
    directory = course.chapter(chapter_id).directory
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and not JUNK.intersection(path.relative_to(directory).parts)
        and path.suffix not in {".pyc", ".md"}
    )


def _package_files(root: Path) -> list[Path]:
    return sorted(path for path in (root / "grader").rglob("*") if path.is_file() and not JUNK.intersection(path.parts))


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same course, the same zip
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_bundle(course: Course, chapter_id: str, out: Path) -> list[str]:
    """Write the autograder zip for one chapter; returns the names it holds."""
    course.chapter(chapter_id)  # an unknown chapter fails before anything is written
    missing = [name for name in PROJECT_FILES if not (course.root / name).is_file()]
    if missing or not (course.root / "grader").is_dir():
        absent = ", ".join(missing) or "grader/"
        raise CourseError(f"{course.root} is not a checkout of the workbook (missing {absent})")
    files = [course.root / name for name in PROJECT_FILES]
    files += _package_files(course.root) + _chapter_files(course, chapter_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    names = ["setup.sh", "run_autograder"]
    with zipfile.ZipFile(partial, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), EXECUTABLE)
        _add(archive, "run_autograder", RUN_AUTOGRADER.format(chapter=chapter_id).encode(), EXECUTABLE)
        for path in files:
            name = path.relative_to(course.root).as_posix()
            _add(archive, name, path.read_bytes())
            names.append(name)
    os.replace(partial, out)
    return names


def find_notebook(submission_dir: Path, chapter_id: str) -> Path | str:
    """The submitted notebook (by the chapter's name, else the only one), or why there is none to grade."""
    found = sorted(
        path
        for path in submission_dir.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts and not path.is_symlink() and path.is_file()
    )
    named = [path for path in found if path.name == f"{chapter_id}.ipynb"]
    if len(named) == 1:
        return named[0]
    if len(found) == 1:
        return found[0]
    if not found:
        return f"No notebook was submitted. Upload your {chapter_id}.ipynb (the notebook itself, not a zip of it)."
    listed = ", ".join(path.relative_to(submission_dir).as_posix() for path in found[:5])
    return f"Several notebooks were submitted ({listed}); upload only {chapter_id}.ipynb."


def grade(
    course: Course, chapter_id: str, submission_dir: Path, results: Path, limits: Limits, isolation: Isolation
) -> SubmissionResult:
    """Grade what was submitted and write Gradescope's results.json; every outcome writes one."""
    from grader.batch import grade_batch

    course.chapter(chapter_id)
    started = time.monotonic()
    found = find_notebook(submission_dir, chapter_id)
    if isinstance(found, str):
        return _write_error(results, Submission(path=submission_dir, student_id=STUDENT), chapter_id, found, started)
    submission = Submission(path=found, student_id=STUDENT, assignment=chapter_id)
    named = peek_chapter(found)
    if named is not None and named != chapter_id:
        message = f"This is the notebook of {named}, not of {chapter_id}: upload {chapter_id}.ipynb."
        return _write_error(results, submission, chapter_id, message, started)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as out:
        isolation = isolation.model_copy(update={"hide": [*isolation.hide, submission_dir, Path(out)]})
        [result] = grade_batch([submission], course, Path(out), limits, jobs=1, isolation=isolation, force=True)
    write_gradescope(results, result)
    return result


def _write_error(
    results: Path, submission: Submission, chapter_id: str, message: str, started: float
) -> SubmissionResult:
    submission = submission.model_copy(update={"assignment": chapter_id})
    result = error_result(error_extra(submission), message, time.monotonic() - started)
    write_gradescope(results, result)
    return result


def unpack(bundle: Path, target: Path) -> None:
    """Unpack a bundle as Gradescope does, keeping the scripts executable (tests and local trials)."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(target)
        for info in archive.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (target / info.filename).chmod(mode)
