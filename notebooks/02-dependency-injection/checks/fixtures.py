"""Chapter 02 fixtures: how the checks build the learner's app, and a second database.

``build_app`` runs in the learner's process. Rows the app writes must land in ``database_url``;
``other_url`` is a second database that must stay untouched. Tests choose the variant through
their ``app_kwargs``:

- ``factory="create_app"``: ``create_app(Settings(database_url=..., page_size=...))``;
- ``factory="bare"``: a plain ``FastAPI()`` whose ``app.state`` holds what ``create_app`` would put
  there (settings, engine, sessionmaker), so routes and dependencies are checked without relying
  on the learner's ``create_app``; with ``other_url`` the state points at the other database and
  ``override`` ("session" or "settings") sends the request's dependencies where they belong.

``probe_routes=True`` adds routes under ``/probe`` that depend on the learner's ``get_session``
and ``get_settings`` (the functions ``SessionDep``/``SettingsDep`` point at).
"""

import pytest

from grader.checks import bookshop
from grader.checks import fixtures as shared


async def build_app(
    ns,
    database_url,
    factory="create_app",
    page_size=20,
    other_url=None,
    include_router=True,
    with_settings=True,
    probe_routes=False,
    override=None,
    override_page_size=1,
):
    """Probe run in the learner's process: the app under test, with its tables created."""
    from typing import Annotated, Any

    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import JSONResponse

    from grader.checks.bookshop import create_tables

    for name in ("Base", "Author", "make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run the provided cells at the top)")

    def dependency(alias_name, function_name):
        """The function a learner's alias depends on, else the function of that name."""
        for meta in getattr(ns.get(alias_name), "__metadata__", ()):
            if callable(getattr(meta, "dependency", None)):
                return meta.dependency
        if function_name not in ns:
            raise NameError(f"name {function_name!r} is not defined")
        return ns[function_name]

    for url in filter(None, (database_url, other_url)):
        await create_tables(ns, url)

    if factory == "create_app":
        if "create_app" not in ns or "Settings" not in ns:
            raise NameError("`create_app` or `Settings` is not defined")
        app = ns["create_app"](ns["Settings"](database_url=database_url, page_size=page_size))
    else:
        needed = ["Settings"] if with_settings else []
        missing = [name for name in needed + (["router"] if include_router else []) if name not in ns]
        if missing:
            raise NameError(f"name {missing[0]!r} is not defined")
        own_url = other_url or database_url
        app = FastAPI()
        app.state.engine = ns["make_engine"](own_url)
        app.state.sessionmaker = ns["make_sessionmaker"](app.state.engine)
        if with_settings:
            app.state.settings = ns["Settings"](database_url=own_url, page_size=page_size)
        if include_router:
            app.include_router(ns["router"])
        if override == "session":
            test_sessions = ns["make_sessionmaker"](ns["make_engine"](database_url))

            async def session_on_test_database():
                async with test_sessions() as session:
                    yield session

            app.dependency_overrides[dependency("SessionDep", "get_session")] = session_on_test_database
        elif override == "settings":
            overridden = ns["Settings"](database_url=database_url, page_size=override_page_size)
            app.dependency_overrides[dependency("SettingsDep", "get_settings")] = lambda: overridden

    if probe_routes:
        # No annotations below: probes are compiled with postponed annotations, which FastAPI
        # would try to resolve in the probe's module. Defaults carry the dependencies instead.
        author_model = ns["Author"]
        get_session = dependency("SessionDep", "get_session")

        class ProbeError(Exception):
            pass

        async def on_probe_error(request, exc):
            return JSONResponse({"handled": True}, status_code=418)

        async def add_author(name, session: Annotated[Any, Depends(get_session)]):
            author = author_model(name=name)
            session.add(author)
            await session.commit()
            return {"id": author.id}

        async def fail(how, session: Annotated[Any, Depends(get_session)]):
            session.add(author_model(name="written by a request that failed"))
            await session.flush()
            if how == "http":
                raise HTTPException(status_code=409, detail="probe conflict")
            raise ProbeError()

        async def pool():
            engine = getattr(app.state, "engine", None)
            return {"checked_out": engine.pool.checkedout() if engine is not None else None}

        app.add_exception_handler(ProbeError, on_probe_error)
        app.add_api_route("/probe/authors", add_author, methods=["POST"])
        app.add_api_route("/probe/fail/{how}", fail, methods=["POST"])
        app.add_api_route("/probe/pool", pool, methods=["GET"])
        if with_settings:
            get_settings = dependency("SettingsDep", "get_settings")

            async def settings_seen(settings: Annotated[Any, Depends(get_settings)]):
                return {"page_size": settings.page_size, "database_url": settings.database_url}

            app.add_api_route("/probe/settings", settings_seen, methods=["GET"])
    return app


async def service_probe(ns, database_url, name, args, kwargs):
    """Probe: call a service function with a fresh session on the test database; plain data back."""
    import sqlalchemy

    if name not in ns:
        raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
        async with ns["make_sessionmaker"](engine)() as session:
            try:
                result = await ns[name](session, *args, **kwargs)
            except Exception as exc:
                bases = [cls.__name__ for cls in type(exc).__mro__]
                return {"raised": type(exc).__name__, "message": str(exc), "http": "HTTPException" in bases}

            def plain(obj):
                try:
                    state = sqlalchemy.inspect(obj)
                    columns = state.mapper.column_attrs
                except Exception:
                    return repr(obj)
                return {"type": type(obj).__name__} | {column.key: state.dict.get(column.key) for column in columns}

            value = [plain(item) for item in result] if isinstance(result, list | tuple) else plain(result)
            return {"raised": None, "value": value}
    finally:
        await engine.dispose()


@pytest.fixture
def call_service(learner, db):
    """``await call_service("get_author", 1)``: the service's return value or exception, as data."""

    async def call(name, *args, **kwargs):
        return await learner.probe(service_probe, database_url=db.url, name=name, args=list(args), kwargs=kwargs)

    return call


@pytest.fixture
def app_probe():
    return build_app


@pytest.fixture
def other_db(db):
    """A second database file beside the test's own, which the learner's code must leave alone."""
    return db.sibling("other")


tables = shared.tables_fixture("chapter 01's models", require=False)


@pytest.fixture
def seeder():
    """``seeder(db, authors=[(id, name)], books=[(id, title, price_cents, stock, author_id)])``: rows written
    from the grader side."""
    return bookshop.insert


# -- exercise 2: get_session, checked on a plain app with the probe routes -------------------------------


@pytest.fixture
def session_app_kwargs(db):
    """A plain app whose state holds a session factory on the test database, and the probe routes."""
    return {
        "database_url": db.url,
        "factory": "bare",
        "with_settings": False,
        "include_router": False,
        "probe_routes": True,
    }


@pytest.fixture
def swallowed_hint() -> str:
    """The hint for a route's exception that did not come back out of get_session."""
    return (
        "get_session must let the route's exceptions through: no `except` around `yield` without `raise`. "
        "An `async with` block around the `yield` is all it takes."
    )


@pytest.fixture
def swallowed_answer() -> str:
    """The key line for a route's exception that did not come back out of get_session."""
    return "async with request.app.state.sessionmaker() as session: yield session"
