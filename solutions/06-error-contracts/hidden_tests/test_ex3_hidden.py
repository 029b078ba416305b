import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.fixture
def app_kwargs(db):
    return {"database_url": db.url, "mode": "http"}


@pytest.mark.points(1)
async def test_http_exception_keeps_status_detail_and_headers(client, contract):
    """an HTTPException keeps its status, its string detail and every header; a non-string detail is replaced"""
    response = await client.get("/needs-token")
    body = contract.expect_problem(response, "GET /needs-token without a token (OAuth2PasswordBearer)", 401, "")
    contract.expect_header(
        response,
        "GET /needs-token without a token (OAuth2PasswordBearer)",
        "WWW-Authenticate",
        "Bearer",
        "OAuth2PasswordBearer's 401 carries `WWW-Authenticate: Bearer` in `exc.headers`: pass them all to "
        "problem_response.",
        contract.HTTP_HANDLER,
    )
    expect(
        body.get("detail") == "Not authenticated",
        f"GET /needs-token answered the detail {body.get('detail')!r}, expected the exception's 'Not authenticated'.",
        "A string `exc.detail` is the problem's detail.",
        answer=contract.HTTP_HANDLER,
    )

    response = await client.get("/http/409", params={"detail": "This page was already taken.", "header": "kept"})
    body = contract.expect_problem(response, "An HTTPException(409, detail=..., headers=...)", 409, "")
    expect(
        body.get("detail") == "This page was already taken." and response.headers.get("X-Check") == "kept",
        f"An HTTPException(409, detail='This page was already taken.', headers={{'X-Check': 'kept'}}) answered the "
        f"detail {body.get('detail')!r} and the header X-Check {response.headers.get('X-Check')!r}.",
        "Keep the detail and every header the exception carries: all of `exc.headers`, not headers you build.",
        answer=contract.HTTP_HANDLER,
    )

    response = await client.get("/http-json-detail")
    body = contract.expect_problem(response, "An HTTPException(400, detail={...})", 400, "")
    expect(
        body.get("detail") == "Bad Request",
        f"An HTTPException(400, detail={{'field': 'page', ...}}) answered the detail {body.get('detail')!r}, "
        "expected the status phrase 'Bad Request'.",
        "FastAPI's HTTPException accepts any JSON value as its detail; a problem's detail is a string: when "
        "`exc.detail` is not one, use the status phrase.",
        answer=contract.HTTP_HANDLER,
    )
