import pytest

from grader.checks import expect
from grader.checks.problems import problem_issues

pytestmark = pytest.mark.exercise("ex3")


@pytest.fixture
def app_mode():
    return "validation"


@pytest.mark.points(1)
async def test_422_repeats_no_input(client, shop):
    """no 422 repeats a value of the request: extra fields, nested lines, queries, malformed JSON"""
    valid = {"name": "Eve", "email": "eve@example.com", "password": "a long enough one"}
    requests = [
        (
            "an extra field's value",
            client.post("/probe/signup", json=valid | {"role": "admin-by-x7Q2"}),
            "admin-by-x7Q2",
        ),
        (
            "a wrong type in a nested line",
            client.post("/probe/signup", json=valid | {"lines": [{"book_id": 1, "quantity": "lots-x7Q2"}]}),
            "lots-x7Q2",
        ),
        ("an email that is not one", client.post("/probe/signup", json=valid | {"email": "eve-x7Q2"}), "eve-x7Q2"),
        ("a query parameter that is not a number", client.get("/probe/items?limit=ten-x7Q2"), "ten-x7Q2"),
        (
            "JSON cut short",
            client.post(
                "/probe/signup",
                content=b'{"name": "Eve", "password": "cut-x7Q2"',
                headers={"content-type": "application/json"},
            ),
            "cut-x7Q2",
        ),
        (
            "a login form without a password",
            client.post("/probe/login", data={"username": "eve-x7Q2@example.com"}),
            "eve-x7Q2@example.com",
        ),
    ]
    for what, sending, secret in requests:
        response = await sending
        body = await shop.expect_status(response, 422, f"A request with {what}")
        shop.expect_no_leaks(f"The 422 answer to {what}", response, {secret: "a value the request sent"})
        issues = problem_issues(response, 422)
        expect(not issues, f"The 422 answer to {what} is not a problem: {'; '.join(issues)}.")
        errors = body.get("errors")
        expect(
            isinstance(errors, list) and errors and all(set(item) == shop.ERROR_KEYS for item in errors),
            f"The 422 answer to {what} is {shop.short(body)}, expected `errors`: a list of {{loc, msg, type}} entries.",
            "Every RequestValidationError goes through the same handler: one {loc, msg, type} per error.",
        )
