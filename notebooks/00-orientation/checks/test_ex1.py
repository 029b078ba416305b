"""Exercise 1: greet."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


async def greet_yields_to_loop(ns):
    """Schedule another task, then await greet: if greet awaits asyncio.sleep(0), that task runs meanwhile."""
    import asyncio
    import inspect

    greet = ns.get("greet")
    if not inspect.iscoroutinefunction(greet):
        return {"async": False}
    ran = []

    async def other():
        ran.append(True)

    task = asyncio.ensure_future(other())
    result = await greet("Ada")
    yielded = bool(ran)  # read before awaiting the task ourselves, which would run it anyway
    await task
    return {"async": True, "yielded": yielded, "result": result}


@pytest.mark.points(1)
async def test_greet_is_async_and_yields(learner):
    """greet is an async def that awaits asyncio.sleep(0)"""
    observed = await learner.probe(greet_yields_to_loop)
    expect(observed.ok, f"`await greet('Ada')` raised {observed.describe_error()}.")
    expect(
        observed.value["async"],
        "`greet` is missing or not a coroutine function.",
        "Write `async def greet(...)`, not `def`.",
    )
    expect(
        observed.value["yielded"],
        "`greet` never gave the event loop a turn.",
        "A coroutine lets other tasks run only where it awaits something: the contract names what to await.",
        answer="await asyncio.sleep(0)",
    )


@pytest.mark.points(1)
async def test_greet_ada(learner):
    """greet("Ada") returns "Hello, Ada!" """
    observed = await learner.call("greet", "Ada")
    expect(observed.ok, f"`await greet('Ada')` raised {observed.describe_error()}.")
    expect(
        observed.value == "Hello, Ada!",
        f"`await greet('Ada')` returned {observed.value!r}, expected 'Hello, Ada!'.",
        "Mind the comma and the exclamation mark.",
        answer='return f"Hello, {name}!"',
    )
