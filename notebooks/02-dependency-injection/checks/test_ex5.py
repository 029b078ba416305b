"""Exercise 5: create_app."""

import re

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


@pytest.fixture
def app_kwargs(db):
    """create_app(Settings(database_url=<the test database>, page_size=3)), plus the probe routes."""
    return {"database_url": db.url, "factory": "create_app", "page_size": 3, "probe_routes": True}


@pytest.mark.points(1)
async def test_sessions_use_settings_database(client, db):
    """the app's sessions write to settings.database_url"""
    response = await client.post("/probe/authors", params={"name": "Ann Leckie"})
    rows = db.rows("SELECT name FROM authors")
    expect(
        response.status_code == 200 and rows == [{"name": "Ann Leckie"}],
        f"A route using get_session on create_app(settings) answered {response.status_code}, and the database "
        f"of settings.database_url holds {rows}.",
        "Build the engine inside create_app from `settings.database_url` (the argument, not `Settings()`), "
        "and store its sessionmaker as `app.state.sessionmaker`.",
        answer="engine = make_engine(settings.database_url)",
    )


@pytest.mark.points(1)
async def test_settings_reach_dependencies(client, db):
    """get_settings sees the settings given to create_app"""
    response = await client.get("/probe/settings")
    expect(
        response.status_code == 200,
        f"A route using get_settings on create_app(settings) answered {response.status_code}.",
        "Store the settings as `app.state.settings`.",
        answer="app.state.settings = settings",
    )
    expect(
        response.json() == {"page_size": 3, "database_url": db.url},
        f"create_app(Settings(page_size=3, database_url=...)) made get_settings return {response.json()}.",
        "Store the `settings` argument itself as `app.state.settings`.",
        answer="app.state.settings = settings",
    )


@pytest.mark.points(1)
async def test_app_has_bookshop_routes(client):
    """the app includes the bookshop's routes"""
    response = await client.get("/openapi.json")
    expect(response.status_code == 200, f"GET /openapi.json answered {response.status_code}.")
    paths = response.json().get("paths", {})
    author_paths = [path for path in paths if re.fullmatch(r"/authors/\{[^}]+\}", path)]
    found = {
        "POST /authors": "post" in paths.get("/authors", {}),
        "GET /authors/{author_id}": any("get" in paths[path] for path in author_paths),
        "POST /books": "post" in paths.get("/books", {}),
        "GET /books": "get" in paths.get("/books", {}),
    }
    missing = [route for route, present in found.items() if not present]
    expect(
        not missing,
        f"The app from create_app has no {', '.join(missing)}.",
        "The routes of an `APIRouter` reach an app only once the app includes the router.",
        answer="app.include_router(router)",
    )
