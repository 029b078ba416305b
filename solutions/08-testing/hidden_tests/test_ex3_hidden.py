"""Seeded bugs for exercise 3 (logging in, expiry). Every check runs the learner's whole suite."""

import pytest

pytestmark = pytest.mark.exercise("ex3")

EXPIRED_TOKEN_ACCEPTED = (
    "an expired token is still accepted",
    [
        [
            '    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now.timestamp():',
            '    if not isinstance(claims["exp"], int | float):',
        ]
    ],
    "Make a token (`token_for`), move the clock past 15 minutes (`clock.advance(...)`) and assert that "
    "the same request now answers 401.",
    ("test_auth",),
    "clock.advance(minutes=14, seconds=59)  # still 200 here\n"
    "clock.advance(seconds=1)\n"
    'expired = await client.get("/customers/me", headers=headers)\n'
    "assert expired.status_code == 401",
)
WRONG_PASSWORD_ACCEPTED = (
    "logging in with a wrong password succeeds",
    [
        [
            "    if not await asyncio.to_thread(verify_password, password, customer.hashed_password, hasher):",
            "    if not customer.hashed_password:",
        ]
    ],
    "Log in with a wrong password for an email that has an account, and assert 401.",
    ("test_auth",),
    'form = {"username": "ada@example.com", "password": "correct horse staple"}\n'
    'response = await client.post("/auth/token", data=form)\n'
    "assert response.status_code == 401",
)


@pytest.mark.points(2)
async def test_catches_expired_token_accepted(suite, bugs):
    """your tests catch a seeded bug: expired tokens accepted"""
    await suite.expect_catches(bugs.Mutant(*EXPIRED_TOKEN_ACCEPTED))


@pytest.mark.points(2)
async def test_catches_wrong_password_accepted(suite, bugs):
    """your tests catch a seeded bug: a wrong password logs in"""
    await suite.expect_catches(bugs.Mutant(*WRONG_PASSWORD_ACCEPTED))
