"""Grade one submission in a process of its own.

The batch grades each submission in its own grading process, so that submissions share no state
and a crash or a kill costs one row, which the batch then writes as an ``error``. Those processes
are forked from a multiprocessing fork server that has imported the grader, pytest and the
notebook libraries once (``run``); ``python -m grader.grade_one REQUEST_JSON RESULT_PATH`` grades
one submission from a cold start, for debugging.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from grader.course import Course
from grader.grade import grade_submission
from grader.models import Submission
from grader.pipeline.load import compile_validators
from grader.pipeline.run_tests import import_pytest_plugins
from grader.pipeline.write import atomic_write
from grader.sandbox.dbserver import adopt_private_root
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.warm import Zygote

# The fork server imports this module before it forks grading processes, so each of them inherits the
# compiled validators and pytest's plugins.
compile_validators()
import_pytest_plugins()


class GradeRequest(BaseModel):
    submission: Submission
    course_root: Path
    limits: Limits
    isolation: Isolation = Isolation()
    database_root: Path | None = None  # the run's private_root: a forked process does not see later env changes


def run(request_json: str, result_path: str, zygote: Zygote | None = None) -> None:
    """Grade the request and write its row to ``result_path`` (atomically: a kill leaves no half row)."""
    request = GradeRequest.model_validate_json(request_json)
    if request.database_root is not None:
        adopt_private_root(request.database_root)
    request.limits.apply_to_grader()
    course = Course.at(request.course_root)
    result = grade_submission(request.submission, course, request.limits, isolation=request.isolation, zygote=zygote)
    atomic_write(Path(result_path), result.model_dump_json())


def main() -> None:
    """``REQUEST_JSON RESULT_PATH [ZYGOTE_FD ZYGOTE_ROOT]``: the zygote's socket arrives as a descriptor."""
    request_json = Path(sys.argv[1]).read_text()
    zygote = None
    if len(sys.argv) == 5:
        isolation = GradeRequest.model_validate_json(request_json).isolation
        zygote = Zygote.attach(int(sys.argv[3]), Path(sys.argv[4]), isolation)
    run(request_json, sys.argv[2], zygote)


if __name__ == "__main__":
    main()
