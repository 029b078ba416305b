import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")

REGISTER_DOMAIN = (
    "for exception_class in PROBLEM_TYPES:\n    app.add_exception_handler(exception_class, domain_error_handler)"
)


@pytest.fixture
def app_kwargs(request, db):
    mode = "unexpected" if request.function.__name__ == "test_unexpected_error_is_logged" else "registered"
    return {"database_url": db.url, "mode": mode}


async def read_server_log(ns):
    """Probe: the lines of the notebook's server log."""
    log = ns.get("server_log")
    return [str(line) for line in getattr(log, "lines", [])]


@pytest.mark.points(1)
async def test_register_maps_domain_errors(client, contract, problem_table):
    """register_problem_handlers answers subclasses of domain exceptions with their parent's problem"""
    # The classes themselves are the visible check's data; their subclasses reach a handler only through the MRO.
    # Exercise 2's visible subclass check raises these two: the others are this check's own.
    for name, status in contract.DOMAIN_STATUS.items():
        if name in ("CustomerNotFound", "InvalidToken"):
            continue
        label = f"A route raising a subclass of {name}"
        response = await client.get(f"/raise/{name}", params={"subclass": "true"})
        body = contract.expect_problem(
            response,
            label,
            status,
            "register_problem_handlers adds domain_error_handler for every class in PROBLEM_TYPES, in a loop "
            "over the table.",
            REGISTER_DOMAIN,
        )
        expect(
            body.get("type") == problem_table.get(name, {}).get("type"),
            f"{label} answered the type {body.get('type')!r}, expected PROBLEM_TYPES' "
            f"{problem_table.get(name, {}).get('type')!r}.",
            "The domain exceptions go to domain_error_handler, not to the handler for Exception.",
            answer=REGISTER_DOMAIN,
        )


@pytest.mark.points(1)
async def test_unexpected_error_is_logged(client, learner):
    """the unexpected exception and its traceback are written to error_log"""
    before = await learner.probe(read_server_log)
    expect(before.ok, f"The server log could not be read: {before.describe_error()}.")
    response = await client.get("/crash/zero")
    after = await learner.probe(read_server_log)
    new = after.value[len(before.value) :] if after.ok else []
    expect(response.status_code == 500, f"A route dividing by zero answered {response.status_code}, expected 500.")
    expect(
        any("ZeroDivisionError" in line and "Traceback" in line for line in new),
        f"After a route divided by zero, the server log got {len(new)} new line(s) "
        f"{[line[:120] for line in new]}: none with the exception and its traceback.",
        "What the client must not see belongs in the log: `error_log.error` with the request, and the exception "
        "as `exc_info`, which adds its traceback.",
        answer='error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)',
    )
