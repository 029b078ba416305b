import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


async def call_health_on_other_app(ns):
    from fastapi import FastAPI

    other = FastAPI()

    @other.get("/health")
    async def health():
        return {"status": "from the probe"}

    if "app" not in ns or "call_health" not in ns:
        raise NameError("`app` or `call_health` is not defined")
    original = ns["app"]
    ns["app"] = other
    try:
        return await ns["call_health"]()
    finally:
        ns["app"] = original


@pytest.mark.points(1)
async def test_call_health_really_calls_app(learner):
    """call_health sends a request to the app instead of returning a fixed dict"""
    observed = await learner.probe(call_health_on_other_app)
    expect(
        observed.ok and observed.value == {"status": "from the probe"},
        f"With another app, call_health() returned {observed.value!r} {observed.describe_error()}.",
        "Send the request to the module-level `app`, read when the function runs, through an `ASGITransport`, "
        "instead of returning a fixed dict.",
        answer="transport = httpx.ASGITransport(app=app)",
    )
