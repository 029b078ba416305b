"""After a batch (stages 7-8 for a class): late work, nbgrader's gradebook, feedback, exports, the run log.

The batch writes one row per submission; this stage then, for every row:
1. late work: the submission's ``timestamp.txt`` (from ``nbgrader submit``), the due date and extension in the
   gradebook and the course's late-penalty plugin give ``extra_data.late``; the row and ``grades.csv`` are
   rewritten with it;
2. gradebook: for submissions in an nbgrader course's ``submitted/`` folder, scores go into the gradebook and
   the notebook formgrader shows into ``autograded/`` (see ``grader.pipeline.gradebook``);
3. feedback: ``OUT/feedback/ASSIGNMENT/STUDENT.html``, and for nbgrader submissions also
   ``feedback/STUDENT/ASSIGNMENT/NOTEBOOK.html`` with the files ``nbgrader release_feedback`` needs, so the
   exchange hands it back unchanged;
4. ``OUT/runs.jsonl`` gets one line per row and one for the run.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.course import Course
from grader.models import LateInfo, SubmissionResult
from grader.pipeline import gradebook as gradebook_stage
from grader.pipeline.exports import append_run_log, log_records, new_run_id
from grader.pipeline.nbgrader_course import SECRET_FILE, TIMESTAMP_FILE, NbgraderCourse, utc
from grader.pipeline.write import read_results, write_csv, write_result
from grader.report.feedback import feedback_path, write_feedback


@dataclass
class PublishOptions:
    gradebook: bool = True
    feedback: bool = True


@dataclass
class Published:
    gradebook_rows: int = 0
    feedback_files: list[Path] = field(default_factory=list)
    late: int = 0
    warnings: list[str] = field(default_factory=list)


class Courses:
    """One ``NbgraderCourse`` per course root met (loading nbgrader's config is not free)."""

    def __init__(self) -> None:
        self._known: dict[Path, NbgraderCourse | None] = {}

    def of(self, result: SubmissionResult) -> NbgraderCourse | None:
        notebook = Path(result.extra_data.notebook)
        parents = notebook.resolve().parents
        key = parents[3] if len(parents) >= 4 else notebook
        if key not in self._known:
            self._known[key] = NbgraderCourse.of_submission(notebook)
        return self._known[key]


def _late_read_only(nbcourse: NbgraderCourse, result: SubmissionResult, timestamp: datetime | None) -> LateInfo:
    extra = result.extra_data
    due = None
    if nbcourse.has_gradebook:
        with nbcourse.gradebook() as gradebook:
            due = gradebook_stage.due_date(gradebook, extra.assignment, extra.student_id)
    seconds = max(0.0, (timestamp - due).total_seconds()) if timestamp and due else 0.0
    penalty = nbcourse.late_penalty(extra.student_id, result.score, seconds)
    return LateInfo(submitted_at=utc(timestamp), due_date=utc(due), seconds_late=seconds, penalty=penalty)


def _nbgrader_feedback(nbcourse: NbgraderCourse, result: SubmissionResult, html: Path) -> Path:
    """Where ``nbgrader release_feedback`` looks: feedback/STUDENT/ASSIGNMENT/NOTEBOOK.html, with the
    submission's timestamp and secret beside it (nbgrader's ``generate_feedback`` copies them the same way)."""
    extra = result.extra_data
    submitted = Path(extra.notebook)
    folder = nbcourse.step_folder(nbcourse.coursedir.feedback_directory, extra.student_id, extra.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{submitted.stem}.html"
    shutil.copyfile(html, target)
    for name in (TIMESTAMP_FILE, SECRET_FILE):
        if (submitted.parent / name).is_file():
            shutil.copyfile(submitted.parent / name, folder / name)
    return target


def _publish_one(
    result: SubmissionResult,
    nbcourse: NbgraderCourse | None,
    course: Course,
    out: Path,
    options: PublishOptions,
    summary: Published,
) -> SubmissionResult:
    extra = result.extra_data
    if nbcourse is not None:
        timestamp = nbcourse.timestamp(Path(extra.notebook).parent)
        if options.gradebook and nbcourse.has_gradebook:
            with nbcourse.gradebook() as gradebook:
                recorded = gradebook_stage.record(gradebook, nbcourse, result, timestamp)
            if recorded.warning:
                summary.warnings.append(f"{extra.student_id}/{extra.assignment}: {recorded.warning}")
            else:
                summary.gradebook_rows += 1
                gradebook_stage.write_formgrader_copy(nbcourse, course, result)
            late = LateInfo(
                submitted_at=utc(timestamp),
                due_date=utc(recorded.due_date),
                seconds_late=recorded.seconds_late,
                penalty=recorded.penalty,
            )
        else:
            late = _late_read_only(nbcourse, result, timestamp)
        result = result.model_copy(update={"extra_data": extra.model_copy(update={"late": late})})
        write_result(out, result)
        summary.late += late.seconds_late > 0
    if options.feedback:
        html = write_feedback(feedback_path(out, result), result)
        summary.feedback_files.append(html)
        if nbcourse is not None:
            summary.feedback_files.append(_nbgrader_feedback(nbcourse, result, html))
    return result


def _publish_safely(
    result: SubmissionResult, courses: Courses, course: Course, out: Path, options: PublishOptions, summary: Published
) -> SubmissionResult:
    """The row is final whatever happens here: a broken timestamp, a locked gradebook or a grader bug costs this
    row its gradebook entry or feedback, with a warning, never the run."""
    try:
        return _publish_one(result, courses.of(result), course, out, options, summary)
    except Exception as exc:
        who = f"{result.extra_data.student_id}/{result.extra_data.assignment}"
        summary.warnings.append(f"{who}: not published ({type(exc).__name__}: {exc})")
        return result


def publish(
    out: Path,
    results: list[SubmissionResult],
    course: Course,
    options: PublishOptions,
    reused: set[tuple[str, str]],
    run_summary: dict[str, Any],
    on_warning: Callable[[str], None] | None = None,
) -> Published:
    started = time.perf_counter()
    summary = Published()
    courses = Courses()
    final = [_publish_safely(r, courses, course, out, options, summary) for r in results]
    write_csv(out, read_results(out))
    run_summary = {
        **run_summary,
        "finished_at": datetime.now(UTC).isoformat(),
        "submissions": len(final),
        "errors": sum(r.status.value == "error" for r in final),
        "late": summary.late,
        "gradebook_rows": summary.gradebook_rows,
        "publish_seconds": round(time.perf_counter() - started, 3),
    }
    append_run_log(out, log_records(new_run_id(), final, reused, run_summary))
    for warning in summary.warnings:
        if on_warning:
            on_warning(warning)
    return summary
