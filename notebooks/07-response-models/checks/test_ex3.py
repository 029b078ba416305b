"""Exercise 3: the 422 handler says where and why, never what was sent."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")

PASSWORD = "hunter2"
SIGNUP = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, "is_admin": True}
HINT = (
    "Build each entry from scratch: `{'loc': list(error['loc']), 'msg': error['msg'], 'type': error['type']}` for "
    "each error of `exc.errors()`, and return `JSONResponse(status_code=422, content={'detail': errors})`."
)


@pytest.fixture
def app_mode():
    return "validation"


@pytest.mark.points(1)
async def test_422_lists_where_and_why(client, shop):
    """a refused body answers 422 with one {loc, msg, type} per error"""
    response = await client.post("/probe/signup", json=SIGNUP)
    body = await shop.expect_status(response, 422, "A body with a short password and an extra field", HINT)
    detail = body.get("detail") if isinstance(body, dict) else None
    expect(
        isinstance(detail, list) and len(detail) == 2 and all(isinstance(item, dict) for item in detail),
        f"The 422 body is {shop.short(body)}, expected {{'detail': [...]}} with one entry per error (2 here).",
        HINT,
    )
    for item in detail:
        expect(
            set(item) == shop.ERROR_KEYS,
            f"A 422 entry has the keys {sorted(item)}, expected exactly ['loc', 'msg', 'type']: {shop.short(item)}.",
            HINT,
        )
    found = [(item["loc"], item["type"]) for item in detail]
    expected = [(["body", "password"], "string_too_short"), (["body", "is_admin"], "extra_forbidden")]
    expect(
        found == expected,
        f"The 422 entries give (loc, type) {found}, expected {expected}, in the order of exc.errors().",
        "Copy `loc` (as a list), `msg` and `type` from each error, in order.",
    )


@pytest.mark.points(2)
async def test_422_does_not_repeat_the_password(client, shop):
    """the 422 for a short password does not contain the password"""
    response = await client.post("/probe/signup", json=SIGNUP)
    body = await shop.expect_status(response, 422, "A body with a short password", HINT)
    shop.expect_no_leaks("The 422 answer to a short password", response, {PASSWORD: "the password that was sent"})
    text = response.text
    expect(
        '"input"' not in text and '"ctx"' not in text,
        f"The 422 answer still has `input` or `ctx`: {shop.short(body)}.",
        HINT,
    )
