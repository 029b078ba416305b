import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


@pytest.fixture
def app_kwargs(session_app_kwargs):
    return session_app_kwargs


@pytest.mark.points(1)
async def test_exception_reaches_its_handler(client, swallowed_hint, swallowed_answer):
    """an exception raised in a route reaches the app's exception handler through get_session"""
    response = await client.post("/probe/fail/custom")
    expect(
        response.status_code == 418,
        f"A route that raised an exception with its own handler (answering 418) answered {response.status_code}: "
        "get_session kept the exception from reaching the handler.",
        swallowed_hint,
        answer=swallowed_answer,
    )


@pytest.mark.points(1)
async def test_failed_request_rolls_back_and_closes(client, db, swallowed_hint, swallowed_answer):
    """after a failing request nothing is written and the session's connection is back in the pool"""
    response = await client.post("/probe/fail/http")
    expect(
        response.status_code == 409,
        f"A route that raised HTTPException(409) while using get_session answered {response.status_code}.",
        swallowed_hint,
        answer=swallowed_answer,
    )
    rows = db.rows("SELECT name FROM authors")
    expect(
        rows == [],
        "A request that failed after flushing an author left it in the database.",
        "Let get_session close the session when the request ends (leaving `async with` does it): "
        "closing rolls back what was not committed.",
        answer=swallowed_answer,
    )
    pool = await client.get("/probe/pool")
    checked_out = pool.json()["checked_out"] if pool.status_code == 200 else f"(unknown: {pool.status_code})"
    expect(
        checked_out == 0,
        f"After the request, {checked_out} connection(s) were still checked out of the pool.",
        "get_session must close its session after the route, also when the route raised: leaving an "
        "`async with` block does it.",
        answer=swallowed_answer,
    )
