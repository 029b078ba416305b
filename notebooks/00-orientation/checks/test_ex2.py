"""Exercise 2: gather_greetings and top-level await."""

import ast

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


async def read_greetings(ns):
    if "greetings" not in ns:
        raise NameError("name 'greetings' is not defined")
    return ns["greetings"]


async def greetings_with_other_gather(ns, expression):
    """The right-hand side of the notebook's `greetings = ...`, evaluated again while gather_greetings answers
    otherwise: a value computed from the call follows it, a list typed in does not."""
    import ast
    import inspect

    async def other_gather(names):
        return [f"probe greets {name}" for name in names]

    missing = object()
    original = ns.get("gather_greetings", missing)
    ns["gather_greetings"] = other_gather
    try:
        value = eval(compile(expression, "<greetings>", "eval", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), ns)
        if inspect.isawaitable(value):
            value = await value
    finally:
        if original is missing:
            del ns["gather_greetings"]
        else:
            ns["gather_greetings"] = original
    return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else repr(value)[:200]


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
    # The value alone cannot tell a computed list from one typed in: evaluate the cell's own expression again
    # with a gather_greetings that answers otherwise, and only a value computed by the call changes with it.
    assignments = learner.program().assignments
    assigned, followed = assignments.get("greetings"), {"greetings"}
    expect(
        assigned is not None,
        "No cell assigns `greetings = ...` at the top level, so the check cannot tell how it was computed.",
        "Assign the variable in a plain statement at the top level of the exercise's cell.",
        answer='greetings = await gather_greetings(["Ada", "Linus"])',
    )
    while isinstance(assigned, ast.Name) and assigned.id in assignments and assigned.id not in followed:
        followed.add(assigned.id)  # `greetings = result`: the value was computed where `result` was assigned
        assigned = assignments[assigned.id]
    recomputed = await learner.probe(greetings_with_other_gather, expression=ast.unparse(assigned))
    if recomputed.ok and recomputed.value == observed.value:
        seen = "stayed the same: it is not computed by calling gather_greetings (a list typed in, or built without it)"
    else:
        seen = f"gave {recomputed.value!r}" if recomputed.ok else f"raised {recomputed.describe_error()}"
    expect(
        recomputed.ok and recomputed.value == ["probe greets Ada", "probe greets Linus"],
        f"With a gather_greetings that answers otherwise, the expression assigned to `greetings` {seen}; "
        "expected ['probe greets Ada', 'probe greets Linus'], what that gather_greetings returns for the two names.",
        "Let `greetings` hold what the awaited call returns, not a list typed in or built another way: then it "
        "changes whenever the call's answer does.",
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
