"""Exercise 2: core/errors.py turns every error into problem details."""

from http import HTTPStatus

import pytest

from grader.checks import expect, problems
from grader.checks.bookshop import DOMAIN_STATUS

pytestmark = pytest.mark.exercise("ex2")


@pytest.fixture
def app_probe(fixtures):
    return fixtures.errors_app


@pytest.mark.points(2)
async def test_domain_errors_are_problems(client, shop):
    """each domain exception answers its status as problem details, 401 with WWW-Authenticate"""
    for name, status in DOMAIN_STATUS.items():
        response = await client.get(f"/raise/{name}")
        what = f"A route raising {name}"
        body = shop.expect_problem(
            response,
            status,
            what,
            f"PROBLEM_TYPES gives {name} the status {status}: register domain_error_handler for each class in "
            "PROBLEM_TYPES, and answer with the entry of the exception's class.",
            answer="for exception_class in PROBLEM_TYPES:\n"
            "    app.add_exception_handler(exception_class, domain_error_handler)",
        )
        expect(
            "raised by the check" not in response.text,
            f"{what} answered the exception's own message ({body.get('detail')!r}): it was written for the log, "
            "and can say more than a client should learn.",
            "Answer the detail of the exception's PROBLEM_TYPES entry, never str(exc).",
            answer="return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, "
            "headers=kind.headers)",
        )
        if status == 401:
            shop.expect_bearer_challenge(response, what)
    shop.expect_problem(
        await client.get("/subclass"),
        409,
        "A route raising a subclass of OutOfStock",
        "Walk `type(exc).__mro__` and answer the first class that is in PROBLEM_TYPES.",
        answer="for cls in type(exc).__mro__:\n    if cls in PROBLEM_TYPES:\n        kind = PROBLEM_TYPES[cls]",
    )


ERRORS_ANSWER = (
    'errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]'
)
UNEXPECTED_ANSWER = (
    'error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)\n'
    'return problem_response(500, "The server could not handle this request. The error was logged.")'
)
HTTP_ANSWER = (
    "detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase\n"
    "return problem_response(exc.status_code, detail, headers=exc.headers)"
)


@pytest.mark.points(1)
async def test_422_lists_loc_msg_type_and_echoes_nothing(client, shop):
    """a 422 is an invalid-request problem whose errors are exactly loc, msg and type, with nothing sent echoed"""
    password = "Hedy's pw"
    what = "POST /signup without an email and with a 9-character password"
    response = await client.post("/signup", json={"password": password})
    body = shop.expect_problem(
        response,
        422,
        what,
        "Register validation_error_handler on RequestValidationError; it answers with problem_response.",
        answer="app.add_exception_handler(RequestValidationError, validation_error_handler)",
    )
    expect(
        password not in response.text,
        f"{what} answered {response.text[:300]}: the submitted password came back (an error's `input`; for a "
        "missing field, the whole body).",
        "Build each error from `loc`, `msg` and `type` only: never `input` (or `ctx`).",
        answer=ERRORS_ANSWER,
    )
    expect(
        str(body.get("type", "")).endswith("/invalid-request") and body.get("title") == "Invalid request",
        f"{what} answered the type {body.get('type')!r} and the title {body.get('title')!r}, expected "
        "f\"{PROBLEMS}/invalid-request\" and 'Invalid request'.",
        "A 422 is a problem of its own kind: pass problem_response its type under PROBLEMS and its title.",
        answer='return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", '
        "errors=errors)",
    )
    errors = body.get("errors")
    entries_ok = isinstance(errors, list) and all(
        isinstance(error, dict) and set(error) == {"loc", "msg", "type"} and isinstance(error["loc"], list)
        for error in errors
    )
    expect(
        entries_ok,
        f"{what} answered the errors {str(errors)[:300]}, expected a list of entries with exactly `loc` (a list), "
        "`msg` and `type`.",
        "For each error of exc.errors(), a new dict of its loc (as a list), msg and type: the extension `errors`.",
        answer=ERRORS_ANSWER,
    )
    locations = [error["loc"] for error in errors]
    expect(
        locations == [["body", "email"], ["body", "password"]],
        f"{what} answered the locations {locations}, expected [['body', 'email'], ['body', 'password']], in the "
        "order of exc.errors().",
        "One entry per error of exc.errors(), in its order.",
        answer=ERRORS_ANSWER,
    )


