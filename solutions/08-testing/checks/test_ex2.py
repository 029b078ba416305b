"""Exercise 2: tests of the catalogue's cost and pages."""

import pytest

pytestmark = pytest.mark.exercise("ex2")


@pytest.mark.points(1)
async def test_catalogue_tests(suite, bugs):
    """your test_catalogue tests pass on the bookshop and fail on an app that answers everything with 200 {}"""
    await suite.expect_catches(bugs.BLANK_APP, ("test_catalogue",), minimum=2)
