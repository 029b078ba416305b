"""Exercise 2: gather_greetings and top-level await."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


async def read_greetings(ns):
    if "greetings" not in ns:
        raise NameError("name 'greetings' is not defined")
    return ns["greetings"]


@pytest.mark.points(1)
async def test_top_level_greetings(learner):
    """greetings holds the two greetings, computed with top-level await"""
    observed = await learner.probe(read_greetings)
    expect(
        observed.ok,
        "`greetings` is not defined.",
        "If the cell used asyncio.run(), it failed: a notebook's loop is already running. "
        "Await the call at the top level of the cell instead.",
        answer='greetings = await gather_greetings(["Ada", "Linus"])',
    )
    expect(
        observed.value == ["Hello, Ada!", "Hello, Linus!"],
        f"`greetings` is {observed.value!r}, expected ['Hello, Ada!', 'Hello, Linus!'].",
        "Did you await the call? A coroutine object is not a list.",
        answer='greetings = await gather_greetings(["Ada", "Linus"])',
    )


@pytest.mark.points(1)
async def test_gather_keeps_order(learner):
    """gather_greetings returns one greeting per name, in order"""
    observed = await learner.call("gather_greetings", ["C", "A", "B"])
    expect(observed.ok, f"`await gather_greetings(['C', 'A', 'B'])` raised {observed.describe_error()}.")
    expect(
        observed.value == ["Hello, C!", "Hello, A!", "Hello, B!"],
        f"`await gather_greetings(['C', 'A', 'B'])` returned {observed.value!r}.",
        "Return a list, in the order of the names.",
        answer="return list(await asyncio.gather(*(greet(name) for name in names)))",
    )
