"""A hint nudges before it tells: the key line waits in a second level, in the notebook and in check output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from report_data import graded
from rich.console import Console
from support import VENV_BIN, tail, tool_env

from grader.authoring.hints import answer_lines, chapter_leaks, first_levels, notebook_leaks
from grader.checks import CheckFailure, expect
from grader.history import STATE_DIR_ENV, FailureHistory
from grader.models import Submission
from grader.models import TestResult as Result
from grader.progress import chapter_progress
from grader.report.feedback import feedback_html
from grader.report.views import feedback_view
from grader.report_terminal import KEY_LINE_LATER, print_results

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
CHAPTERS = sorted(path.name for path in SOLUTIONS.iterdir() if (path / f"{path.name}.md").is_file())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_first_level_hint_quotes_the_answer(chapter: str) -> None:
    """Every hint of the chapter (notebook and checks, visible and hidden) nudges; the answer's lines are only
    in the second level: the notebook's folded key line, a check's ``answer=``."""
    folder = SOLUTIONS / chapter
    source = folder / f"{chapter}.md"
    modules = sorted((folder / "checks").glob("*.py")) + sorted((folder / "hidden_tests").glob("*.py"))
    leaks = chapter_leaks(source, jupytext.read(source), modules, SOLUTIONS)
    assert not leaks, "\n".join(map(str, leaks))


def test_every_chapter_folds_a_key_line_in_some_hint() -> None:
    """The second level exists: a chapter's hints are not merely stripped of their answers."""
    for chapter in CHAPTERS:
        text = (SOLUTIONS / chapter / f"{chapter}.md").read_text(encoding="utf-8")
        assert "<summary>Key line</summary>" in text, f"{chapter}: no hint folds a key line"


def test_the_scan_finds_a_quoted_answer_and_spares_a_folded_one() -> None:
    notebook = nbformat.v4.new_notebook()
    answer = "async with sessionmaker() as session:\n    yield session"
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"async def get_session():\n    ### BEGIN SOLUTION\n    {answer}\n    ### END SOLUTION"
        ),
        nbformat.v4.new_markdown_cell(
            "<details><summary>Hint</summary>\n\nLeave the block and the session closes.\n\n"
            "<details><summary>Key line</summary>\n\n`async with sessionmaker() as session:`\n</details>\n</details>"
        ),
        nbformat.v4.new_markdown_cell(
            "<details><summary>Hint</summary>\n\nWrite `async with sessionmaker() as session:`.\n</details>"
        ),
    ]
    leaks = notebook_leaks(notebook, answer_lines(notebook), "ch.md")
    assert [(leak.where, leak.line) for leak in leaks] == [
        ("ch.md, the hint in cell 3", "async with sessionmaker() as session:")
    ]


def test_first_levels_leave_out_nested_details() -> None:
    text = (
        "<details><summary>Hint</summary>\nnudge\n"
        "<details><summary>Key line</summary>\nSECRET\n</details>\nmore\n</details>"
    )
    assert ["SECRET" in level for level in first_levels(text)] == [False]
    assert "more" in next(first_levels(text))


def test_a_check_module_hint_is_scanned_but_its_answer_is_not(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\nSessionDep = Annotated[AsyncSession, Depends(x)]\n### END SOLUTION"
        )
    ]
    module = tmp_path / "test_ex1.py"
    module.write_text(
        "def test_a():\n"
        "    expect(ok, 'message', 'SessionDep = Annotated[AsyncSession, Depends(x)]')\n"
        "    expect(ok, 'message', 'an Annotated alias', answer='SessionDep = Annotated[AsyncSession, Depends(x)]')\n"
        "    expect_refused(response, 'what', 'SessionDep = Annotated[AsyncSession, Depends(x)]')\n"
        "def expect_refused(response, what, hint_if_accepted): ...\n"
    )
    source = tmp_path / "ch.md"
    leaks = chapter_leaks(source, notebook, [module], tmp_path)
    assert sorted(leak.where for leak in leaks) == [
        "test_ex1.py, the hint on line 2",
        "test_ex1.py, the hint on line 4",
    ]


# -- the second level in check output -------------------------------------------------------------------------
def _failed(answer: str = "SessionDep = Annotated[AsyncSession, Depends(get_session)]") -> Result:
    return Result(
        name="SessionDep is an Annotated alias",
        score=0,
        max_score=1,
        status="failed",
        output="`SessionDep` is not defined.\nHint: an Annotated alias names the type and its dependency",
        tags=["ex2"],
        extra_data={"nodeid": "test_session_dep_alias", "hint": "an Annotated alias names the type and its dependency"}
        | ({"answer": answer} if answer else {}),
    )


def test_expect_carries_the_key_line() -> None:
    with pytest.raises(CheckFailure) as raised:
        expect(False, "what is wrong", "the idea", answer="the line")
    assert (raised.value.message, raised.value.hint, raised.value.answer) == ("what is wrong", "the idea", "the line")


def _printed(tests: list[Result], revealed: set[str]) -> str:
    console = Console(record=True, width=200)
    print_results("ex2", tests, console, revealed=revealed)
    return console.export_text()


def test_the_first_failure_nudges_and_the_second_shows_the_key_line(tmp_path: Path) -> None:
    history = FailureHistory(tmp_path / "state" / "failed-checks.json")
    first = _printed([_failed()], history.revealed("nb", [_failed()]))
    assert "Annotated[AsyncSession" not in first and KEY_LINE_LATER in first
    assert "an Annotated alias" in first
    # Another process (the next `grader check`) reads what this one kept.
    again = FailureHistory(tmp_path / "state" / "failed-checks.json")
    second = _printed([_failed()], again.revealed("nb", [_failed()]))
    assert "Key line: SessionDep = Annotated[AsyncSession, Depends(get_session)]" in second
    assert KEY_LINE_LATER not in second


