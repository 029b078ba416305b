"""Exercise 3: http_error_handler turns HTTPExceptions (the routing's too) into about:blank problems."""

from http import HTTPStatus

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")

HANDLER_HINT = "Answer with problem_response: the exception's status, a string detail, and the exception's own headers."


@pytest.fixture
def app_kwargs(db):
    """A bare app with http_error_handler registered on Starlette's HTTPException."""
    return {"database_url": db.url, "mode": "http"}


@pytest.mark.points(1)
async def test_unknown_route_is_a_problem(client, contract):
    """an unknown URL answers a 404 problem of type about:blank"""
    response = await client.get("/no/such/page")
    body = contract.expect_problem(
        response, "GET /no/such/page (no such route)", 404, HANDLER_HINT, contract.HTTP_HANDLER
    )
    expected = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found"}
    expect(
        {member: body.get(member) for member in expected} == expected,
        f"GET /no/such/page answered {body}, expected {expected}.",
        "An HTTPException is an about:blank problem: the status phrase as title, `exc.detail` as detail.",
        answer=contract.HTTP_HANDLER,
    )


@pytest.mark.points(1)
async def test_405_keeps_allow(client, contract):
    """a wrong method answers a 405 problem that keeps the Allow header"""
    response = await client.post("/only-get")
    contract.expect_problem(response, "POST /only-get (a GET-only route)", 405, HANDLER_HINT, contract.HTTP_HANDLER)
    contract.expect_header(
        response,
        "POST /only-get",
        "Allow",
        "GET",
        "The 405's HTTPException carries `Allow` in `exc.headers` (RFC 9110 requires it): hand the exception's "
        "headers to problem_response, whatever the status.",
        contract.HTTP_HANDLER,
    )
    expect(
        response.json().get("title") == HTTPStatus(405).phrase,
        f"POST /only-get answered the title {response.json().get('title')!r}, expected 'Method Not Allowed'.",
        "Leave the title to problem_response: the status phrase.",
    )


@pytest.mark.points(1)
async def test_string_detail_is_kept_and_other_details_become_the_phrase(client, contract):
    """an HTTPException's detail is the problem's detail when it is a string, else the status phrase"""
    response = await client.get("/http/410", params={"detail": "This edition is out of print."})
    label = "An HTTPException(410, detail='This edition is out of print.')"
    body = contract.expect_problem(response, label, 410, HANDLER_HINT, contract.HTTP_HANDLER)
    expect(
        body.get("detail") == "This edition is out of print.",
        f"{label} answered the detail {body.get('detail')!r}, expected the exception's own string.",
        "A string `exc.detail` was written for the client by whoever raised the exception: it is the problem's "
        "detail, unchanged.",
        answer=contract.HTTP_HANDLER,
    )
    response = await client.get("/http-list-detail")
    label = "An HTTPException(409, detail=['isbn', 'already listed'])"
    body = contract.expect_problem(response, label, 409, HANDLER_HINT, contract.HTTP_HANDLER)
    expect(
        body.get("detail") == HTTPStatus(409).phrase,
        f"{label} answered the detail {body.get('detail')!r}, expected the status phrase 'Conflict'.",
        "FastAPI's HTTPException takes any JSON value as its detail, and a problem's detail is a string: when "
        "`exc.detail` is not a string, the detail is the status phrase.",
        answer=contract.HTTP_HANDLER,
    )
