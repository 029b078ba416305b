"""Exercise 2: core/errors.py turns every domain exception into problem details."""

import pytest

from grader.checks import expect
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
