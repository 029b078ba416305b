import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


# Which dependency each test overrides (a plain table: custom markers would warn in a notebook).
OVERRIDES = {"test_routes_use_overridden_session": "session", "test_routes_use_overridden_settings": "settings"}


@pytest.fixture
def app_kwargs(request, db, other_db):
    """A plain app built on the other database, whose dependencies a test overrides to the test database."""
    override = OVERRIDES[request.function.__name__]
    return {"database_url": db.url, "factory": "bare", "other_url": other_db.url, "override": override}


@pytest.mark.points(1)
async def test_routes_use_overridden_session(client, db, other_db, seeder):
    """with get_session overridden, the routes read and write the override's database"""
    response = await client.post("/authors", json={"name": "Becky Chambers"})
    expect(
        db.rows("SELECT name FROM authors") == [{"name": "Becky Chambers"}],
        f"With get_session overridden to a test database, POST /authors answered {response.status_code} "
        "and its author is not in the test database"
        + (" (it went to the app's own database)." if other_db.rows("SELECT * FROM authors") else "."),
        "Routes must take their session from `SessionDep`, so that an override of get_session reaches them; "
        "a module-level engine or sessionmaker ignores it.",
    )
    author_id = db.rows("SELECT id FROM authors")[0]["id"]
    seeder(db, books=[(51, "A Closed and Common Orbit", 1400, 2, author_id)])
    books = await client.get("/books")
    expect(
        books.status_code == 200 and [b.get("title") for b in books.json()] == ["A Closed and Common Orbit"],
        f"With get_session overridden to a test database holding one book, GET /books answered "
        f"{books.status_code} {books.text[:200]}.",
        "GET /books must read through `SessionDep` too.",
    )


@pytest.mark.points(1)
async def test_routes_use_overridden_settings(client, other_db, seeder):
    """with get_settings overridden, GET /books follows the override's page_size"""
    seeder(
        other_db,
        authors=[(41, "Ted Chiang")],
        books=[(42, "Liking What You See", 900, 1, 41), (41, "Hell Is the Absence of God", 800, 1, 41)],
    )
    response = await client.get("/books")
    expect(response.status_code == 200, f"GET /books answered {response.status_code}.")
    titles = [book.get("title") for book in response.json()]
    expect(
        set(titles) <= {"Liking What You See", "Hell Is the Absence of God"} and titles,
        f"GET /books returned {titles}, not the books in the app's database.",
        "Routes must take their session from `SessionDep`; a module-level engine or sessionmaker reads "
        "another database than the app's.",
    )
    expect(
        titles == ["Hell Is the Absence of God"],
        f"With get_settings overridden to page_size 1, GET /books returned {titles}.",
        "Read the page size from a `settings: SettingsDep` parameter on every request, "
        "not from a `Settings()` made when the cell ran.",
        answer="books = await list_books(session, limit=settings.page_size)",
    )


async def spy_on_services(ns, database_url):
    """Wrap the four services in spies, call each route once, restore the services; the calls per route."""
    import httpx
    from fastapi import FastAPI

    services = ["create_author", "get_author", "create_book", "list_books"]
    needed = [*services, "router", "Settings", "make_engine", "make_sessionmaker", "Base"]
    missing = [name for name in needed if name not in ns]
    if missing:
        raise NameError(f"not defined: {', '.join(missing)}")
    originals = {name: ns[name] for name in services}
    calls = []

    def spy(name):
        original = originals[name]

        async def wrapper(*args, **kwargs):
            calls.append(name)
            return await original(*args, **kwargs)

        return wrapper

    engine = ns["make_engine"](database_url)
    seen = {}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
        app = FastAPI()
        app.state.engine = engine
        app.state.sessionmaker = ns["make_sessionmaker"](engine)
        app.state.settings = ns["Settings"](database_url=database_url, page_size=5)
        app.include_router(ns["router"])
        for name in services:
            ns[name] = spy(name)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            book = {"title": "Stories of Your Life", "price_cents": 1500, "stock": 1, "author_id": 1}
            for label, method, url, body in [
                ("POST /authors", "POST", "/authors", {"name": "Ted Chiang"}),
                ("GET /authors/{author_id}", "GET", "/authors/1", None),
                ("POST /books", "POST", "/books", book),
                ("GET /books", "GET", "/books", None),
            ]:
                calls.clear()
                response = await client.request(method, url, json=body)
                seen[label] = {"status": response.status_code, "calls": list(calls)}
    finally:
        ns.update(originals)
        await engine.dispose()
    return seen


@pytest.mark.points(1)
async def test_routes_call_services(learner, db):
    """each route calls its service instead of doing the work itself"""
    observed = await learner.probe(spy_on_services, database_url=db.url)
    expect(observed.ok, f"Calling the routes raised {observed.describe_error()}.")
    expected = {
        "POST /authors": "create_author",
        "GET /authors/{author_id}": "get_author",
        "POST /books": "create_book",
        "GET /books": "list_books",
    }
    for route, service in expected.items():
        seen = observed.value[route]
        expect(
            service in seen["calls"],
            f"{route} answered {seen['status']} without calling `{service}`.",
            "Keep routes thin: the route calls the service, the service talks to the session. "
            "Rules written in the route are not applied when the service is used elsewhere.",
        )
