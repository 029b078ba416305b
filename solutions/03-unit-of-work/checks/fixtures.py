"""Chapter 03 fixtures: the learner's routes on a plain app, the tables, seeding, calling services, and
the scenarios a unit of work is put through (``unit_of_work``).

``build_app`` runs in the learner's process: a plain ``FastAPI()`` whose ``app.state`` holds what
``create_app`` would put there (settings, engine, sessionmaker on the test database) and the
learner's ``router``, so the routes are checked without relying on anything but exercise 4. With
``commit_fails=True`` the sessionmaker makes sessions whose ``commit()`` raises, as a full disk or a
lock timeout would.
"""

import pytest

from grader.checks import bookshop
from grader.checks import fixtures as shared


async def build_app(ns, database_url, commit_fails=False):
    """Probe run in the learner's process: the app under test, with its tables created."""
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    for name in ("Base", "make_engine", "make_sessionmaker", "Settings"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run the provided cells at the top)")
    if "router" not in ns:
        raise NameError("name 'router' is not defined")
    engine = ns["make_engine"](database_url)
    async with engine.begin() as connection:
        await connection.run_sync(ns["Base"].metadata.create_all)
    app = FastAPI()
    app.state.settings = ns["Settings"](database_url=database_url)
    app.state.engine = engine
    if commit_fails:

        class CommitFails(AsyncSession):
            async def commit(self):
                raise RuntimeError("the database could not commit (a failure injected by the check)")

        app.state.sessionmaker = async_sessionmaker(engine, class_=CommitFails, expire_on_commit=False)
    else:
        app.state.sessionmaker = ns["make_sessionmaker"](engine)
    app.include_router(ns["router"])
    return app


async def service_probe(ns, database_url, name, args):
    """Probe: call a service with a new UnitOfWork on the test database; the result or exception as data."""
    import sqlalchemy

    for needed in (name, "UnitOfWork", "make_engine", "make_sessionmaker"):
        if needed not in ns:
            raise NameError(f"name {needed!r} is not defined")

    def plain(obj):
        try:
            state = sqlalchemy.inspect(obj)
            values = dict(state.dict)
        except Exception:
            return {"type": type(obj).__name__, "repr": repr(obj)[:100]}
        found = {
            "type": type(obj).__name__,
            "id": values.get("id"),
            "customer_id": values.get("customer_id"),
            "expired": bool(state.expired_attributes),
        }
        lines = values.get("lines")
        if lines is None:
            found["lines"] = None
        else:
            found["lines"] = [
                [sqlalchemy.inspect(line).dict.get("book_id"), sqlalchemy.inspect(line).dict.get("quantity")]
                for line in lines
            ]
        return found

    args = [[tuple(item) for item in arg] if isinstance(arg, list) else arg for arg in args]
    engine = ns["make_engine"](database_url)
    try:
        uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
        try:
            result = await ns[name](uow, *args)
        except Exception as exc:
            answer = {"raised": type(exc).__name__, "message": str(exc)[:200], "value": None}
        else:
            answer = {"raised": None, "message": "", "value": plain(result)}
        answer["checked_out"] = engine.pool.checkedout()
        return answer
    finally:
        await engine.dispose()


@pytest.fixture
def call_service(learner, db):
    """``await call_service("place_order", 1, [[1, 2]])``: what the service returned or raised, as data."""

    async def call(name, *args):
        return await learner.probe(service_probe, database_url=db.url, name=name, args=list(args))

    return call


@pytest.fixture
def app_probe():
    return build_app


tables = shared.tables_fixture("the models")


def seed_shop(db):
    """A small shop: one author, three books (stock 5, 1 and 2), two customers, one earlier order."""
    bookshop.insert(
        db,
        authors=bookshop.SHOP_AUTHORS,
        books=[(1, "Kindred", 999, 5, 1), (2, "Parable of the Sower", 1099, 1, 1), (3, "Dawn", 899, 2, 1)],
        customers=[(1, "Ada"), (2, "Grace")],
        orders=[(1, 2)],
        lines=[(1, 1, 3, 1)],
    )


@pytest.fixture
def seeder():
    """``seeder(db, authors=..., books=..., customers=..., orders=..., lines=...)``: rows written from the grader
    side; customers are (id, name) in this chapter."""
    return bookshop.insert


