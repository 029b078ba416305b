"""Exercise 3: the 422 problem (chapter 06's) says where and why, never what was sent."""

import re

import pytest

from grader.checks import expect
from grader.checks.problems import problem_issues

pytestmark = pytest.mark.exercise("ex3")

PASSWORD = "hunter2"
SIGNUP = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, "is_admin": True}
HINT = (
    "As in chapter 06: for each error of `exc.errors()`, a new dict of its `loc` (as a list), `msg` and `type`, "
    "nothing else; the list is the extension member `errors` of a 422 problem of type invalid-request "
    "(`problem_response` takes extension members as keyword arguments)."
)
ANSWER = (
    'errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]\n'
    'return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors)'
)
INVALID_REQUEST = "https://bookshop.example/problems/invalid-request"


@pytest.fixture
def app_mode():
    return "validation"


@pytest.mark.points(1)
async def test_422_lists_where_and_why(client, shop):
    """a refused body answers a 422 problem with one {loc, msg, type} per error"""
    response = await client.post("/probe/signup", json=SIGNUP)
    body = await shop.expect_status(
        response, 422, "A body with a short password and an extra field", HINT, answer=ANSWER
    )
    issues = problem_issues(response, 422)
    expect(not issues, f"The 422 answer is not a problem: {'; '.join(issues)}.", HINT, ANSWER)
    expect(
        body.get("type") == INVALID_REQUEST and body.get("title") == "Invalid request",
        f"The 422 problem has type {body.get('type')!r} and title {body.get('title')!r}, "
        f"expected {INVALID_REQUEST!r} and 'Invalid request'.",
        HINT,
        ANSWER,
    )
    errors = body.get("errors")
    expect(
        isinstance(errors, list) and len(errors) == 2 and all(isinstance(item, dict) for item in errors),
        f"The 422 problem is {shop.short(body)}, expected a member `errors` with one entry per error (2 here).",
        HINT,
        ANSWER,
    )
    for item in errors:
        expect(
            set(item) == shop.ERROR_KEYS,
            f"A 422 entry has the keys {sorted(item)}, expected exactly ['loc', 'msg', 'type']: {shop.short(item)}.",
            HINT,
            ANSWER,
        )
    found = [(item["loc"], item["type"]) for item in errors]
    expected = [(["body", "password"], "string_too_short"), (["body", "is_admin"], "extra_forbidden")]
    expect(
        found == expected,
        f"The 422 entries give (loc, type) {found}, expected {expected}, in the order of exc.errors().",
        "Copy `loc` (as a list), `msg` and `type` from each error, in order.",
        ANSWER,
    )


@pytest.mark.points(2)
async def test_422_does_not_repeat_the_password(client, shop):
    """the 422 for a short password does not contain the password"""
    response = await client.post("/probe/signup", json=SIGNUP)
    body = await shop.expect_status(response, 422, "A body with a short password", HINT, answer=ANSWER)
    shop.expect_no_leaks("The 422 answer to a short password", response, {PASSWORD: "the password that was sent"})
    text = response.text
    expect(
        '"input"' not in text and '"ctx"' not in text,
        f"The 422 answer still has `input` or `ctx`: {shop.short(body)}.",
        HINT,
        ANSWER,
    )


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@pytest.mark.points(1)
async def test_422_detail_counts_the_errors(client, shop):
    """the 422 problem's detail says how many errors its list has"""
    body = {"name": "", "email": "mallory-at-example", "password": "pw"}
    response = await client.post("/probe/signup", json=body)
    label = "A body with an empty name, an email without @ and a 2-character password"
    problem = await shop.expect_status(response, 422, label, HINT, answer=ANSWER)
    errors = problem.get("errors") if isinstance(problem, dict) else None
    expect(isinstance(errors, list), f"{label} answered {shop.short(problem)}: no `errors` list.", HINT, ANSWER)
    count, detail = len(errors), str(problem.get("detail"))
    word = NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)
    expect(
        count == 3 and re.search(rf"\b({count}|{word})\b", detail.lower()) is not None,
        f"{label} answered the detail {detail!r} with {count} error entries: expected 3 entries and a detail that "
        "says there are 3.",
        "The detail is a sentence for a human that gives the number of errors: the length of the list.",
        ANSWER,
    )
