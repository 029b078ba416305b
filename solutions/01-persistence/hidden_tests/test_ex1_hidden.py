import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


async def read_after_commit(ns, url):
    """Commit a new row through the learner's engine and sessions, then read its attributes in the session."""
    from sqlalchemy import Integer, String
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    for name in ("make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")

    class ProbeBase(DeclarativeBase):
        pass

    # No annotations: a probe may be compiled with `from __future__ import annotations` in effect.
    class Shelf(ProbeBase):
        __tablename__ = "probe_shelves"
        id = mapped_column(Integer, primary_key=True)
        label = mapped_column(String(50), nullable=False)

    engine = ns["make_engine"](url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ProbeBase.metadata.create_all)
        async with ns["make_sessionmaker"](engine)() as session:
            shelf = Shelf(label="poetry")
            session.add(shelf)
            await session.commit()
            try:
                return {"id": shelf.id, "label": shelf.label}
            except Exception as exc:
                return {"error": type(exc).__name__, "message": str(exc)[:300]}
    finally:
        await engine.dispose()


async def orphan_inserts(ns, url):
    """Insert a row whose foreign key points nowhere, on two connections open at the same time."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    if "make_engine" not in ns:
        raise NameError("name 'make_engine' is not defined")
    engine = ns["make_engine"](url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe_shelves (id INTEGER PRIMARY KEY)"))
            await connection.execute(
                text(
                    "CREATE TABLE probe_slots (id INTEGER PRIMARY KEY,"
                    " shelf_id INTEGER NOT NULL REFERENCES probe_shelves (id))"
                )
            )
        outcomes = []
        async with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                try:
                    await connection.execute(text("INSERT INTO probe_slots (shelf_id) VALUES (42)"))
                    outcomes.append("inserted")
                except IntegrityError:
                    outcomes.append("IntegrityError")
                finally:
                    await connection.rollback()
        return outcomes
    finally:
        await engine.dispose()


@pytest.mark.points(2)
async def test_attributes_readable_after_commit(learner, db):
    """attributes stay readable after commit (no MissingGreenlet)"""
    observed = await learner.probe(read_after_commit, url=db.url)
    expect(observed.ok, f"Committing a row with your engine and sessions raised {observed.describe_error()}.")
    facts = observed.value
    error = f"{facts.get('error', '')} {facts.get('message', '')}"
    expect(
        "MissingGreenlet" not in error,
        "MissingGreenlet after commit: reading `obj.label` right after `await session.commit()` tried to "
        "reload the expired object with a query outside `await`.",
        "The sessions must keep the values objects had at commit instead of expiring them: one argument of "
        "async_sessionmaker.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
    expect("error" not in facts, f"Reading an attribute after commit raised {error.strip()}.")
    expect(facts.get("label") == "poetry" and isinstance(facts.get("id"), int), f"After commit the row read {facts}.")


@pytest.mark.points(2)
async def test_foreign_key_violation_raises(learner, db):
    """a foreign-key violation raises IntegrityError on every connection"""
    observed = await learner.probe(orphan_inserts, url=db.url)
    expect(observed.ok, f"Inserting through your engine raised {observed.describe_error()}.")
    outcomes = observed.value
    expect(
        outcomes[0] == "IntegrityError",
        "A row whose foreign key points to no row was inserted without an error: SQLite's foreign keys are off.",
        'Run `PRAGMA foreign_keys=ON` in a `"connect"` listener on `engine.sync_engine`.',
        answer='@event.listens_for(engine.sync_engine, "connect")',
    )
    expect(
        outcomes[1] == "IntegrityError",
        "Foreign keys are enforced on the first connection only; a second connection open at the same time "
        "accepted a row pointing nowhere.",
        'The PRAGMA is per connection: run it in a `"connect"` listener (fires for every new connection), '
        'not once after creating the engine or in `"first_connect"`.',
        answer='@event.listens_for(engine.sync_engine, "connect")',
    )
