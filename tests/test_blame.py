"""A check that fails because of another exercise's code, or of an exception in the app, says so.

Chapter 02's exercise 4 routes call exercise 3's services. A bug in ``get_author`` (ex3) used to fail ex4's
checks with "answered 500" and a hint about the route's path; the check now names the exception, the
function and the exercise it was raised in ("fix ex3 first"). An exception the route itself lets out is
named too, with the request it broke.
"""

from __future__ import annotations

import pytest
from support import edited_cell, failed_outputs, graded_mistakes, solution_cell

from grader.models import SubmissionResult

CHAPTER = "02-dependency-injection"
ROUTE_CHECK = "test_get_author"

CASES = {
    # A typo in ex3's service: every route that uses it answers 500.
    "NameError in ex3's get_author": {
        "ex3-solution": edited_cell(
            CHAPTER,
            "ex3-solution",
            ("author = await session.get(Author, author_id)", "author = await session.get(Authr, author_id)"),
        )
    },
    # The route's own bug: it calls a name that does not exist.
    "AttributeError in ex4's route": {
        "ex4-solution": edited_cell(
            CHAPTER,
            "ex4-solution",
            (
                '        raise HTTPException(status_code=404, detail=f"author {author_id} not found") from None\n'
                "    return AuthorOut.model_validate(author)",
                '        raise HTTPException(status_code=404, detail=f"author {author_id} not found") from None\n'
                "    return AuthorOut.model_validate(author.profile)",
            ),
        )
    },
    # ex3's get_author forgets an await: it returns a coroutine, which ex4's route fails to validate.
    "missing await in ex3's get_author": {
        "ex3-solution": edited_cell(
            CHAPTER,
            "ex3-solution",
            ("author = await session.get(Author, author_id)", "author = session.get(Author, author_id)"),
        )
    },
    # ex3's cell never ends: it is skipped after the cell time-out, and what it defines does not exist.
    "endless loop in ex3's cell": {
        "ex3-solution": solution_cell(CHAPTER, "ex3-solution") + "\n\nwhile True:\n    pass\n",
    },
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, CASES)


@pytest.mark.parametrize("case", ["NameError in ex3's get_author"])
def test_a_route_check_names_the_earlier_exercise_that_failed(graded: dict[str, SubmissionResult], case: str) -> None:
    output = failed_outputs(graded[case])[ROUTE_CHECK]
    assert "exercise ex3, which raised NameError: name 'Authr' is not defined in `get_author`" in output, output
    assert "Your `read_author` (exercise ex4) called the code of" in output, output  # the route led there
    assert "fix ex3 first" in output, output


@pytest.mark.parametrize("case", ["missing await in ex3's get_author"])
def test_a_missing_await_is_blamed_where_the_coroutine_was_made(graded: dict[str, SubmissionResult], case: str) -> None:
    output = failed_outputs(graded[case])[ROUTE_CHECK]
    assert "exercise ex3, which raised RuntimeWarning: coroutine 'AsyncSession.get' was never awaited" in output, output
    assert "in `get_author`" in output and "fix ex3 first" in output, output


@pytest.mark.parametrize("case", ["AttributeError in ex4's route"])
def test_a_500_names_the_exception_from_the_learners_code(graded: dict[str, SubmissionResult], case: str) -> None:
    output = failed_outputs(graded[case])[ROUTE_CHECK]
    assert "Your app raised AttributeError:" in output and "of exercise ex4 while answering GET /authors/" in output
    assert "fix ex" not in output  # its own exercise: nothing earlier to blame


@pytest.mark.parametrize("case", ["endless loop in ex3's cell"])
def test_a_cell_time_out_is_reported_on_its_exercise(graded: dict[str, SubmissionResult], case: str) -> None:
    outputs = failed_outputs(graded[case])
    own = [name for name, test in _by_exercise(graded[case]).items() if test == "ex3"]
    assert own and all(name in outputs for name in own), "every check of ex3 fails"
    for name in own:
        assert "Your cell ex3-solution did not finish (no answer within" in outputs[name], outputs[name]
        assert "look for a loop that never ends" in outputs[name]
    later = outputs[ROUTE_CHECK]  # ex4's route calls ex3's get_author, which was never defined
    assert "Exercise ex3's cell ex3-solution did not finish" in later and "fix ex3 first" in later, later


def _by_exercise(result: SubmissionResult) -> dict[str, str]:
    return {test.extra_data["nodeid"].rsplit("::", 1)[-1]: test.tags[0] for test in result.tests if test.tags}
