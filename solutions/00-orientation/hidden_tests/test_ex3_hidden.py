import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


async def app_with_other_greet(ns, database_url):
    async def other_greet(name):
        return f"Hi {name}"

    if "app" not in ns:
        raise NameError("name 'app' is not defined")
    ns["greet"] = other_greet
    return ns["app"]


@pytest.fixture
def app_probe():
    return app_with_other_greet


@pytest.mark.points(1)
async def test_route_awaits_greet(client):
    """GET /greet/{name} uses greet() instead of repeating its text"""
    response = await client.get("/greet/Grace%20Hopper")
    expect(
        response.status_code == 200 and response.json() == {"message": "Hi Grace Hopper"},
        f"With a different greet(), GET /greet/Grace%20Hopper returned {response.status_code} {response.text}.",
        "Call `await greet(name)` in the route so there is one place that builds greetings.",
    )


@pytest.mark.points(1)
async def test_health_is_json(client):
    """GET /health is JSON"""
    response = await client.get("/health")
    expect(
        response.headers.get("content-type", "").startswith("application/json"),
        "GET /health is not JSON.",
        "Return a dict.",
    )
