"""Exercise 1: problem_response builds an RFC 9457 problem details response."""

import pytest

from grader.checks import expect
from grader.checks.problems import json_body

pytestmark = pytest.mark.exercise("ex1")

BOOK_TYPE = "https://bookshop.example/problems/book-not-found"
ENVELOPE_HINT = (
    "Build a `Problem` from the arguments, extensions included, and return a JSONResponse of its `model_dump()` "
    "with the status, the headers and the media type `PROBLEM_JSON`."
)


@pytest.mark.points(1)
async def test_problem_response_body(problem_response_of, contract):
    """problem_response answers application/problem+json with type, title, status and detail"""
    response = await problem_response_of(404, "No book has this id.", type=BOOK_TYPE, title="Book not found")
    body = contract.expect_problem(
        response, "`problem_response(404, ...)`", 404, ENVELOPE_HINT, contract.PROBLEM_RESPONSE
    )
    expected = {"type": BOOK_TYPE, "title": "Book not found", "status": 404, "detail": "No book has this id."}
    expect(
        body == expected,
        f"`problem_response(404, 'No book has this id.', type=..., title='Book not found')` answered the body "
        f"{body}, expected {expected}.",
        "Pass the arguments into the Problem unchanged, each to the member of its name.",
        answer=contract.PROBLEM_LINE,
    )


@pytest.mark.points(1)
async def test_problem_response_headers_and_extensions(problem_response_of, contract):
    """problem_response keeps the headers it is given and adds extension members to the body"""
    errors = [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]
    response = await problem_response_of(
        401, "Could not validate credentials.", headers={"WWW-Authenticate": "Bearer"}, errors=errors
    )
    body = contract.expect_problem(
        response,
        "`problem_response(401, ..., headers=..., errors=...)`",
        401,
        ENVELOPE_HINT,
        contract.PROBLEM_RESPONSE,
    )
    contract.expect_header(
        response,
        "`problem_response(401, ..., headers={'WWW-Authenticate': 'Bearer'})`",
        "WWW-Authenticate",
        "Bearer",
        "Hand the headers to the JSONResponse; `None` means no headers.",
        contract.RESPONSE_LINE,
    )
    expect(
        body.get("errors") == errors,
        f"`problem_response(..., errors=[...])` answered the body {json_body(response)}: the extension member "
        f"`errors` should be {errors}.",
        "Keyword arguments beyond the named ones are extension members: `Problem(..., **extensions)` keeps them "
        "(the model allows extra members) and `model_dump()` returns them.",
        answer=contract.PROBLEM_LINE,
    )
    expect(
        body.get("title") == "Unauthorized",
        f"`problem_response(401, ...)` without a title answered the title {body.get('title')!r}, expected "
        "'Unauthorized' (the status phrase).",
        "Without a title, the title is the status phrase, which `HTTPStatus` knows.",
        answer=contract.PROBLEM_LINE,
    )
