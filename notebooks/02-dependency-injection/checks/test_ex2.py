"""Exercise 2: get_session and SessionDep."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

SWALLOWED = (
    "get_session must let the route's exceptions through: no `except` around `yield` without `raise`. "
    "`async with sessionmaker() as session: yield session` is all it takes."
)


@pytest.fixture
def app_kwargs(db):
    """A plain app whose state holds a session factory on the test database, and the probe routes."""
    return {
        "database_url": db.url,
        "factory": "bare",
        "with_settings": False,
        "include_router": False,
        "probe_routes": True,
    }


async def describe_session_dep(ns):
    import typing

    alias = ns.get("SessionDep")
    if alias is None:
        return {"defined": False}
    metadata = getattr(alias, "__metadata__", ())
    dependency = next((getattr(m, "dependency", None) for m in metadata if hasattr(m, "dependency")), None)
    from sqlalchemy.ext.asyncio import AsyncSession

    return {
        "defined": True,
        "annotated": typing.get_origin(alias) is typing.Annotated,
        "type_ok": bool(metadata) and typing.get_args(alias)[0] is AsyncSession,
        "depends_on_get_session": dependency is not None and dependency is ns.get("get_session"),
    }


@pytest.mark.points(1)
async def test_session_dep_alias(learner):
    """SessionDep is Annotated[AsyncSession, Depends(get_session)]"""
    observed = await learner.probe(describe_session_dep)
    expect(observed.ok, f"Inspecting `SessionDep` raised {observed.describe_error()}.")
    found = observed.value
    expect(
        found["defined"], "`SessionDep` is not defined.", "SessionDep = Annotated[AsyncSession, Depends(get_session)]"
    )
    expect(
        found["annotated"] and found["type_ok"],
        "`SessionDep` is not `Annotated[AsyncSession, ...]`.",
        "SessionDep = Annotated[AsyncSession, Depends(get_session)]",
    )
    expect(
        found["depends_on_get_session"],
        "`SessionDep` does not depend on `get_session` (or get_session was defined again after it).",
        "Put `Depends(get_session)` in the alias, and define the alias after get_session in the same cell.",
    )


@pytest.mark.points(1)
async def test_session_writes_to_app_database(client, db):
    """a route using get_session writes to the database of the app's sessionmaker"""
    response = await client.post("/probe/authors", params={"name": "Octavia E. Butler"})
    expect(
        response.status_code == 200,
        f"A route that adds an author through get_session's session answered {response.status_code}.",
        "get_session must yield an AsyncSession from `request.app.state.sessionmaker()`; "
        "a coroutine that returns (instead of yielding) does not give the route a session.",
    )
    rows = db.rows("SELECT id, name FROM authors")
    expect(
        rows == [{"id": response.json()["id"], "name": "Octavia E. Butler"}],
        f"After the route committed, the app's database holds {rows}.",
        "Open the session from `request.app.state.sessionmaker`, not from an engine made elsewhere.",
    )


@pytest.mark.points(1)
async def test_http_exception_passes_through(client):
    """an HTTPException raised in a route still answers its status through get_session"""
    response = await client.post("/probe/fail/http")
    expect(
        response.status_code == 409,
        f"A route that raised HTTPException(409) while using get_session answered {response.status_code}: "
        "the exception did not come back out of get_session.",
        SWALLOWED,
    )
    expect(response.json() == {"detail": "probe conflict"}, f"The 409 response body was {response.text}.")