@pytest.fixture
def shop():
    """``shop(db)`` seeds the small shop of ``seed_shop``."""
    return seed_shop


# -- exercise 2: the unit of work, put through scenarios -------------------------------------------------


async def uow_scenario(ns, database_url, scenario):
    """Probe: enter a UnitOfWork, write an author through uow.session and flush, then follow ``scenario``:

    "commit" commits; "raise" raises ProbeError inside the block; "leave" just leaves;
    "commit-then-write" commits, then writes and flushes a second author without committing;
    "rollback-then-write" rolls back, then writes a second author and commits;
    "nested" enters the same unit of work again inside the block, then commits; after the block it
    reads ``uow.session`` and enters once more.

    Right after the block, ``checkpoint`` has the grader look from outside for a transaction left open.
    """
    from grader.checks.bookshop import checkpoint, close_session

    for name in ("UnitOfWork", "make_engine", "make_sessionmaker", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    async with engine.begin() as connection:
        await connection.run_sync(ns["Base"].metadata.create_all)
    author = ns["Author"]

    class ProbeError(Exception):
        pass

    uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
    seen = {"entered": False, "same": None, "repositories": None, "session": None, "came_out": None}
    try:
        try:
            async with uow as entered:
                seen["entered"] = True
                seen["same"] = entered is uow
                seen["repositories"] = {
                    name: type(getattr(uow, name, None)).__name__ for name in ("customers", "books", "orders")
                }
                seen["session"] = type(getattr(uow, "session", None)).__name__
                session = uow.session
                session.add(author(name="written inside the unit of work"))
                await session.flush()
                if scenario == "commit":
                    await uow.commit()
                elif scenario == "raise":
                    raise ProbeError("raised inside the unit of work")
                elif scenario == "commit-then-write":
                    await uow.commit()
                    session.add(author(name="written after commit"))
                    await session.flush()
                elif scenario == "rollback-then-write":
                    await uow.rollback()
                    session.add(author(name="written after rollback"))
                    await session.flush()
                    await uow.commit()
                elif scenario == "nested":
                    try:
                        async with uow:
                            seen["nested"] = "entered"
                    except Exception as exc:
                        seen["nested"] = type(exc).__name__
                    seen["same_session_after_nesting"] = uow.session is session
                    await uow.commit()
        except ProbeError:
            seen["came_out"] = "ProbeError"
        except Exception as exc:
            seen["came_out"] = f"{type(exc).__name__}: {exc}"[:300]
        seen["checked_out"] = engine.pool.checkedout()
        await checkpoint(database_url)
        if scenario == "nested" and seen["came_out"] is None:
            seen["session_after_block"] = repr(getattr(uow, "session", "missing"))[:80]
            try:  # closed, it opens again
                async with uow:
                    pass
                seen["entered_again"] = "ok"
            except Exception as exc:
                seen["entered_again"] = f"{type(exc).__name__}: {exc}"[:300]
        return seen
    finally:
        await close_session(uow)
        await engine.dispose()


@pytest.fixture
def unit_of_work(learner, db):
    """``await unit_of_work("commit")``: what a UnitOfWork on the test database did in a scenario of
    ``uow_scenario``, as an observation."""

    async def run(scenario):
        return await learner.probe(uow_scenario, database_url=db.url, scenario=scenario)

    return run


# -- exercise 4: who commits, read from the submitted source ----------------------------------------------

# The services a route calls: they own the transaction and commit; everything else a route runs may not.
SERVICES = ("place_order", "get_order")


def commits_in_routes(program):
    """The routes of `router`, and those whose function or dependencies call `.commit`, themselves or through
    the learner's helpers: read from the submitted source, so a helper or a patched inspector hides nothing."""
    found = []
    routes = program.routes("router")
    for route in routes:
        parts = [("route", route.function)] + [("dependency", name) for name in program.route_dependencies(route)]
        for kind, name in parts:
            if "commit" in program.names(name, follow=True, skip=SERVICES):
                found.append({"route": route.label, "kind": kind, "name": name})
    return {"routes": [route.label for route in routes], "found": found, "unparsed": program.unparsed}


@pytest.fixture
def route_commits(learner):
    """What ``commits_in_routes`` finds in the learner's cells: the routes of `router`, and which route functions
    or dependencies call `.commit`."""
    return commits_in_routes(learner.program())
