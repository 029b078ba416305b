"""Seeded bugs for exercise 1 (registration). Every check runs the learner's whole suite."""

import pytest

pytestmark = pytest.mark.exercise("ex1")

PASSWORD_HASH_IN_RESPONSE = (
    "POST /customers answers the customer with their password hash",
    [
        [
            "    email: str\n\n\nclass Token",
            "    email: str\n    hashed_password: str\n\n\nclass Token",
        ]
    ],
    "Compare the whole body with one dict, not field by field: a field that should not be there then fails the test.",
    ("test_register",),
    'assert body == {"id": body["id"], "name": "Ada Lovelace", "email": "ada@example.com"}',
)
EMAIL_TAKEN_IS_400 = (
    "registering a taken email answers 400 instead of 409",
    [['    409, f"{PROBLEMS}/email-taken"', '    400, f"{PROBLEMS}/email-taken"']],
    "Register the same email twice and assert the exact status code of the second answer.",
    ("test_register",),
    "assert second.status_code == 409",
)


@pytest.mark.points(2)
async def test_catches_password_hash_in_response(suite, bugs):
    """your tests catch a seeded bug: the response to POST /customers shows the password hash"""
    await suite.expect_catches(bugs.Mutant(*PASSWORD_HASH_IN_RESPONSE))


@pytest.mark.points(2)
async def test_catches_email_taken_answering_400(suite, bugs):
    """your tests catch a seeded bug: a taken email answers 400 instead of 409"""
    await suite.expect_catches(bugs.Mutant(*EMAIL_TAKEN_IS_400))
