"""Exercise 1: tests of registration."""

import pytest

pytestmark = pytest.mark.exercise("ex1")

REGISTER_ANSWERS_200 = (
    "POST /customers answers 200 instead of 201",
    [['@router.post("/customers", status_code=201)', '@router.post("/customers")']],
    "Assert the exact status code, not only that the registration succeeded.",
    (),
    "assert response.status_code == 201",
)


@pytest.mark.points(1)
async def test_register_tests(suite, bugs):
    """your test_register tests pass on the bookshop and fail on an app that answers everything with 200 {}"""
    await suite.expect_catches(bugs.BLANK_APP, ("test_register",), minimum=2)


@pytest.mark.points(1)
async def test_register_tests_catch_the_practice_bug(suite, bugs):
    """practice bug: your test_register tests notice POST /customers answering 200 instead of 201"""
    await suite.expect_catches(bugs.Mutant(*REGISTER_ANSWERS_200), ("test_register",), minimum=2)
