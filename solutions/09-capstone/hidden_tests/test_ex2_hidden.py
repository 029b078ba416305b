import pytest

from grader.checks import expect, problems

pytestmark = pytest.mark.exercise("ex2")

ERRORS_ANSWER = (
    'errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]'
)


@pytest.fixture
def app_probe(fixtures):
    return fixtures.errors_app


@pytest.mark.points(2)
async def test_framework_errors_are_problems(client, shop):
    """unknown route, 405, 422 and 500 answer problem details without leaking input or internals"""
    shop.expect_problem(
        await client.get("/no/such/route"),
        404,
        "GET of an unknown route",
        "Register http_error_handler on starlette.exceptions.HTTPException: FastAPI's subclass misses the "
        "router's 404.",
        answer="app.add_exception_handler(StarletteHTTPException, http_error_handler)",
    )
    response = await client.delete("/items/1")
    shop.expect_problem(
        response,
        405,
        "DELETE on a GET-only route",
        "Register http_error_handler on Starlette's HTTPException.",
        answer="app.add_exception_handler(StarletteHTTPException, http_error_handler)",
    )
    expect(
        "GET" in response.headers.get("allow", ""),
        f"The 405 lost its Allow header (got {response.headers.get('allow')!r}).",
        "Pass `exc.headers` on to the response in http_error_handler.",
        answer="return problem_response(exc.status_code, detail, headers=exc.headers)",
    )
    password = "hunter2-leaked"
    response = await client.post("/signup", json={"email": "ada@example.com", "password": password[:7]})
    body = shop.expect_problem(
        response,
        422,
        "A body that fails validation",
        "Register validation_error_handler on RequestValidationError.",
        answer="app.add_exception_handler(RequestValidationError, validation_error_handler)",
    )
    expect(
        isinstance(body.get("errors"), list)
        and body["errors"]
        and all("loc" in e and "msg" in e for e in body["errors"]),
        f"The 422 answered {str(body)[:300]}, expected `errors`: a list with loc and msg for each error.",
        "Send the extension member `errors`: for each error of exc.errors(), a new dict of its loc, msg and type.",
        answer=ERRORS_ANSWER,
    )
    expect(
        password[:7] not in response.text,
        "The 422 echoes the submitted password (the `input` of the validation error).",
        "Build each error from loc, msg and type only: never `input` (or `ctx`).",
        answer=ERRORS_ANSWER,
    )
    response = await client.get("/crash")
    shop.expect_problem(
        response,
        500,
        "A route that crashes",
        "Register unexpected_error_handler on Exception.",
        answer="app.add_exception_handler(Exception, unexpected_error_handler)",
    )
    leaks = problems.leak_issues(response.text, exception_names=["RuntimeError"], secrets=["customers_secrets"])
    expect(
        not leaks,
        f"The 500 answer shows server internals: {'; '.join(leaks)}.",
        "unexpected_error_handler logs the exception (exc_info=exc) and answers a fixed detail: never str(exc), "
        "its class name or a traceback.",
        answer='error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)\n'
        'return problem_response(500, "The server could not handle this request. The error was logged.")',
    )
