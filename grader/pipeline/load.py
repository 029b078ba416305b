"""Stage 1, load: read and validate a submitted notebook, with a clear message for each way it can be broken."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.validator import ValidationError, get_validator

from grader.errors import GradingError

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_MESSAGE_CHARS = 300
# A chapter has at most about 70 cells. Every cell's outcome is in the row, so this also caps what one
# submission can write (15,000 raising cells once made a 17 MB row and feedback page).
MAX_CELLS = 1000
METADATA_KEY = "workbook"
SHOWN_CHARS = 60
PLAIN_NAME = re.compile(rf"[\w.@+ -]{{1,{SHOWN_CHARS}}}")


def shown(text: str) -> str:
    """A name a learner chose, as a message may show it: as it is when it is plain and short, else
    quoted, escaped and cut short (no newline, control character or markup reaches a terminal or a row)."""
    if PLAIN_NAME.fullmatch(text):
        return text
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def compile_validators() -> None:
    """Compile nbformat's schema validators for notebook formats 4.4 and 4.5 (what Jupyter saves) now: a
    process forked afterwards finds them ready instead of compiling them again (0.1 s per submission)."""
    for minor in (4, 5):
        get_validator(version=4, version_minor=minor)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read_regular(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes. A symlink (it could point
    at the instructor's solution), a FIFO (reading it would wait forever) or a device is refused before
    anything is read; the size is checked before reading and again while reading."""
    name = shown(path.name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise GradingError(f"{name}: file not found") from None
        if exc.errno == errno.ELOOP:
            raise GradingError(f"{name}: a symbolic link; only regular notebook files are graded") from None
        raise GradingError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GradingError(f"{name}: {_kind(info.st_mode)}; only regular notebook files are graded")
        try:
            content = stream.read(limit + 1) if info.st_size <= limit else b""
        except OSError as exc:
            raise GradingError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if info.st_size > limit or len(content) > limit:
        size = max(info.st_size, len(content))
        raise GradingError(
            f"{name}: the notebook is {size / 2**20:.1f} MiB, over the {limit // 2**20} MiB limit "
            "(clear large outputs and save again)"
        )
    return content


def parse_json(content: bytes) -> object:
    """``json.loads``, with every way it fails (deep nesting included) as ``ValueError``."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the file is not valid JSON ({exc})") from None


def chapter_in(content: bytes) -> str | None:
    """The chapter a notebook's metadata names (``metadata.workbook.chapter``), or None; ``ValueError`` if
    the content is not JSON at all."""
    raw = parse_json(content)
    try:
        chapter = raw["metadata"][METADATA_KEY]["chapter"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    return chapter if isinstance(chapter, str) else None


def load(path: Path) -> NotebookNode:
    try:
        raw = parse_json(read_regular(path))
    except ValueError as exc:
        raise GradingError(f"{shown(path.name)}: not a notebook, {exc}") from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise GradingError(f"{shown(path.name)}: not a notebook, the JSON has no cells")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise GradingError(f"{shown(path.name)}: unsupported nbformat {major!r} (expected 4)")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError, AssertionError, RecursionError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(first_line) > MAX_MESSAGE_CHARS:  # the validator quotes the offending cell, however big
            first_line = first_line[:MAX_MESSAGE_CHARS] + " ..."
        raise GradingError(f"{shown(path.name)}: the notebook is damaged: {first_line}") from None
    if len(notebook.cells) > MAX_CELLS:
        raise GradingError(
            f"{shown(path.name)}: the notebook has {len(notebook.cells)} cells, over the {MAX_CELLS} limit "
            "(delete the cells you added for experiments and save again)"
        )
    return notebook
