import pytest

from grader.checks import expect
from grader.checks.bookshop import expect_no_open_transaction

pytestmark = pytest.mark.exercise("ex2")


async def run_uow_scenario(unit_of_work, db, scenario, what):
    observed = await unit_of_work(scenario)
    expect(observed.ok, f"{what} raised {observed.describe_error()}.")
    expect(observed.value["came_out"] is None, f"{what} raised {observed.value['came_out']}.")
    return observed, [row["name"] for row in db.rows("SELECT name FROM authors ORDER BY id")]


@pytest.mark.points(1)
async def test_leaving_without_commit_writes_nothing(unit_of_work, db):
    """leaving the unit of work without commit() writes nothing"""
    observed, rows = await run_uow_scenario(unit_of_work, db, "leave", "A unit of work left without commit")
    seen = observed.value
    expect(
        rows == [],
        f"A unit of work was left without calling commit(), and the authors table holds {rows}: "
        "the unit of work commits on its own.",
        "Only `commit()` commits. `__aexit__` rolls back: a service that forgot to commit must store nothing.",
    )
    expect(
        seen["checked_out"] == 0,
        f"After leaving the unit of work, {seen['checked_out']} connection(s) were still checked out.",
        "Close the session in `__aexit__`.",
    )
    expect_no_open_transaction(observed, db, "after leaving the unit of work", "Close the session in `__aexit__`.")


@pytest.mark.points(1)
async def test_writes_after_commit_are_discarded(unit_of_work, db):
    """what is written after commit() and not committed again is rolled back on exit"""
    observed, rows = await run_uow_scenario(
        unit_of_work, db, "commit-then-write", "A unit of work that writes after commit"
    )
    seen = observed.value
    expect(
        rows == ["written inside the unit of work"],
        f"An author was committed, a second one written after the commit without committing again; "
        f"the authors table holds {rows}.",
        "`__aexit__` must discard whatever was not committed, also after an earlier commit: closing the session "
        "ends the unfinished transaction without committing it.",
        answer="await self.session.close()",
    )
    expect(seen["checked_out"] == 0, f"{seen['checked_out']} connection(s) were still checked out after the block.")
    expect_no_open_transaction(
        observed, db, "after the block", "Roll back what was not committed and close the session in `__aexit__`."
    )


@pytest.mark.points(1)
async def test_rollback_discards(unit_of_work, db):
    """uow.rollback() discards what was written so far, and the unit of work stays usable"""
    _, rows = await run_uow_scenario(
        unit_of_work, db, "rollback-then-write", "A unit of work that rolls back, then commits"
    )
    expect(
        rows == ["written after rollback"],
        f"An author was written, `await uow.rollback()` called, a second author written and committed; "
        f"the authors table holds {rows}.",
        "`rollback()` and `commit()` hand the work to the unit of work's session, which stays open between them.",
        answer="await self.session.rollback()",
    )


async def read_after_exit(ns, database_url):
    """An author committed beforehand, loaded inside a unit of work left normally, read after the block."""
    from grader.checks.bookshop import close_session

    for name in ("UnitOfWork", "make_engine", "make_sessionmaker", "Base", "Author"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    sessions = ns["make_sessionmaker"](engine)
    uow = ns["UnitOfWork"](sessions)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
        async with sessions() as session:
            session.add(ns["Author"](id=7, name="Ursula K. Le Guin"))
            await session.commit()
        async with uow:
            author = await uow.session.get(ns["Author"], 7)
        try:
            name = author.name
        except Exception as exc:
            name = f"{type(exc).__name__}: {exc}"[:200]
        return {"name": name, "checked_out": engine.pool.checkedout()}
    finally:
        await close_session(uow)
        await engine.dispose()


@pytest.mark.points(1)
async def test_loaded_objects_stay_readable(learner, db):
    """an object loaded inside the unit of work stays readable after a normal exit"""
    observed = await learner.probe(read_after_exit, database_url=db.url)
    expect(observed.ok, f"Loading an author inside a unit of work raised {observed.describe_error()}.")
    expect(
        observed.value["name"] == "Ursula K. Le Guin",
        f"An author loaded inside `async with uow:` could not be read after the block: {observed.value['name']}.",
        "On a normal exit, close the session without `rollback()`: a rollback expires every object the session "
        "loaded. Roll back only when the block raised (`exc_type is not None`).",
        answer="if exc_type is not None: await self.rollback()",
    )
