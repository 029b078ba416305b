from http import HTTPStatus

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


@pytest.mark.points(1)
async def test_problem_response_defaults(problem_response_of, contract):
    """without type and title, problem_response answers about:blank and the status phrase"""
    for status, detail in [(503, "Try again in a minute."), (409, "Already there."), (400, "Bad page number.")]:
        response = await problem_response_of(status, detail)
        body = contract.expect_problem(
            response,
            f"`problem_response({status}, {detail!r})`",
            status,
            "The status goes both into the JSONResponse (`status_code=status`) and into the body.",
            contract.PROBLEM_RESPONSE,
        )
        expected = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
        expect(
            body == expected,
            f"`problem_response({status}, {detail!r})` answered the body {body}, expected {expected}.",
            "`type` defaults to 'about:blank' and the title to `HTTPStatus(status).phrase`; no other members "
            "unless extensions are passed.",
            answer=contract.PROBLEM_LINE,
        )
