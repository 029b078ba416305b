"""Exercise 1: make_engine and make_sessionmaker."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


async def engine_facts(ns, url):
    """Build an engine with the learner's make_engine, open two connections at once (two DBAPI connections: a
    listener on "first_connect" sets up only one of them), report what they see."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine

    if "make_engine" not in ns:
        raise NameError("name 'make_engine' is not defined")
    engine = ns["make_engine"](url)
    if not isinstance(engine, AsyncEngine):
        return {"type": type(engine).__name__}
    try:
        async with engine.connect() as connection, engine.connect() as second:
            one = await connection.scalar(text("SELECT 1"))
            foreign_keys = [await c.scalar(text("PRAGMA foreign_keys")) for c in (connection, second)]
        return {"type": "AsyncEngine", "database": engine.url.database, "one": one, "foreign_keys": foreign_keys}
    finally:
        await engine.dispose()


async def sessionmaker_facts(ns, url):
    """Build a session with the learner's make_sessionmaker and report its class, bind and settings."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    if "make_sessionmaker" not in ns:
        raise NameError("name 'make_sessionmaker' is not defined")
    engine = create_async_engine(url)
    try:
        maker = ns["make_sessionmaker"](engine)
        if not callable(maker):
            return {"maker": type(maker).__name__}
        session = maker()
        try:
            if not isinstance(session, AsyncSession):
                return {"maker": type(maker).__name__, "session": type(session).__name__}
            return {
                "maker": type(maker).__name__,
                "session": "AsyncSession",
                "bound": session.bind is engine,
                "expire_on_commit": session.sync_session.expire_on_commit,
            }
        finally:
            if isinstance(session, AsyncSession):
                await session.close()
    finally:
        await engine.dispose()


@pytest.mark.points(1)
async def test_engine_on_url(learner, db):
    """make_engine(url) returns a working AsyncEngine on that URL"""
    observed = await learner.probe(engine_facts, url=db.url)
    expect(
        observed.ok,
        f"Building an engine and connecting raised {observed.describe_error()}.",
        "make_engine must return `create_async_engine(url)` with the listener registered on it.",
    )
    facts = observed.value
    expect(
        facts["type"] == "AsyncEngine",
        f"make_engine returned a {facts['type']}, not an AsyncEngine.",
        "Use `create_async_engine` from sqlalchemy.ext.asyncio, and a plain `def` (the engine is built, not awaited).",
    )
    expect(
        facts["one"] == 1 and facts["database"] == str(db.path) and db.path.exists(),
        f"The engine does not use the URL it was given (its database is {facts['database']!r}).",
        "Pass the `url` argument to create_async_engine instead of a fixed URL.",
    )


@pytest.mark.points(1)
async def test_foreign_keys_on(learner, db):
    """the engine's connections have PRAGMA foreign_keys ON"""
    observed = await learner.probe(engine_facts, url=db.url)
    expect(observed.ok, f"Building an engine and connecting raised {observed.describe_error()}.")
    expect(
        observed.value.get("foreign_keys") == [1, 1],
        f"`PRAGMA foreign_keys` is {observed.value.get('foreign_keys')!r} on two connections of your engine, opened "
        "at once; expected 1 on each.",
        "SQLite ignores foreign keys unless every connection runs `PRAGMA foreign_keys=ON`: run it in a "
        '"connect" listener shaped like the worked example\'s, with a cursor of the DBAPI connection.',
        answer='@event.listens_for(engine.sync_engine, "connect")',
    )


@pytest.mark.points(1)
async def test_sessionmaker(learner, db):
    """make_sessionmaker(engine) makes AsyncSessions bound to the engine, expire_on_commit=False"""
    observed = await learner.probe(sessionmaker_facts, url=db.url)
    expect(observed.ok, f"`make_sessionmaker(engine)()` raised {observed.describe_error()}.")
    facts = observed.value
    expect(
        facts.get("session") == "AsyncSession",
        f"make_sessionmaker returned a {facts['maker']} whose sessions are "
        f"{facts.get('session', 'not sessions')}, not AsyncSession.",
        "Return `async_sessionmaker(engine, ...)` from sqlalchemy.ext.asyncio.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
    expect(
        facts["bound"],
        "The sessions are not bound to the engine you were given.",
        "Pass `engine` first.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
    expect(
        facts["expire_on_commit"] is False,
        "The sessions expire every attribute at commit (expire_on_commit=True, the default): reading one "
        "afterwards needs a query, which raises MissingGreenlet under asyncio.",
        "The contract names the sessionmaker's setting that keeps the values an object had at commit.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
