"""Exports beside the results: a Gradescope ``results.json`` and a JSON Lines log of every run.

Gradescope reads only the keys of its autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/); the export keeps exactly those, so a
Gradescope autograder's ``run_autograder`` can write it to ``/autograder/results/results.json``. Gradescope
applies its own late policy and each test's ``visibility``, so the score is the checks' sum.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.models import Status, SubmissionResult
from grader.pipeline.write import atomic_write

RUN_LOG = "runs.jsonl"
GRADESCOPE_TEST_KEYS = ("score", "max_score", "status", "name", "number", "output", "tags", "visibility")


def gradescope_results(result: SubmissionResult) -> dict[str, Any]:
    extra = result.extra_data
    document: dict[str, Any] = {
        "score": result.score,
        "execution_time": math.ceil(result.execution_time),
        "output": extra.message if result.status is Status.ERROR else result.output,
        "visibility": result.visibility.value,
        # The grader's own stdout is for the instructor (Gradescope shows it to students unless told not to).
        "stdout_visibility": "hidden",
        "extra_data": {
            "student_id": extra.student_id,
            "assignment": extra.assignment,
            "status": extra.status.value,
            "message": extra.message,
            "grader_version": extra.grader_version,
            "notebook_sha256": extra.notebook_sha256,
        },
        "tests": [
            {key: value for key, value in test.model_dump(mode="json").items() if key in GRADESCOPE_TEST_KEYS}
            for test in result.tests
        ],
    }
    return document


def write_gradescope(path: Path, result: SubmissionResult) -> Path:
    atomic_write(path, json.dumps(gradescope_results(result), indent=2, ensure_ascii=False))
    return path


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def log_records(
    run_id: str, results: list[SubmissionResult], reused: set[tuple[str, str]], summary: dict[str, Any]
) -> list[dict[str, Any]]:
    """One ``submission`` record per row the run produced or kept, then one ``run`` record."""
    records: list[dict[str, Any]] = []
    for result in results:
        extra = result.extra_data
        records.append(
            {
                "event": "submission",
                "run": run_id,
                "student_id": extra.student_id,
                "assignment": extra.assignment,
                "status": extra.status.value,
                "score": result.score,
                "max_score": result.max_score,
                "final_score": result.final_score,
                "late_penalty": result.late_penalty,
                "checks_passed": sum(t.status == "passed" for t in result.tests),
                "checks": len(result.tests),
                "execution_time": result.execution_time,
                "message": extra.message,
                "notebook": extra.notebook,
                "notebook_sha256": extra.notebook_sha256,
                "reused": (extra.student_id, extra.assignment) in reused,
            }
        )
    records.append({"event": "run", "run": run_id, **summary})
    return records


def append_run_log(out: Path, records: list[dict[str, Any]]) -> Path:
    """Append to ``runs.jsonl`` in one write, so concurrent or killed runs never interleave half lines."""
    path = out / RUN_LOG
    data = "".join(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    return path


def read_run_log(out: Path) -> list[dict[str, Any]]:
    path = out / RUN_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
