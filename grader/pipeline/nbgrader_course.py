"""What the grader reads of an nbgrader course: its configuration (loaded as nbgrader loads it), its folders,
its gradebook, submission timestamps and late-submission rules.

The grader never re-implements nbgrader's rules: folder layout, timestamps, due dates with extensions and the
late penalty all come from nbgrader's own classes, configured by the course's own ``nbgrader_config.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import BasePlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

CONFIG_NAME = "nbgrader_config.py"
TIMESTAMP_FILE = "timestamp.txt"
SECRET_FILE = "submission_secret.txt"


def load_config(root: Path) -> Config:
    """Jupyter's config folders (lowest priority first), then the course root's file, as ``nbgrader`` run
    in the course root would see them: a course id or exchange set in ``~/.jupyter`` counts too."""
    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        try:
            config.merge(PyFileConfigLoader(CONFIG_NAME, path=folder).load_config())
        except ConfigFileNotFound:
            continue
    return config


def utc(value: datetime | None) -> datetime | None:
    """nbgrader keeps naive UTC datetimes; results carry aware ones so that readers need not guess."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class NbgraderCourse:
    """One course root: ``<root>/<submitted>/<student>/<assignment>/*.ipynb`` and its gradebook."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.config = load_config(self.root)
        self.coursedir = CourseDirectory(config=self.config)
        if "root" not in self.config.get("CourseDirectory", {}):
            # nbgrader's default is the working directory; the course is where its config lives.
            self.coursedir.root = str(self.root)
        late = AssignLatePenalties(config=self.config)
        late.init_plugin()
        self.late_plugin: BasePlugin = late.plugin_inst

    @classmethod
    def of_submission(cls, notebook: Path) -> NbgraderCourse | None:
        """The course whose submitted folder holds this notebook (``<root>/submitted/STUDENT/ASSIGNMENT/``)."""
        parents = notebook.resolve().parents
        if len(parents) < 4 or not (parents[3] / CONFIG_NAME).is_file():
            return None
        course = cls(parents[3])
        expected = Path(course.step_folder(course.coursedir.submitted_directory, parents[1].name, parents[0].name))
        return course if expected.resolve() == parents[0] else None

    def step_folder(self, step: str, student_id: str, assignment_id: str) -> Path:
        return Path(self.coursedir.format_path(step, student_id, assignment_id))

    def submitted_folder(self, student_id: str, assignment_id: str) -> Path:
        return self.step_folder(self.coursedir.submitted_directory, student_id, assignment_id)

    @property
    def has_gradebook(self) -> bool:
        """A SQLite gradebook exists only once nbgrader made it; opening one that does not would create it."""
        url = self.coursedir.db_url
        return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file()

    @contextmanager
    def gradebook(self) -> Iterator[Gradebook]:
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
            yield gradebook

    def timestamp(self, folder: Path) -> datetime | None:
        """When the learner submitted (``timestamp.txt``, written by ``nbgrader submit``), naive UTC."""
        return self.coursedir.get_existing_timestamp(str(folder))

    def late_penalty(self, student_id: str, score: float, seconds_late: float) -> float:
        """The configured plugin's penalty (``LateSubmissionPlugin.penalty_method`` or the course's own plugin),
        kept within 0..score as nbgrader's ``AssignLatePenalties`` keeps it."""
        if seconds_late <= 0:
            return 0.0
        penalty = self.late_plugin.late_submission_penalty(student_id, score, seconds_late)
        return 0.0 if penalty is None else float(min(max(penalty, 0.0), score))
