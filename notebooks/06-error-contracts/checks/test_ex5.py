"""Exercise 5: the 500 problem leaks nothing, and register_problem_handlers covers every error."""

import pytest

from grader.checks import expect
from grader.checks.problems import describe, json_body, leak_issues, media_type

pytestmark = pytest.mark.exercise("ex5")

# What each /crash/{kind} route raises: the exception's class, and text from its message.
CRASHES = {
    "sql": ("OperationalError", ["payment_secrets", "card_number"]),
    "dsn": ("ConnectionRefusedError", ["hunter2-db-password", "db.internal"]),
    "path": ("FileNotFoundError", ["secrets.toml", "/srv/bookshop"]),
    "key": ("KeyError", ["hashed_password"]),
    "zero": ("ZeroDivisionError", ["division by zero"]),
}
LEAK_HINT = (
    "The client gets a 500 problem with a fixed sentence and nothing else; `str(exc)`, `repr(exc)`, "
    "`type(exc).__name__` and the traceback go to the log only, through `exc_info=exc`."
)


# These grade the learner's own registration; the others grade the 500 handler alone, so ex5's halves fail apart.
REGISTERED = {"test_register_covers_framework_errors", "test_register_answers_each_domain_exception_from_the_table"}


@pytest.fixture
def app_kwargs(request, db):
    """A bare app with unexpected_error_handler on Exception, or (register tests) the learner's registration."""
    mode = "registered" if request.function.__name__ in REGISTERED else "unexpected"
    return {"database_url": db.url, "mode": mode}


@pytest.mark.points(1)
async def test_unexpected_error_is_a_problem(client, contract):
    """an unexpected exception answers a 500 problem of type about:blank"""
    response = await client.get("/crash/zero")
    body = contract.expect_problem(
        response,
        "A route dividing by zero",
        500,
        "unexpected_error_handler answers with problem_response, which sets the problem media type (a bare "
        "JSONResponse says application/json).",
        contract.UNEXPECTED_HANDLER,
    )
    expect(
        body.get("type") == "about:blank" and body.get("title") == "Internal Server Error",
        f"A route dividing by zero answered the type {body.get('type')!r} and the title {body.get('title')!r}, "
        "expected 'about:blank' and 'Internal Server Error'.",
        "A bug has no domain meaning: a plain about:blank problem with the status phrase as title.",
        answer=contract.UNEXPECTED_HANDLER,
    )


@pytest.mark.points(2)
async def test_500_leaks_nothing(client, contract):
    """the 500 shows no SQL, connection string, file path, class name or message of the exception"""
    for kind, (exception_name, secrets) in CRASHES.items():
        response = await client.get(f"/crash/{kind}")
        expect(
            response.status_code == 500,
            f"A route raising {exception_name} answered {response.status_code}, expected 500.",
            "Register nothing but unexpected_error_handler for this check: it must answer 500.",
        )
        expect(
            media_type(response) in ("application/problem+json", "application/json")
            and json_body(response) is not None,
            f"A route raising {exception_name} answered {describe(response)}: that is Starlette's own 500, so "
            "unexpected_error_handler did not answer (it is missing, or it raised).",
            "unexpected_error_handler must answer, not raise: with a problem that problem_response makes.",
            answer=contract.UNEXPECTED_HANDLER,
        )
        leaks = leak_issues(response.text, exception_names=[exception_name], secrets=secrets)
        expect(
            not leaks,
            f"The 500 of a route raising {exception_name} shows server internals: {'; '.join(leaks)}.",
            LEAK_HINT,
            answer=contract.UNEXPECTED_HANDLER,
        )


REGISTER_HTTP = "app.add_exception_handler(StarletteHTTPException, http_error_handler)"


def diagnose_registration(keys: list[list[str]]) -> str:
    """Why the routing's 404/405 were not problems, from what register_problem_handlers registered."""
    handlers = {name: module for name, module, _ in keys}
    starlette = handlers.get("starlette.exceptions.HTTPException", "")
    if "fastapi.exceptions.HTTPException" in handlers and starlette.startswith("fastapi"):
        return (
            "register_problem_handlers registered http_error_handler on fastapi.HTTPException, a subclass: the "
            "routing raises starlette.exceptions.HTTPException, which that handler never sees. Register on "
            "`StarletteHTTPException` (it catches FastAPI's subclass too)."
        )
    if starlette.startswith("fastapi"):
        return "register_problem_handlers registers no handler on starlette.exceptions.HTTPException."
    return "Register http_error_handler on StarletteHTTPException and keep `headers=exc.headers`."


