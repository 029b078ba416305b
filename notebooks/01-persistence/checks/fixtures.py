"""Chapter 01 fixtures: a fresh bookshop database in which to call one of the learner's functions.

The probes below run in the learner's process: one creates the learner's tables and the test's rows;
the other builds its own engine (foreign keys on) and its own ``async_sessionmaker(expire_on_commit=False)``,
so exercises 3 and 4 are checked even when exercise 1 is not finished, and records what a call did: the
value or the exception, and how many connections were still checked out of the pool when it returned.
The SQL statements the call sent are counted by the grader, outside the learner's process.
"""

from typing import Any

import pytest


async def seed_bookshop(ns, url, seed):
    """Probe: create the learner's tables and run ``seed`` (SQL, parameters) on the test database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    if "Base" not in ns:
        raise NameError("name 'Base' is not defined")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
            for statement, parameters in seed:
                await connection.execute(text(statement), parameters)
    finally:
        await engine.dispose()


async def run_in_bookshop(ns, url, function, args):
    """Probe: ``function(sessionmaker, *args)`` on the seeded database. The statements it sent are counted
    by the grader (``Observation.statements``): a probe of its own would be seen only by its own eyes."""
    import gc

    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    if function not in ns:
        raise NameError(f"name {function!r} is not defined")
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def foreign_keys_on(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    try:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        # A session that is never closed gives its connection back only when the garbage collector
        # finds it: keep the collector off while counting, so a leak is seen every time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                value, error = await ns[function](sessionmaker, *args), None
            except Exception as exc:
                value, error = None, {"type": type(exc).__name__, "message": str(exc)[:500]}
            checked_out = engine.pool.checkedout()
        finally:
            if collecting:
                gc.enable()
    finally:
        await engine.dispose()
    items = value if isinstance(value, list | tuple) else []
    return {
        "value": value,
        "type": type(value).__name__,
        "item_types": sorted({type(item).__name__ for item in items}),
        "error": error,
        "checked_out": checked_out,
    }


async def run_create_schema(ns, url):
    """Probe: call the learner's create_schema with a fresh engine on the test database."""
    from sqlalchemy.ext.asyncio import create_async_engine

    if "create_schema" not in ns:
        raise NameError("name 'create_schema' is not defined")
    engine = create_async_engine(url)
    try:
        await ns["create_schema"](engine)
    finally:
        await engine.dispose()


class Call:
    """What one call of a learner function did in the bookshop database."""

    def __init__(self, expression: str, answer: dict[str, Any], statements: list[str]) -> None:
        self.expression = expression
        self.statements = statements
        self.value = answer["value"]
        self.type = answer["type"]
        self.item_types = answer["item_types"]
        self.error = answer["error"]
        self.checked_out = answer["checked_out"]

    @property
    def ok(self) -> bool:
        return self.error is None

    def raised(self, type_name: str) -> bool:
        return self.error is not None and self.error["type"] == type_name

    def describe_error(self) -> str:
        if self.error is None:
            return ""
        if self.error["type"] == "NotImplementedError" and not self.error["message"]:
            return "NotImplementedError (the exercise is not written yet)"
        return f"{self.error['type']}: {self.error['message']}"


class Bookshop:
    """Calls ``function(sessionmaker, *args)`` in a fresh, seeded bookshop database (one per test)."""

    def __init__(self, learner: Any, db: Any) -> None:
        self.learner = learner
        self.db = db

    async def call(self, function: str, *args: Any, seed: list[tuple[str, dict[str, Any]]] = ()) -> Call:
        expression = f"await {function}(sessionmaker{''.join(f', {a!r}' for a in args)})"
        seeded = await self.learner.probe(seed_bookshop, url=self.db.url, seed=[list(s) for s in seed])
        if not seeded.ok:
            raise _setup_failure(expression, seeded.describe_error())
        observed = await self.learner.probe(run_in_bookshop, url=self.db.url, function=function, args=list(args))
        if not observed.ok:
            raise _setup_failure(expression, observed.describe_error())
        return Call(expression, observed.value, observed.statements)

    async def create_schema(self) -> Any:
        """What ``await create_schema(engine)`` did (an observation), with a fresh engine on the test database."""
        return await self.learner.probe(run_create_schema, url=self.db.url)


def _setup_failure(expression: str, error: str) -> AssertionError:
    from grader.checks import CheckFailure

    return CheckFailure(
        f"Could not call `{expression}` on a fresh bookshop database: {error}",
        "Run the cells of exercises 2 to 4 without errors: the checks need `Base`, `Author`, `Book` and your function.",
    )


@pytest.fixture
def bookshop(learner, db) -> Bookshop:
    return Bookshop(learner, db)
