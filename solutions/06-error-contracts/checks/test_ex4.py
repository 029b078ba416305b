"""Exercise 4: validation_error_handler answers a 422 problem that says where, never what was sent."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

ERRORS_HINT = (
    "Give the 422 problem an extension member `errors`: one entry per error of `exc.errors()`, built from its "
    "`loc` (as a list), `msg` and `type` only."
)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_kwargs(db):
    """A bare app with validation_error_handler registered on RequestValidationError."""
    return {"database_url": db.url, "mode": "validation"}


@pytest.mark.points(1)
async def test_422_lists_locations(client, contract):
    """a body that does not validate answers a 422 problem whose errors give each location and message"""
    response = await client.post("/signup", json={})
    body = contract.expect_problem(
        response, "POST /signup with an empty body", 422, ERRORS_HINT, contract.VALIDATION_ERRORS
    )
    errors = body.get("errors")
    expect(
        isinstance(errors, list) and all(isinstance(error, dict) for error in errors),
        f"POST /signup with an empty body answered {body}: the member `errors` should be a list of objects.",
        ERRORS_HINT,
        answer=contract.VALIDATION_ERRORS,
    )
    locations = [error.get("loc") for error in errors]
    for field in ("name", "email", "password"):
        expect(
            ["body", field] in locations,
            f"POST /signup with an empty body answered the error locations {locations}: ['body', '{field}'] is "
            "missing.",
            "One entry per error of `exc.errors()`, its `loc` as a list.",
            answer=contract.VALIDATION_ERRORS,
        )
    expect(
        all(isinstance(error.get("msg"), str) and error["msg"] for error in errors),
        f"POST /signup answered the errors {errors}: each needs its `msg`.",
        ERRORS_HINT,
        answer=contract.VALIDATION_ERRORS,
    )


@pytest.mark.points(1)
async def test_422_never_echoes_input(client, contract):
    """the 422 never sends back what was submitted, such as a password"""
    attempts = [
        ("without a name", {"email": "ada@example.com", "password": PASSWORD}, PASSWORD),
        ("with a short password", {"name": "Ada", "email": "ada@example.com", "password": "tr0ub4dor"}, "tr0ub4dor"),
    ]
    for label, payload, secret in attempts:
        response = await client.post("/signup", json=payload)
        contract.expect_problem(response, f"POST /signup {label}", 422, ERRORS_HINT, contract.VALIDATION_ERRORS)
        expect(
            secret not in response.text,
            f"POST /signup {label} answered {response.text[:400]}: the submitted password {secret!r} came back in "
            "the 422.",
            "Each error of `exc.errors()` carries the submitted `input` (for a missing field, the whole body). Build "
            'each entry from `loc`, `msg` and `type` only: `{"loc": ..., "msg": ..., "type": ...}`.',
            answer=contract.VALIDATION_ERRORS,
        )
