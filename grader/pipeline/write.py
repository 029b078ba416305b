"""Stage 7, write: one results JSON per submission (Gradescope's schema) and ``grades.csv``.

Every file is written to a temporary name and renamed, so a killed run never leaves half a row.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from grader.models import SubmissionResult

CSV_COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "message"]
RESULTS_DIR = "results"


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def result_path(out: Path, assignment: str, student_id: str) -> Path:
    return out / RESULTS_DIR / assignment / f"{student_id}.json"


def write_result(out: Path, result: SubmissionResult) -> Path:
    path = result_path(out, result.extra_data.assignment, result.extra_data.student_id)
    atomic_write(path, result.model_dump_json(indent=2))
    return path


def read_results(out: Path) -> list[SubmissionResult]:
    paths = sorted((out / RESULTS_DIR).glob("*/*.json"))
    return [SubmissionResult.model_validate_json(p.read_text(encoding="utf-8")) for p in paths]


def write_csv(out: Path, results: list[SubmissionResult]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in sorted(results, key=lambda r: (r.extra_data.assignment, r.extra_data.student_id)):
        extra = result.extra_data
        writer.writerow(
            [extra.student_id, extra.assignment, result.score, result.max_score, extra.status.value, extra.message]
        )
    path = out / "grades.csv"
    atomic_write(path, buffer.getvalue())
    return path
