import pytest

from grader.checks import expect
from grader.checks.problems import leak_issues

pytestmark = pytest.mark.exercise("ex6")

NEW_PASSWORD = "Joan's long secret password"
INVALID_CREDENTIALS = (
    "PROBLEM_TYPES[InvalidCredentials] = ProblemType(\n"
    '    401, f"{PROBLEMS}/invalid-credentials", "Invalid credentials", "Incorrect email or password.", BEARER\n'
    ")"
)


@pytest.fixture
def app_kwargs(db, shop):
    return {"database_url": db.url, "mode": "full", "secret": shop.SECRET}


@pytest.mark.points(1)
async def test_app_framework_errors_are_problems(client, shop, contract):
    """in the bookshop, 400, 401, 404 and 405 are problems, with WWW-Authenticate and Allow kept"""
    shop.seed()
    hint = (
        "create_app calls register_problem_handlers: http_error_handler on StarletteHTTPException, with "
        "`headers=exc.headers`."
    )
    key_line = "app.add_exception_handler(StarletteHTTPException, http_error_handler)"
    response = await client.post("/auth/token", content=b"x", headers={"Content-Type": "multipart/form-data"})
    contract.expect_problem(response, "POST /auth/token with a form that cannot be parsed", 400, hint, key_line)
    for label, headers in (("without a token", {}), ("with a forged token", {"Authorization": "Bearer forged"})):
        response = await client.get("/customers/me", headers=headers)
        contract.expect_problem(response, f"GET /customers/me {label}", 401, hint, key_line)
        contract.expect_header(response, f"GET /customers/me {label}", "WWW-Authenticate", "Bearer", hint, key_line)
    contract.expect_problem(await client.get("/no/such/page"), "GET /no/such/page (no such route)", 404, hint, key_line)
    response = await client.delete("/customers/me")
    contract.expect_problem(response, "DELETE /customers/me (a GET-only route)", 405, hint, key_line)
    contract.expect_header(response, "DELETE /customers/me", "Allow", "GET", hint, key_line)


@pytest.mark.points(1)
async def test_app_422_hides_input(client, shop, contract):
    """in the bookshop, a 422 lists where the request is invalid and never echoes a password"""
    shop.seed()
    hint = "validation_error_handler: each entry is only `loc`, `msg` and `type`."
    key_line = contract.VALIDATION_ERRORS
    attempts = [
        (
            "POST /customers without a name",
            "post",
            "/customers",
            {"json": {"email": "joan@example.com", "password": NEW_PASSWORD}},
            ["body", "name"],
        ),
        (
            "POST /auth/token without a username",
            "post",
            "/auth/token",
            {"data": {"password": NEW_PASSWORD}},
            ["body", "username"],
        ),
        ("GET /orders/first as Ada", "get", "/orders/first", {"headers": shop.auth(1)}, ["path", "order_id"]),
    ]
    for label, method, url, arguments, location in attempts:
        response = await client.request(method.upper(), url, **arguments)
        body = contract.expect_problem(response, label, 422, hint, key_line)
        locations = [error.get("loc") for error in body.get("errors", []) if isinstance(error, dict)]
        expect(
            location in locations,
            f"{label} answered the error locations {locations}, expected {location}.",
            hint,
            answer=key_line,
        )
        expect(
            NEW_PASSWORD not in response.text and "first" not in response.text,
            f"{label} answered {response.text[:300]}: it echoes what was submitted.",
            hint,
            answer=key_line,
        )


@pytest.mark.points(1)
async def test_app_500_leaks_nothing(client, shop, contract, db):
    """in the bookshop, a failing query answers a 500 problem that shows nothing of the failure"""
    shop.seed()
    db.execute("DROP TABLE books")
    response = await client.get("/books/1")
    contract.expect_problem(
        response,
        "GET /books/1 with the books table gone",
        500,
        "unexpected_error_handler.",
        contract.UNEXPECTED_HANDLER,
    )
    leaks = leak_issues(response.text, exception_names=["OperationalError"], secrets=["books.title", "no such table"])
    expect(
        not leaks,
        f"GET /books/1 with the books table gone answered a 500 that shows server internals: {'; '.join(leaks)}.",
        "The 500 problem's detail is a fixed sentence; the exception goes to the log only.",
        answer=contract.UNEXPECTED_HANDLER,
    )


@pytest.mark.points(1)
async def test_failed_logins_look_alike(client, shop, contract):
    """a wrong password and an unknown email answer the same 401 problem"""
    shop.seed()
    wrong = await client.post("/auth/token", data={"username": shop.email(1), "password": "a wrong guess"})
    nobody = await client.post("/auth/token", data={"username": "nobody@example.com", "password": "a wrong guess"})
    for label, response in (("a wrong password", wrong), ("an unknown email", nobody)):
        contract.expect_problem(
            response, f"POST /auth/token with {label}", 401, "InvalidCredentials in PROBLEM_TYPES.", INVALID_CREDENTIALS
        )
    expect(
        wrong.content == nobody.content
        and wrong.headers.get("www-authenticate") == nobody.headers.get("www-authenticate"),
        f"POST /auth/token answered {wrong.text} for a wrong password and {nobody.text} for an unknown email: an "
        "attacker learns which emails have accounts.",
        "Both are InvalidCredentials, answered from the table's one entry.",
        answer=INVALID_CREDENTIALS,
    )