@pytest.mark.points(1)
async def test_500_shows_nothing_of_the_exception(client, shop):
    """a crash answers a 500 problem without the exception's message, class name, path or SQL"""
    response = await client.get("/fail")
    shop.expect_problem(
        response,
        500,
        "A route raising LookupError",
        "Register unexpected_error_handler on Exception; it answers a problem, not the exception.",
        answer="app.add_exception_handler(Exception, unexpected_error_handler)",
    )
    leaks = problems.leak_issues(response.text, exception_names=["LookupError"], secrets=["payment_cards", "4111"])
    expect(
        not leaks,
        f"The 500 answer of a route raising LookupError shows server internals: {'; '.join(leaks)}.",
        "The client gets a fixed sentence; the exception, its message and its traceback go to the log "
        "(exc_info=exc). Never str(exc) or its class name in the answer.",
        answer=UNEXPECTED_ANSWER,
    )


@pytest.mark.points(1)
async def test_http_errors_keep_status_detail_and_headers(client, shop):
    """an HTTPException is an about:blank problem with its status, its string detail (else the phrase), its headers"""
    register = "app.add_exception_handler(StarletteHTTPException, http_error_handler)"
    body = shop.expect_problem(
        await client.get("/nowhere/to/be/found"),
        404,
        "GET of an unknown route",
        "Register http_error_handler on starlette.exceptions.HTTPException: the routing raises Starlette's class, "
        "which FastAPI's subclass does not catch.",
        answer=register,
    )
    expect(
        body.get("type") == "about:blank" and body.get("title") == "Not Found",
        f"GET of an unknown route answered the type {body.get('type')!r} and the title {body.get('title')!r}, "
        "expected 'about:blank' and 'Not Found'.",
        "An HTTPException has no domain meaning: an about:blank problem titled with its status phrase.",
        answer=HTTP_ANSWER,
    )
    response = await client.put("/items/5")
    shop.expect_problem(response, 405, "PUT on a GET-only route", "Register http_error_handler.", answer=register)
    expect(
        "GET" in response.headers.get("allow", ""),
        f"PUT on a GET-only route answered 405 without `Allow: GET` (got {response.headers.get('allow')!r}).",
        "The 405's HTTPException carries Allow in `exc.headers`: pass them all to problem_response.",
        answer=HTTP_ANSWER,
    )
    response = await client.get("/refuse")
    body = shop.expect_problem(response, 429, "An HTTPException(429, 'Slow down, please.', Retry-After)")
    expect(
        body.get("detail") == "Slow down, please." and response.headers.get("retry-after") == "30",
        f"An HTTPException(429, detail='Slow down, please.', headers={{'Retry-After': '30'}}) answered the detail "
        f"{body.get('detail')!r} and Retry-After {response.headers.get('retry-after')!r}.",
        "A string `exc.detail` is the problem's detail, and every header of `exc.headers` is kept.",
        answer=HTTP_ANSWER,
    )
    body = shop.expect_problem(await client.get("/refuse-with-list"), 409, "An HTTPException(409, detail=[...])")
    expect(
        body.get("detail") == HTTPStatus(409).phrase,
        f"An HTTPException(409, detail=['isbn', 'already listed']) answered the detail {body.get('detail')!r}, "
        "expected the status phrase 'Conflict'.",
        "A problem's detail is a string: when `exc.detail` is not one, use the status phrase.",
        answer=HTTP_ANSWER,
    )


@pytest.mark.points(1)
async def test_500_is_logged_with_its_traceback(probe, fixtures):
    """the exception behind a 500 is written to error_log with its traceback"""
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.error_log_probe), "Answering a crash with app.core.errors' handlers"
    )
    records = answer["records"]
    expect(
        answer["status"] == 500 and any("LookupError" in line and "Traceback" in line for line in records),
        f"A route raising LookupError was answered {answer['status']}, and error_log recorded "
        f"{[line[:120] for line in records]}: nothing with the exception and its traceback.",
        "What the client must not see goes to the log: error_log.error with the request, and the exception as "
        "`exc_info`, which adds its traceback.",
        answer='error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)',
    )
