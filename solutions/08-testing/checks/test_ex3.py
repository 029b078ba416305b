"""Exercise 3: tests of logging in and of token expiry."""

import pytest

pytestmark = pytest.mark.exercise("ex3")


@pytest.mark.points(1)
async def test_auth_tests(suite, bugs):
    """your test_auth tests pass on the bookshop and fail on an app that answers everything with 200 {}"""
    await suite.expect_catches(bugs.BLANK_APP, ("test_auth",), minimum=3)
