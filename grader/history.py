"""Which checks failed before: a hint's key line is shown from the same check's second failure on.

In a notebook the kernel remembers (``check()``, one history per kernel); from a terminal, ``grader check``
and ``grader progress`` share a small JSON file per user, keyed by the notebook's resolved path:
``$GRADER_STATE_DIR/failed-checks.json``, else in the platform's state folder. A history that cannot be read
starts empty and one that cannot be written is forgotten: either way the hints stay at their first level.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from grader.models import TestResult
from grader.report.views import check_key

STATE_DIR_ENV = "GRADER_STATE_DIR"
APP_NAME = "async-api-workbook"


def default_path() -> Path:
    folder = os.environ.get(STATE_DIR_ENV) or platformdirs.user_state_path(APP_NAME)
    return Path(folder) / "failed-checks.json"


class FailureHistory:
    """The checks each notebook (or kernel) has failed, by ``check_key``; kept in ``path`` when given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.failed: dict[str, set[str]] = self._load()

    def _load(self) -> dict[str, set[str]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(key): {str(name) for name in names} for key, names in data.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def _save(self) -> None:
        if self.path is None:
            return
        # Another run (a grader check during a long grader progress) may have saved meanwhile: failures only
        # accumulate, so what is on disk joins what this run knows instead of being overwritten.
        for key, names in self._load().items():
            self.failed[key] = self.failed.get(key, set()) | names
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps({k: sorted(v) for k, v in self.failed.items()}), encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            pass

    def revealed(self, key: str, tests: list[TestResult]) -> set[str]:
        """The checks failing in this run that had failed in an earlier one; this run's failures are kept."""
        before = self.failed.get(key, set())
        failing = {check_key(test) for test in tests if test.status == "failed"}
        if failing - before:
            self.failed[key] = before | failing
            self._save()
        return failing & before
