"""Exercise 3: the FastAPI app."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.mark.points(1)
async def test_health(client):
    """GET /health answers 200 {"status": "ok"}"""
    response = await client.get("/health")
    expect(
        response.status_code == 200,
        f"GET /health answered {response.status_code}.",
        "Compare the route's decorator, its method and its path, with the contract.",
        answer='@app.get("/health")',
    )
    expect(response.json() == {"status": "ok"}, f"GET /health returned {response.text}.")


@pytest.mark.points(1)
async def test_greet_route(client):
    """GET /greet/Ada answers {"message": "Hello, Ada!"}"""
    response = await client.get("/greet/Ada")
    expect(
        response.status_code == 200,
        f"GET /greet/Ada answered {response.status_code}.",
        "The path is `/greet/{name}`.",
        answer='@app.get("/greet/{name}")',
    )
    expect(response.json() == {"message": "Hello, Ada!"}, f"GET /greet/Ada returned {response.text}.")