@pytest.mark.points(1)
async def test_register_covers_framework_errors(client, contract, learner):
    """register_problem_handlers turns the routing's 404 and 405, a 401 and a 422 into problems, headers kept"""
    observed = await learner.probe(handler_keys_probe)
    expect(observed.ok, f"`register_problem_handlers(FastAPI())` raised {observed.describe_error()}.")
    hint = diagnose_registration(observed.value)
    contract.expect_problem(
        await client.get("/no/such/page"), "GET /no/such/page (no such route)", 404, hint, REGISTER_HTTP
    )
    response = await client.post("/only-get")
    contract.expect_problem(response, "POST /only-get (a GET-only route)", 405, hint, REGISTER_HTTP)
    contract.expect_header(response, "POST /only-get", "Allow", "GET", hint, REGISTER_HTTP)
    response = await client.get("/needs-token")
    contract.expect_problem(response, "GET /needs-token without a token", 401, hint, REGISTER_HTTP)
    contract.expect_header(
        response, "GET /needs-token without a token", "WWW-Authenticate", "Bearer", hint, REGISTER_HTTP
    )
    contract.expect_problem(
        await client.post("/signup", json={}),
        "POST /signup with an empty body",
        422,
        "Register validation_error_handler on RequestValidationError.",
        "app.add_exception_handler(RequestValidationError, validation_error_handler)",
    )
    contract.expect_problem(
        await client.get("/crash/zero"),
        "A route dividing by zero",
        500,
        "Register unexpected_error_handler on Exception.",
        "app.add_exception_handler(Exception, unexpected_error_handler)",
    )


async def handler_keys_probe(ns):
    """Probe: the exception classes register_problem_handlers registers, with their handlers' modules."""
    from fastapi import FastAPI

    if "register_problem_handlers" not in ns:
        raise NameError("name 'register_problem_handlers' is not defined")
    app = FastAPI()
    ns["register_problem_handlers"](app)
    found = []
    for key, handler in app.exception_handlers.items():
        name = f"{key.__module__}.{key.__qualname__}" if isinstance(key, type) else repr(key)
        found.append([name, getattr(handler, "__module__", "") or "", getattr(handler, "__name__", "")])
    return found


REGISTER_DOMAIN = (
    "for exception_class in PROBLEM_TYPES:\n    app.add_exception_handler(exception_class, domain_error_handler)"
)


@pytest.mark.points(1)
async def test_register_answers_each_domain_exception_from_the_table(client, contract, problem_table):
    """register_problem_handlers answers each domain exception with the status and type of its table entry"""
    for name in contract.DOMAIN_STATUS:
        kind = problem_table.get(name)
        expect(kind is not None, f"PROBLEM_TYPES has no entry for {name} (exercise 2).")
        label = f"A route raising {name}"
        response = await client.get(f"/raise/{name}", params={"message": f"{name} in the registration check"})
        body = contract.expect_problem(
            response,
            label,
            kind["status"],
            "register_problem_handlers adds domain_error_handler for every exception class in PROBLEM_TYPES: a "
            "domain exception without its own handler reaches the one for Exception, a 500.",
            REGISTER_DOMAIN,
        )
        expect(
            body.get("type") == kind["type"],
            f"{label} answered the type {body.get('type')!r}, expected PROBLEM_TYPES' {kind['type']!r}.",
            "The domain exceptions go to domain_error_handler, registered once per class of the table.",
            answer=REGISTER_DOMAIN,
        )


async def server_log_lines(ns):
    """Probe: the lines of the notebook's server log, where error_log writes."""
    log = ns.get("server_log")
    return [str(line) for line in getattr(log, "lines", [])]


@pytest.mark.points(1)
async def test_500_logs_the_exception_with_its_traceback(client, learner):
    """the exception behind a 500, with its traceback, is written to error_log"""
    before = await learner.probe(server_log_lines)
    expect(before.ok, f"The server log could not be read: {before.describe_error()}.")
    response = await client.get("/crash/path")
    after = await learner.probe(server_log_lines)
    new = after.value[len(before.value) :] if after.ok else []
    expect(
        response.status_code == 500,
        f"A route raising FileNotFoundError answered {response.status_code}, expected 500.",
        "unexpected_error_handler answers every exception it is given with a 500 problem.",
    )
    expect(
        any("FileNotFoundError" in line and "Traceback" in line for line in new),
        f"After a route raised FileNotFoundError, the server log got {len(new)} new line(s) "
        f"{[line[:120] for line in new]}: none with the exception and its traceback.",
        "The client learns nothing, so the log must learn everything: log an error on `error_log` that names the "
        "request, and hand it the exception as `exc_info`, which adds the traceback.",
        answer='error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)',
    )
