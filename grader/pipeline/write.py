"""Stage 7, write: one results JSON per submission (Gradescope's schema) and ``grades.csv``.

Every file is written to a temporary name and renamed, so a killed run never leaves half a row.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import datetime
from pathlib import Path

from grader.models import LateInfo, SubmissionResult

# The first six columns are the contract; ``status`` tells a submission that could not be graded (``error``)
# from a real zero. ``score`` is after any late penalty, ``raw_score`` before it (as in nbgrader's export).
CSV_COLUMNS = [
    "student_id",
    "assignment",
    "score",
    "max_score",
    "status",
    "message",
    "raw_score",
    "late_penalty",
    "seconds_late",
    "submitted_at",
    "due_date",
]
RESULTS_DIR = "results"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP's CSV
# injection advice): such a cell is written with a leading apostrophe, which they show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def inside(out: Path, *parts: str) -> Path:
    """``out/parts...``, proven to stay inside ``out``: ids are validated at discovery, and this is the
    last line if one ever is not (a separator, ``..``, an absolute path, a NUL)."""
    path = out.joinpath(*parts)
    if any(not part or "\0" in part or "/" in part or part in (".", "..") for part in parts):
        raise ValueError(f"refusing to write {path!r}: not a plain name inside {out}")
    if not path.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"refusing to write {path!r}: outside {out}")
    return path


def result_path(out: Path, assignment: str, student_id: str) -> Path:
    return inside(out, RESULTS_DIR, assignment, f"{student_id}.json")


def write_result(out: Path, result: SubmissionResult) -> Path:
    path = result_path(out, result.extra_data.assignment, result.extra_data.student_id)
    atomic_write(path, result.model_dump_json(indent=2))
    return path


def read_results(out: Path) -> list[SubmissionResult]:
    paths = sorted((out / RESULTS_DIR).glob("*/*.json"))
    return [SubmissionResult.model_validate_json(p.read_text(encoding="utf-8")) for p in paths]


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def neutralised(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, made plain text; a CR becomes a line break (the
    file's lines end in LF, so a bare CR would not be quoted and would split the row in other readers)."""
    if not isinstance(value, str):
        return value
    text = "'" + value if value.startswith(FORMULA_STARTS) else value
    return text.replace("\r\n", "\n").replace("\r", "\n")


def csv_row(result: SubmissionResult) -> list[object]:
    extra = result.extra_data
    late = extra.late or LateInfo()
    cells = [
        extra.student_id,
        extra.assignment,
        result.final_score,
        result.max_score,
        extra.status.value,
        extra.message,
        result.score,
        late.penalty,
        late.seconds_late,
        _when(late.submitted_at),
        _when(late.due_date),
    ]
    return [neutralised(cell) for cell in cells]


def write_csv(out: Path, results: list[SubmissionResult]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in sorted(results, key=lambda r: (r.extra_data.assignment, r.extra_data.student_id)):
        writer.writerow(csv_row(result))
    path = out / "grades.csv"
    atomic_write(path, buffer.getvalue())
    return path
