"""Stage 1, load: every way a notebook file can be broken becomes a GradingError with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.errors import GradingError
from grader.pipeline.load import MAX_NOTEBOOK_BYTES, load


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _v4() -> dict:
    notebook = new_notebook(cells=[new_markdown_cell("# hi"), new_code_cell("x = 1")])
    return json.loads(nbformat.writes(notebook))


def test_valid_notebook_loads(tmp_path: Path):
    notebook = load(_write(tmp_path / "ok.ipynb", _v4()))
    assert notebook.nbformat == 4
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code"]


def test_missing_file(tmp_path: Path):
    with pytest.raises(GradingError, match="file not found"):
        load(tmp_path / "nope.ipynb")


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"cells": [', b"\xff\xfe\x00garbage"])
def test_not_json(tmp_path: Path, content: bytes):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(GradingError, match=r"broken\.ipynb: not a notebook, the file is not valid JSON"):
        load(path)


@pytest.mark.parametrize("data", [[], {"metadata": {}}, "a string", 42])
def test_json_without_cells(tmp_path: Path, data: object):
    with pytest.raises(GradingError, match="the JSON has no cells"):
        load(_write(tmp_path / "odd.ipynb", data))


@pytest.mark.parametrize("major", [5, 2, None, "4"])
def test_unsupported_nbformat(tmp_path: Path, major: object):
    data = _v4() | {"nbformat": major}
    with pytest.raises(GradingError, match=r"unsupported nbformat .*\(expected 4\)"):
        load(_write(tmp_path / "future.ipynb", data))


def test_nbformat_3_is_converted_to_4(tmp_path: Path):
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "code", "input": "x = 41 + 1", "language": "python", "outputs": [], "metadata": {}},
                    {"cell_type": "markdown", "source": "text", "metadata": {}},
                ],
                "metadata": {},
            }
        ],
    }
    notebook = load(_write(tmp_path / "old.ipynb", v3))
    assert notebook.nbformat == 4
    assert [(cell.cell_type, cell.source) for cell in notebook.cells] == [("code", "x = 41 + 1"), ("markdown", "text")]


@pytest.mark.parametrize(
    "damage",
    [
        lambda nb: nb["cells"][1].update(cell_type="bogus"),
        lambda nb: nb["cells"][1].pop("outputs"),
        lambda nb: nb["cells"][1].update(source=42),
        lambda nb: nb.pop("metadata"),
        lambda nb: nb["metadata"].update(kernelspec=3),
    ],
    ids=["unknown-cell-type", "code-cell-without-outputs", "source-not-text", "no-metadata", "kernelspec-not-object"],
)
def test_validation_error_is_reported_as_damaged(tmp_path: Path, damage):
    data = _v4()
    damage(data)
    with pytest.raises(GradingError) as caught:
        load(_write(tmp_path / "damaged.ipynb", data))
    message = str(caught.value)
    assert message.startswith("damaged.ipynb: the notebook is damaged: ")
    assert "\n" not in message


def test_damaged_message_stays_short(tmp_path: Path):
    """The validator quotes the offending cell; a huge cell must not become a huge CSV message."""
    data = _v4()
    data["cells"][1].update(cell_type="bogus", source="y = 2\n" * 200_000)
    with pytest.raises(GradingError) as caught:
        load(_write(tmp_path / "damaged.ipynb", data))
    assert len(str(caught.value)) < 1000


def test_odd_nbgrader_metadata_is_not_a_load_error(tmp_path: Path):
    """schema_version 99 aborts a whole nbgrader batch; here it loads, and restore never trusts it."""
    data = _v4()
    data["cells"][1]["metadata"]["nbgrader"] = {"grade": "yes", "schema_version": 99}
    notebook = load(_write(tmp_path / "odd.ipynb", data))
    assert notebook.cells[1].metadata["nbgrader"]["schema_version"] == 99


def test_too_big(tmp_path: Path):
    path = tmp_path / "huge.ipynb"
    with path.open("wb") as stream:  # sparse: over the limit on paper, nothing written to disk
        stream.truncate(MAX_NOTEBOOK_BYTES + 1)
    with pytest.raises(GradingError, match=r"huge\.ipynb: the notebook is 20\.0 MiB, over the 20 MiB limit"):
        load(path)


def test_just_under_the_limit_is_read(tmp_path: Path):
    data = _v4()
    data["cells"][0]["source"] = "x" * (MAX_NOTEBOOK_BYTES // 2)
    assert load(_write(tmp_path / "big.ipynb", data)).cells[0].source.startswith("x")


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path: Path):
    path = tmp_path / "deep.ipynb"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(GradingError, match="nested too deeply"):
        load(path)


@pytest.mark.parametrize(
    "data",
    [
        {"nbformat": 4, "nbformat_minor": "five", "metadata": {}, "cells": []},
        {"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []},
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "abc"},
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1, 2]},
        {"nbformat": 3, "worksheets": "abc"},
    ],
    ids=["minor-not-int", "metadata-list", "cells-string", "cells-ints", "v3-worksheets-string"],
)
def test_malformed_structure_is_an_error_not_a_crash(tmp_path: Path, data: dict):
    with pytest.raises(GradingError, match="the notebook is damaged"):
        load(_write(tmp_path / "odd.ipynb", data))
