"""``python -m grader.grade_one REQUEST_JSON RESULT_PATH``: grade one submission in a fresh process.

The batch runs each submission in its own grading process so that submissions share no state and a
crash or a kill costs one row, which the batch then writes as an ``error``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from grader.course import Course
from grader.grade import grade_submission
from grader.models import Submission
from grader.pipeline.write import atomic_write
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits


class GradeRequest(BaseModel):
    submission: Submission
    course_root: Path
    limits: Limits
    isolation: Isolation = Isolation()


def main() -> None:
    request = GradeRequest.model_validate_json(Path(sys.argv[1]).read_text())
    course = Course.at(request.course_root)
    result = grade_submission(request.submission, course, request.limits, isolation=request.isolation)
    atomic_write(Path(sys.argv[2]), result.model_dump_json())


if __name__ == "__main__":
    main()
