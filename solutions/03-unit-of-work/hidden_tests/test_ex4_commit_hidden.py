import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


@pytest.fixture
def app_kwargs(db):
    """The app on the test database, with sessions whose commit() raises."""
    return {"database_url": db.url, "commit_fails": True}


@pytest.mark.points(2)
async def test_commit_failure_is_never_2xx(client, db, shop):
    """a failure at commit never answers 2xx and writes nothing"""
    shop(db)
    before = db.snapshot()
    response = await client.post("/orders", json={"customer_id": 1, "lines": [{"book_id": 1, "quantity": 1}]})
    changed = [table for table in before if before[table] != db.snapshot().get(table)]
    if 200 <= response.status_code < 300 and changed:
        expect(
            False,
            f"With sessions from `request.app.state.sessionmaker` unable to commit, POST /orders answered "
            f"{response.status_code} and {', '.join(changed)} changed: the order went through another session "
            "factory than the app's.",
            "get_uow must build the unit of work on the app's session factory, on `request.app.state`: no "
            "module-level engine or sessionmaker.",
            answer="return UnitOfWork(request.app.state.sessionmaker)",
        )
    expect(
        not 200 <= response.status_code < 300,
        f"The commit failed, yet POST /orders answered {response.status_code}: the client was told the order exists, "
        "and it does not. The response was sent before the commit ran (a commit after `yield` in a dependency "
        "runs after the response is sent), or the commit's error was swallowed.",
        "Commit inside place_order, as the last step of `async with uow:`, and let the error out of the route: "
        "get_uow only returns the unit of work, and no `except` turns the failure into a 2xx.",
        answer="uow.orders.add(order); await uow.commit()",
    )
    expect(
        not changed,
        f"The commit failed and POST /orders answered {response.status_code}, but {', '.join(changed)} changed.",
        "Everything goes through the unit of work's session, and a failed commit leaves nothing behind.",
    )
