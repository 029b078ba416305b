import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


async def time_with_slow_greet(ns, count, delay):
    """Swap in a slow greet and time gather_greetings: concurrent work takes one delay, not count."""
    import asyncio
    import time

    original = ns["greet"]
    calls = []

    async def slow_greet(name):
        calls.append(name)
        await asyncio.sleep(delay)
        return f"Hello, {name}!"

    ns["greet"] = slow_greet
    try:
        started = time.perf_counter()
        result = await ns["gather_greetings"]([str(i) for i in range(count)])
        return {"seconds": time.perf_counter() - started, "count": len(result), "greet_calls": len(calls)}
    finally:
        ns["greet"] = original


@pytest.mark.points(1)
async def test_greetings_run_concurrently(learner):
    """gather_greetings runs the greetings concurrently"""
    observed = await learner.probe(time_with_slow_greet, count=10, delay=0.1)
    expect(observed.ok, f"gather_greetings raised {observed.describe_error()}.", "It must call `greet` for each name.")
    expect(observed.value["count"] == 10, "gather_greetings did not return one greeting per name.")
    expect(
        observed.value["greet_calls"] == 10,
        f"gather_greetings called greet {observed.value['greet_calls']} times for 10 names.",
        "Build each greeting with `greet(name)`, so there is one place that knows how to greet.",
        answer="return list(await asyncio.gather(*(greet(name) for name in names)))",
    )
    expect(
        observed.value["seconds"] < 0.5,
        f"Ten greetings that each wait 0.1 s took {observed.value['seconds']:.2f} s: they ran one after another.",
        "Pass all the coroutines to `asyncio.gather(...)` at once instead of awaiting them in a loop.",
        answer="return list(await asyncio.gather(*(greet(name) for name in names)))",
    )


@pytest.mark.points(1)
async def test_gather_no_names(learner):
    """gather_greetings([]) returns an empty list"""
    observed = await learner.call("gather_greetings", [])
    expect(
        observed.ok and observed.value == [],
        f"`await gather_greetings([])` gave {observed.value!r} {observed.describe_error()}.",
    )
