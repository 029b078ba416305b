"""Exercise 4: tests of orders."""

import pytest

pytestmark = pytest.mark.exercise("ex4")


@pytest.mark.points(1)
async def test_orders_tests(suite, bugs):
    """your test_orders tests pass on the bookshop and fail on an app that answers everything with 200 {}"""
    await suite.expect_catches(bugs.BLANK_APP, ("test_orders",), minimum=3)
