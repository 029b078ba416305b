import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


@pytest.mark.points(1)
async def test_greet_any_name(learner):
    """greet works for any name, not only the example"""
    for name in ("Grace Hopper", "Łukasz", ""):
        observed = await learner.call("greet", name)
        error = f" ({observed.describe_error()})" if observed.error else ""
        expect(
            observed.ok and observed.value == f"Hello, {name}!",
            f"`await greet({name!r})` gave {observed.value!r}{error}.",
            "Build the greeting from the `name` argument instead of a fixed text.",
            answer='return f"Hello, {name}!"',
        )
