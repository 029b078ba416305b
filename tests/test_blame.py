"""A check that fails because of another exercise's code, or of an exception in the app, says so.

Chapter 02's exercise 4 routes call exercise 3's services. A bug in ``get_author`` (ex3) used to fail ex4's
checks with "answered 500" and a hint about the route's path; the check now names the exception, the
function and the exercise it was raised in ("fix ex3 first"). An exception the route itself lets out is
named too, with the request it broke.
"""

from __future__ import annotations

import pytest
from support import edited_cell, failed_outputs, graded_mistakes

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


@pytest.mark.parametrize("case", ["AttributeError in ex4's route"])
def test_a_500_names_the_exception_from_the_learners_code(graded: dict[str, SubmissionResult], case: str) -> None:
    output = failed_outputs(graded[case])[ROUTE_CHECK]
    assert "Your app raised AttributeError:" in output and "of exercise ex4 while answering GET /authors/" in output
    assert "fix ex" not in output  # its own exercise: nothing earlier to blame