def test_histories_are_per_notebook_and_a_passing_run_reveals_nothing(tmp_path: Path) -> None:
    history = FailureHistory(tmp_path / "failed-checks.json")
    history.revealed("a.ipynb", [_failed()])
    assert history.revealed("b.ipynb", [_failed()]) == set()
    passed = _failed().model_copy(update={"status": "passed", "score": 1, "output": ""})
    assert history.revealed("a.ipynb", [passed]) == set()
    assert history.revealed("a.ipynb", [_failed()]) == {"test_session_dep_alias"}


def test_a_one_level_hint_promises_no_key_line(tmp_path: Path) -> None:
    printed = _printed([_failed(answer="")], {"test_session_dep_alias"})
    assert KEY_LINE_LATER not in printed and "Key line" not in printed


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"nb": 3}'])
def test_an_unreadable_history_starts_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "failed-checks.json"
    path.write_text(content)
    history = FailureHistory(path)
    assert history.revealed("nb", [_failed()]) == set()
    assert FailureHistory(path).revealed("nb", [_failed()]) == {"test_session_dep_alias"}


def test_an_unwritable_history_is_forgotten_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    history = FailureHistory(blocker / "failed-checks.json")  # a folder that cannot be made
    assert history.revealed("nb", [_failed()]) == set()
    assert history.revealed("nb", [_failed()]) == {"test_session_dep_alias"}  # still remembered in memory


def test_feedback_folds_the_key_line(tmp_path: Path) -> None:
    result = graded("me", set()).model_copy(update={"tests": [_failed()]})
    html = feedback_html(feedback_view(result))
    assert '<details class="key-line"><summary>Key line</summary>' in html
    assert "SessionDep = Annotated[AsyncSession, Depends(get_session)]" in html


def test_progress_shows_the_key_line_of_a_check_that_failed_before() -> None:
    result = graded("me", set()).model_copy(update={"tests": [_failed()]})
    submission = Submission(path=Path("02.ipynb"), assignment="02-dependency-injection", student_id="me")
    assert "Key line" not in chapter_progress(result, submission).next_step
    again = chapter_progress(result, submission, {"test_session_dep_alias"}).next_step
    assert again.endswith("Key line: SessionDep = Annotated[AsyncSession, Depends(get_session)]")


# -- end to end: `grader check` twice, and check() twice in one kernel ----------------------------------------
STUB = ROOT / "notebooks" / "00-orientation" / "00-orientation.ipynb"
GATHER_KEY_LINE = 'Key line: greetings = await gather_greetings(["Ada", "Linus"])'


def test_grader_check_shows_a_key_line_on_the_second_failure(tmp_path: Path) -> None:
    env = {**tool_env(), "COLUMNS": "240", STATE_DIR_ENV: str(tmp_path / "state")}
    command = [str(VENV_BIN / "grader"), "check", str(STUB)]
    runs = [subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300) for _ in "ab"]
    assert [run.returncode for run in runs] == [1, 1], tail(runs[1])
    first, second = (" ".join(run.stdout.split()) for run in runs)
    assert "Key line" not in first and KEY_LINE_LATER in first, first
    assert " ".join(GATHER_KEY_LINE.split()) in second, second


def test_check_in_a_kernel_shows_a_key_line_on_the_second_failure(tmp_path: Path) -> None:
    folder = tmp_path / "00-orientation"
    shutil.copytree(STUB.parent, folder)
    notebook = nbformat.read(folder / STUB.name, as_version=4)
    setup = [cell for cell in notebook.cells if not cell.metadata.get("nbgrader", {}).get("grade")]
    first = len(setup)
    notebook.cells = [*setup, nbformat.v4.new_code_cell('check("ex2")'), nbformat.v4.new_code_cell('check("ex2")')]
    NotebookClient(
        notebook, kernel_name="python3", timeout=180, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()

    def shown(cell: nbformat.NotebookNode) -> str:
        texts = [
            f"{out.get('data', {}).get('text/plain', '')}{out.get('text', '')}{out.get('ename', '')}"
            for out in cell.outputs
        ]
        return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", " ".join(texts)).split())

    once, again = shown(notebook.cells[first]), shown(notebook.cells[first + 1])
    # The kernel's table is narrow: its cells wrap, so each phrase looked for fits on one line.
    assert "ChecksFailed" in once and "Key line:" not in once and "Still failing after another try?" in once, once
    assert "Key line: greetings = await" in again and "Still failing" not in again, again


def test_a_fresh_history_forgets_what_could_not_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    FailureHistory(blocker / "failed-checks.json").revealed("nb", [_failed()])
    assert FailureHistory(blocker / "failed-checks.json").revealed("nb", [_failed()]) == set()


def test_two_runs_at_once_lose_neither_failure(tmp_path: Path) -> None:
    """A long `grader progress` and a `grader check` meanwhile: each one's save keeps the other's failures."""
    path = tmp_path / "failed-checks.json"
    progress, check = FailureHistory(path), FailureHistory(path)
    check.revealed("a.ipynb", [_failed()])
    progress.revealed("b.ipynb", [_failed()])  # saved after the check's, from a copy read before it
    again = FailureHistory(path)
    assert (
        again.revealed("a.ipynb", [_failed()]) == again.revealed("b.ipynb", [_failed()]) == {"test_session_dep_alias"}
    )


def test_feedback_opens_the_key_line_of_a_check_that_failed_before() -> None:
    result = graded("me", set()).model_copy(update={"tests": [_failed()]})
    html = feedback_html(feedback_view(result, revealed={"test_session_dep_alias"}))
    assert '<details class="key-line" open><summary>Key line</summary>' in html
