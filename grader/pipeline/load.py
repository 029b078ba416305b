"""Stage 1, load: read and validate a submitted notebook, with a clear message for each way it can be broken."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.validator import ValidationError, get_validator

from grader.errors import GradingError

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_MESSAGE_CHARS = 300


def compile_validators() -> None:
    """Compile nbformat's schema validators for notebook formats 4.4 and 4.5 (what Jupyter saves) now: a
    process forked afterwards finds them ready instead of compiling them again (0.1 s per submission)."""
    for minor in (4, 5):
        get_validator(version=4, version_minor=minor)


def load(path: Path) -> NotebookNode:
    if not path.is_file():
        raise GradingError(f"{path.name}: file not found")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise GradingError(
            f"{path.name}: the notebook is {size / 2**20:.1f} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit "
            "(clear large outputs and save again)"
        )
    try:
        raw = json.loads(path.read_bytes())
    except RecursionError:
        raise GradingError(f"{path.name}: not a notebook, the JSON is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GradingError(f"{path.name}: not a notebook, the file is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise GradingError(f"{path.name}: not a notebook, the JSON has no cells")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise GradingError(f"{path.name}: unsupported nbformat {major!r} (expected 4)")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError, AssertionError, RecursionError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(first_line) > MAX_MESSAGE_CHARS:  # the validator quotes the offending cell, however big
            first_line = first_line[:MAX_MESSAGE_CHARS] + " ..."
        raise GradingError(f"{path.name}: the notebook is damaged: {first_line}") from None
    return notebook
