"""Exercise 6: use_database."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")


async def write_after_use_database(ns, app_url, test_url):
    """An app built on app_url, pointed at test_url with use_database; a route on SessionDep writes once."""
    from typing import Annotated, Any

    import httpx
    from fastapi import Depends

    from grader.checks.bookshop import create_tables, dispose_engines

    for name in ("create_app", "Settings", "use_database", "make_engine", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    for url in (app_url, test_url):
        await create_tables(ns, url)

    alias = ns.get("SessionDep")
    used = next((m.dependency for m in getattr(alias, "__metadata__", ()) if hasattr(m, "dependency")), None)
    used = used or ns.get("get_session")
    app = ns["create_app"](ns["Settings"](database_url=app_url))
    author_model = ns["Author"]

    async def add_author(name, session: Annotated[Any, Depends(used)]):
        session.add(author_model(name=name))
        await session.commit()
        return {"ok": True}

    app.add_api_route("/probe/authors", add_author, methods=["POST"])
    try:
        ns["use_database"](app, test_url)
        keys = []
        for key in app.dependency_overrides:
            if key is used:
                keys.append("the dependency")
            elif alias is not None and key is alias:
                keys.append("the alias")
            elif getattr(key, "__name__", None) == getattr(used, "__name__", None):
                keys.append("a copy")
            else:
                keys.append(repr(key)[:80])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/probe/authors", params={"name": "written after use_database"})
    finally:
        await dispose_engines(app)
    return {"keys": keys, "status": response.status_code}


@pytest.mark.points(1)
async def test_use_database_redirects_sessions(learner, db, other_db):
    """after use_database(app, url) the app's routes write to url"""
    observed = await learner.probe(write_after_use_database, app_url=other_db.url, test_url=db.url)
    expect(observed.ok, f"`use_database(app, url)` raised {observed.describe_error()}.")
    keys = observed.value["keys"]
    written = [row["name"] for row in db.rows("SELECT name FROM authors")]
    if written:
        return expect(not other_db.rows("SELECT * FROM authors"), "use_database also wrote to the app's own database.")
    answer = "app.dependency_overrides[get_session] = get_test_session"
    if "the alias" in keys:
        cause = "the override is keyed on the `SessionDep` alias, which FastAPI never looks up"
        hint = "Key it on the function the alias depends on, not on the alias."
    elif "a copy" in keys:
        cause = "the override is keyed on a get_session defined again, not the one SessionDep (and the routes) use"
        hint = "Do not redefine get_session in this cell; key the override on the original function."
    elif not keys:
        cause = "`app.dependency_overrides` is empty"
        hint = "`app.dependency_overrides` maps a dependency to the function that stands in for it: add get_session."
    else:
        cause = f"the override answered {observed.value['status']}"
        hint = "The override must be an async generator function that yields a session on `database_url`."
        answer = "async with sessionmaker() as session: yield session"
    expect(
        False,
        f"After use_database(app, url), a route using SessionDep did not write to url: {cause}.",
        hint,
        answer=answer,
    )
