"""Exercise 4: validation_error_handler answers a 422 problem that says where, never what was sent."""

import re

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

ERRORS_HINT = (
    "Give the 422 problem an extension member `errors`: one entry per error of `exc.errors()`, built from its "
    "`loc` (as a list), `msg` and `type` only."
)
PASSWORD = "correct horse battery staple"
INVALID_REQUEST = "https://bookshop.example/problems/invalid-request"
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def says_count(detail: object, count: int) -> bool:
    """Whether a detail gives the number ``count``, in digits or as an English word."""
    text = str(detail).lower()
    word = NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)
    return re.search(rf"\b({count}|{word})\b", text) is not None


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


@pytest.mark.points(1)
async def test_422_entries_are_only_loc_msg_type_in_order(client, contract):
    """each error entry of the 422 is exactly loc (a list), msg and type, in the order of exc.errors()"""
    body = {"name": "", "email": "hedy.example.com", "password": "frequency"}
    label = "POST /signup with an empty name, an email without @ and a 9-character password"
    response = await client.post("/signup", json=body)
    hint = "Build each entry from scratch, from the error's `loc` (as a list), `msg` and `type` only."
    expect(
        response.status_code != 500,
        f"{label} answered 500: validation_error_handler raised instead of answering. Copying an error's `ctx` "
        "does that here: the email validator's ValueError is in it, and JSON cannot encode a ValueError.",
        hint + " `ctx` holds whatever the validator raised.",
        answer=contract.VALIDATION_ERRORS,
    )
    problem = contract.expect_problem(response, label, 422, ERRORS_HINT, contract.VALIDATION_ERRORS)
    errors = problem.get("errors")
    expect(isinstance(errors, list), f"{label} answered {problem}: no `errors` list.", ERRORS_HINT)
    for error in errors:
        expect(
            isinstance(error, dict) and set(error) == {"loc", "msg", "type"} and isinstance(error["loc"], list),
            f"{label} answered the error entry {error}: expected exactly `loc` (a list), `msg` and `type`.",
            hint + " `input`, `ctx` and `url` stay out.",
            answer=contract.VALIDATION_ERRORS,
        )
    locations = [error["loc"] for error in errors]
    expected = [["body", "name"], ["body", "email"], ["body", "password"]]
    expect(
        locations == expected,
        f"{label} answered the locations {locations}, expected {expected}, in the order of `exc.errors()`.",
        hint,
        answer=contract.VALIDATION_ERRORS,
    )


@pytest.mark.points(1)
async def test_422_problem_has_its_type_title_and_a_counting_detail(client, contract):
    """the 422 problem has the type .../invalid-request, the title 'Invalid request' and a detail that counts"""
    # No number word as the page: a detail that repeats the input must not pass for one that counts.
    label = "POST /signup?page=second without a password"
    response = await client.post(
        "/signup", params={"page": "second"}, json={"name": "Hedy", "email": "hedy@example.com"}
    )
    key_line = (
        'return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", '
        "errors=errors)"
    )
    problem = contract.expect_problem(response, label, 422, ERRORS_HINT, key_line)
    expect(
        problem.get("type") == INVALID_REQUEST and problem.get("title") == "Invalid request",
        f"{label} answered the type {problem.get('type')!r} and the title {problem.get('title')!r}, expected "
        f"{INVALID_REQUEST!r} and 'Invalid request'.",
        "A 422 is a problem of its own kind: give problem_response its type (under PROBLEMS) and its title; left "
        "out, they are about:blank and the status phrase.",
        answer=key_line,
    )
    count = len(problem.get("errors") or [])
    expect(
        count == 2 and says_count(problem.get("detail"), count),
        f"{label} answered the detail {problem.get('detail')!r} with {count} error entries: expected 2 entries "
        "(the page, the password) and a detail that says there are 2.",
        "The detail is a sentence for a human that says how many parts of the request are not valid: the length "
        "of the list.",
        answer=key_line,
    )
