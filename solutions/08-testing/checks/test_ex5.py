"""Exercise 5: tests of what must not get out."""

import pytest

pytestmark = pytest.mark.exercise("ex5")


@pytest.mark.points(1)
async def test_privacy_tests(suite, bugs):
    """your test_privacy tests pass on the bookshop and fail on an app that answers everything with 200 {}"""
    await suite.expect_catches(bugs.BLANK_APP, ("test_privacy",), minimum=2)
