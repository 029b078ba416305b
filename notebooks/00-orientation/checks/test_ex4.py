"""Exercise 4: call_health."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


async def is_coroutine_function(ns, name):
    import inspect

    return inspect.iscoroutinefunction(ns.get(name))


@pytest.mark.points(1)
async def test_call_health_is_async(learner):
    """call_health is defined with async def"""
    observed = await learner.probe(is_coroutine_function, name="call_health")
    expect(observed.value is True, "`call_health` is missing or not an `async def`.")


@pytest.mark.points(1)
async def test_call_health(learner):
    """await call_health() returns {"status": "ok"}"""
    observed = await learner.call("call_health")
    expect(
        observed.ok,
        f"`await call_health()` raised {observed.describe_error()}.",
        "Build the client around an `ASGITransport` of `app`, with a `base_url`, and use it as an `async with` block.",
        answer='async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:',
    )
    expect(
        observed.value == {"status": "ok"},
        f"`await call_health()` returned {observed.value!r}.",
        "Return the decoded body, not the response object.",
        answer="return response.json()",
    )
