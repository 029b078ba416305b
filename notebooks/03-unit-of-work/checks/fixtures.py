"""Chapter 03 fixtures: the learner's routes on a plain app, the tables, seeding, calling services.

``build_app`` runs in the learner's process: a plain ``FastAPI()`` whose ``app.state`` holds what
``create_app`` would put there (settings, engine, sessionmaker on the test database) and the
learner's ``router``, so the routes are checked without relying on anything but exercise 4. With
``commit_fails=True`` the sessionmaker makes sessions whose ``commit()`` raises, as a full disk or a
lock timeout would.
"""

import pytest

from grader.checks import CheckFailure


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


async def create_tables_probe(ns, database_url):
    """Probe: create the chapter's tables in a database, with the provided models."""
    for name in ("Base", "make_engine"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run the provided cells at the top)")
    engine = ns["make_engine"](database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
    finally:
        await engine.dispose()


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


@pytest.fixture
async def tables(learner, db):
    """The test database with the chapter's tables, ready to seed from the grader side."""
    observed = await learner.probe(create_tables_probe, database_url=db.url)
    if observed.error:
        raise CheckFailure(
            f"The tables could not be created: {observed.describe_error()}.",
            "Run the provided cells at the top of the notebook (the models) without changing them.",
        )
    return db


def seed(db, authors=(), books=(), customers=(), orders=(), lines=()):
    """Insert rows from the grader side.

    authors (id, name); books (id, title, price_cents, stock, author_id); customers (id, name);
    orders (id, customer_id); lines (id, order_id, book_id, quantity).
    """
    for row in authors:
        db.execute("INSERT INTO authors (id, name) VALUES (?, ?)", row)
    for row in books:
        db.execute("INSERT INTO books (id, title, price_cents, stock, author_id) VALUES (?, ?, ?, ?, ?)", row)
    for row in customers:
        db.execute("INSERT INTO customers (id, name) VALUES (?, ?)", row)
    for row in orders:
        db.execute("INSERT INTO orders (id, customer_id) VALUES (?, ?)", row)
    for row in lines:
        db.execute("INSERT INTO order_lines (id, order_id, book_id, quantity) VALUES (?, ?, ?, ?)", row)


def seed_shop(db):
    """A small shop: one author, three books (stock 5, 1 and 2), two customers, one earlier order."""
    seed(
        db,
        authors=[(1, "Octavia E. Butler")],
        books=[(1, "Kindred", 999, 5, 1), (2, "Parable of the Sower", 1099, 1, 1), (3, "Dawn", 899, 2, 1)],
        customers=[(1, "Ada"), (2, "Grace")],
        orders=[(1, 2)],
        lines=[(1, 1, 3, 1)],
    )


@pytest.fixture
def seeder():
    return seed


@pytest.fixture
def shop():
    """``shop(db)`` seeds the small shop of ``seed_shop``."""
    return seed_shop
