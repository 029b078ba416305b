import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")


async def use_database_on_one_of_two(ns, first_url, second_url, test_url):
    """Two apps; use_database on the first only; each writes once. Also: did the first app's state change?"""
    from typing import Annotated, Any

    import httpx
    from fastapi import Depends

    from grader.checks.bookshop import create_tables, dispose_engines

    for name in ("create_app", "Settings", "use_database", "make_engine", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    for url in (first_url, second_url, test_url):
        await create_tables(ns, url)

    alias = ns.get("SessionDep")
    used = next((m.dependency for m in getattr(alias, "__metadata__", ()) if hasattr(m, "dependency")), None)
    used = used or ns.get("get_session")
    author_model = ns["Author"]

    async def add_author(name, session: Annotated[Any, Depends(used)]):
        session.add(author_model(name=name))
        await session.commit()
        return {"ok": True}

    first = ns["create_app"](ns["Settings"](database_url=first_url))
    second = ns["create_app"](ns["Settings"](database_url=second_url))
    state_before = dict(vars(first.state).get("_state", {}))
    seen = {}
    try:
        ns["use_database"](first, test_url)
        seen["state_kept"] = all(getattr(first.state, key, None) is value for key, value in state_before.items())
        for label, app in (("first", first), ("second", second)):
            app.add_api_route("/probe/authors", add_author, methods=["POST"])
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.post("/probe/authors", params={"name": f"written through the {label} app"})
            seen[label] = response.status_code
    finally:
        await dispose_engines(first, second)
    return seen


@pytest.mark.points(1)
async def test_use_database_changes_only_that_app(learner, db, other_db):
    """use_database changes only the app it is given, and only through an override"""
    third = db.sibling("third")
    observed = await learner.probe(
        use_database_on_one_of_two, first_url=other_db.url, second_url=third.url, test_url=db.url
    )
    expect(observed.ok, f"`use_database(app, url)` raised {observed.describe_error()}.")
    in_test = [row["name"] for row in db.rows("SELECT name FROM authors")]
    in_second = [row["name"] for row in third.rows("SELECT name FROM authors")]
    expect(
        in_test == ["written through the first app"],
        f"After use_database(first_app, url), the database at url holds {in_test}.",
        "The override goes into the given app's `dependency_overrides`, keyed on get_session. "
        "If the second app's rows are there too, create_app returns a shared app.",
        answer="app.dependency_overrides[get_session] = get_test_session",
    )
    expect(
        in_second == ["written through the second app"],
        f"use_database on one app changed another app: the second app's own database holds {in_second}.",
        "Change only `app.dependency_overrides` of the app you are given; do not touch module-level state.",
    )
    expect(
        observed.value["state_kept"],
        "use_database replaced something in `app.state`.",
        "Leave app.state alone: an override is enough, and keeps the app's own engine for later.",
    )
