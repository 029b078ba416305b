import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


@pytest.mark.points(1)
async def test_objects_readable_after_commit(probe, db, fixtures):
    """sessions from make_sessionmaker keep objects readable after commit"""
    observed = await probe(fixtures.database_probe, database_url=db.url)
    answer = fixtures.expect_probe_ok(observed, "Importing app.core.database and using make_sessionmaker")
    expect(
        answer["after_commit"] == "science fiction" and answer["expire_on_commit"] is False,
        f"After commit, reading an attribute of a committed object gave {answer['after_commit']!r} "
        f"(expire_on_commit={answer['expire_on_commit']}): the commit expired it, and loading it again under "
        "asyncio raises MissingGreenlet.",
        "Sessions from make_sessionmaker must not expire their objects at commit: an option of async_sessionmaker.",
        answer="return async_sessionmaker(engine, expire_on_commit=False)",
    )
