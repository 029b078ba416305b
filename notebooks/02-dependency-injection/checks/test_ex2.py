"""Exercise 2: get_session and SessionDep."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

SESSION_DEP = "SessionDep = Annotated[AsyncSession, Depends(get_session)]"
GET_SESSION = "async with request.app.state.sessionmaker() as session: yield session"


@pytest.fixture
def app_kwargs(session_app_kwargs):
    return session_app_kwargs


async def describe_session_dep(ns):
    from sqlalchemy.ext.asyncio import AsyncSession

    from grader.checks.bookshop import describe_alias

    return describe_alias(ns, "SessionDep", AsyncSession, "get_session")


@pytest.mark.points(1)
async def test_session_dep_alias(learner):
    """SessionDep is Annotated[AsyncSession, Depends(get_session)]"""
    observed = await learner.probe(describe_session_dep)
    expect(observed.ok, f"Inspecting `SessionDep` raised {observed.describe_error()}.")
    found = observed.value
    expect(
        found["defined"],
        "`SessionDep` is not defined.",
        "Declare an `Annotated` alias that names the session type and the dependency that provides it.",
        answer=SESSION_DEP,
    )
    expect(
        found["annotated"] and found["type_ok"],
        "`SessionDep` is not `Annotated[AsyncSession, ...]`.",
        "In an `Annotated` alias the type the route receives comes first, then the dependency that provides it.",
        answer=SESSION_DEP,
    )
    expect(
        found["depends_on"],
        "`SessionDep` does not depend on `get_session` (or get_session was defined again after it).",
        "Put `Depends(get_session)` in the alias, and define the alias after get_session in the same cell.",
        answer=SESSION_DEP,
    )


@pytest.mark.points(1)
async def test_session_writes_to_app_database(client, db):
    """a route using get_session writes to the database of the app's sessionmaker"""
    response = await client.post("/probe/authors", params={"name": "Octavia E. Butler"})
    expect(
        response.status_code == 200,
        f"A route that adds an author through get_session's session answered {response.status_code}.",
        "get_session must yield a session opened from the app's session factory, on `request.app.state`; "
        "a coroutine that returns (instead of yielding) does not give the route a session.",
        answer=GET_SESSION,
    )
    rows = db.rows("SELECT id, name FROM authors")
    expect(
        rows == [{"id": response.json()["id"], "name": "Octavia E. Butler"}],
        f"After the route committed, the app's database holds {rows}.",
        "Open the session from `request.app.state.sessionmaker`, not from an engine made elsewhere.",
        answer=GET_SESSION,
    )


@pytest.mark.points(1)
async def test_http_exception_passes_through(client, swallowed_hint, swallowed_answer):
    """an HTTPException raised in a route still answers its status through get_session"""
    response = await client.post("/probe/fail/http")
    expect(
        response.status_code == 409,
        f"A route that raised HTTPException(409) while using get_session answered {response.status_code}: "
        "the exception did not come back out of get_session.",
        swallowed_hint,
        answer=swallowed_answer,
    )
    expect(response.json() == {"detail": "probe conflict"}, f"The 409 response body was {response.text}.")
