import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


@pytest.fixture
def app_kwargs(db):
    return {"database_url": db.url, "mode": "validation"}


@pytest.mark.points(1)
async def test_422_entries_are_exactly_loc_msg_type(client, contract):
    """each error entry is exactly loc, msg and type, in order, for the body, the query and validators"""
    response = await client.post(
        "/signup",
        params={"page": "third"},
        json={"name": "Ada", "email": "no-at-sign", "password": "long enough password"},
    )
    hint = "Build each entry from scratch, from the error's `loc` (as a list), `msg` and `type`."
    key_line = contract.VALIDATION_ERRORS
    if response.status_code == 500:
        expect(
            False,
            "POST /signup with an email that a validator refuses answered 500: the validator's ValueError (in the "
            "error's `ctx`) could not be turned into JSON.",
            "Copy only `loc`, `msg` and `type` from each error; `ctx` holds the exception object itself.",
            answer=key_line,
        )
    body = contract.expect_problem(response, "POST /signup?page=third with an invalid email", 422, hint, key_line)
    errors = body.get("errors")
    expect(isinstance(errors, list), f"The 422 answered {body}: no `errors` list.", hint, answer=key_line)
    for error in errors:
        expect(
            isinstance(error, dict) and set(error) == {"loc", "msg", "type"} and isinstance(error["loc"], list),
            f"The 422 answered the error entry {error}: expected exactly `loc` (a list), `msg` and `type`.",
            hint + " `input`, `ctx` and `url` stay out.",
            answer=key_line,
        )
    locations = [error["loc"] for error in errors]
    expect(
        locations == [["query", "page"], ["body", "email"]],
        f"POST /signup?page=third with an invalid email answered the locations {locations}, expected "
        "[['query', 'page'], ['body', 'email']] (in the order of `exc.errors()`).",
        hint,
        answer=key_line,
    )
    expect(
        "no-at-sign" not in response.text and "third" not in response.text,
        f"The 422 answered {response.text[:400]}: it echoes submitted values.",
        hint,
        answer=key_line,
    )
    expect(
        str(body.get("type", "")).endswith("/invalid-request") and body.get("title") == "Invalid request",
        f"The 422 answered the type {body.get('type')!r} and the title {body.get('title')!r}, expected "
        "f\"{PROBLEMS}/invalid-request\" and 'Invalid request'.",
        "The 422 problem has a type of its own under PROBLEMS, `/invalid-request`, and the title 'Invalid request'.",
        answer='return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", '
        "errors=errors)",
    )
