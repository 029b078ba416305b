import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


async def two_apps(ns, first_url, second_url):
    """Two apps from create_app; write through each, override a dependency on the first only."""
    from typing import Annotated, Any

    import httpx
    from fastapi import Depends

    from grader.checks.bookshop import create_tables, dispose_engines

    for name in ("create_app", "Settings", "make_engine", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")

    def dependency(alias_name, function_name):
        for meta in getattr(ns.get(alias_name), "__metadata__", ()):
            if callable(getattr(meta, "dependency", None)):
                return meta.dependency
        return ns[function_name]

    for url in (first_url, second_url):
        await create_tables(ns, url)

    settings = ns["Settings"]
    first = ns["create_app"](settings(database_url=first_url, page_size=4))
    second = ns["create_app"](settings(database_url=second_url, page_size=6))
    get_session = dependency("SessionDep", "get_session")
    get_settings = dependency("SettingsDep", "get_settings")
    author_model = ns["Author"]

    async def add_author(name, session: Annotated[Any, Depends(get_session)]):
        session.add(author_model(name=name))
        await session.commit()
        return {"ok": True}

    async def page_size(settings: Annotated[Any, Depends(get_settings)]):
        return {"page_size": settings.page_size}

    seen = {"same_app": first is second}
    try:
        for app in (first, second):
            app.add_api_route("/probe/authors", add_author, methods=["POST"])
            app.add_api_route("/probe/page-size", page_size, methods=["GET"])
        first.dependency_overrides[get_settings] = lambda: settings(database_url=first_url, page_size=9)
        for label, app in (("first", first), ("second", second)):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                written = await client.post("/probe/authors", params={"name": f"written through the {label} app"})
                size = await client.get("/probe/page-size")
            seen[label] = {
                "write": written.status_code,
                "page_size": size.json().get("page_size") if size.status_code == 200 else size.status_code,
            }
    finally:
        await dispose_engines(first, second)
    return seen


@pytest.mark.points(2)
async def test_two_apps_share_no_state(learner, db, other_db):
    """two apps from create_app share no database, settings or overrides"""
    observed = await learner.probe(two_apps, first_url=db.url, second_url=other_db.url)
    expect(observed.ok, f"Building two apps with create_app raised {observed.describe_error()}.")
    seen = observed.value
    hint = (
        "create_app must make everything anew on each call: `app = FastAPI(...)`, the engine and the "
        "sessionmaker inside the function, nothing cached at module level."
    )
    expect(
        not seen["same_app"],
        "create_app returned the same app object twice: both apps share state, routes and overrides.",
        hint,
    )
    first_rows = [row["name"] for row in db.rows("SELECT name FROM authors")]
    second_rows = [row["name"] for row in other_db.rows("SELECT name FROM authors")]
    expect(
        first_rows == ["written through the first app"] and second_rows == ["written through the second app"],
        f"Two apps built with different database URLs wrote {first_rows} to the first database and "
        f"{second_rows} to the second: they share an engine or sessionmaker.",
        hint,
    )
    expect(
        seen["second"]["page_size"] == 6,
        f"The second app (page_size 6) saw page_size {seen['second']['page_size']} after the first app's "
        "get_settings was overridden: the apps share settings or overrides.",
        hint,
    )


async def shutdown_releases_connections(ns, database_url):
    """Run the app's lifespan around a query; the pooled connections before and after shutdown."""
    from sqlalchemy import text

    for name in ("create_app", "Settings"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    app = ns["create_app"](ns["Settings"](database_url=database_url))
    engine = getattr(app.state, "engine", None)
    sessionmaker = getattr(app.state, "sessionmaker", None)
    if engine is None or sessionmaker is None:
        return {"state": False}
    try:
        async with app.router.lifespan_context(app):
            async with sessionmaker() as session:
                await session.execute(text("SELECT 1"))
            during = engine.pool.checkedin()
        after = engine.pool.checkedin()
    finally:
        await engine.dispose()
    return {"state": True, "during": during, "after": after}


@pytest.mark.points(1)
async def test_shutdown_disposes_engine(learner, db):
    """the app's lifespan disposes its engine at shutdown"""
    observed = await learner.probe(shutdown_releases_connections, database_url=db.url)
    expect(observed.ok, f"Starting and stopping the app from create_app raised {observed.describe_error()}.")
    expect(
        observed.value["state"],
        "The app from create_app has no `app.state.engine` or `app.state.sessionmaker`.",
        "Store them on `app.state` as the contract says.",
    )
    expect(
        observed.value["after"] == 0,
        f"After the app shut down, its engine still held {observed.value['after']} open connection(s).",
        "Give FastAPI a lifespan that disposes of the engine after its `yield`: code there runs at shutdown.",
        answer="await engine.dispose()",
    )
