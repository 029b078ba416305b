"""Exercise 1: argon2id password hashes with pwdlib."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

PASSWORD = "correct horse battery staple"


HASH = "return password_hash.hash(password)"
VERIFY = "return password_hash.verify(password, hashed)"


def hashed_by_learner(observed, call):
    expect(
        observed.ok,
        f"`{call}` raised {observed.describe_error()}.",
        "hash_password hands the password to the cell's hasher, `password_hash`, and returns what it gives.",
        answer=HASH,
    )
    return observed.value


@pytest.mark.points(1)
async def test_hash_is_argon2id(learner, auth_checks):
    """hash_password returns an argon2id hash of the password, never the password"""
    hashed = hashed_by_learner(await learner.call("hash_password", PASSWORD), "hash_password(...)")
    expect(
        isinstance(hashed, str) and hashed.startswith("$argon2id$"),
        f"`hash_password({PASSWORD!r})` returned {auth_checks.describe_hash(hashed)}, expected an argon2id hash "
        "(a string starting with '$argon2id$').",
        "Hash with pwdlib's recommended hasher: argon2id. A SHA-256 hex digest, bcrypt or a home-made "
        "salt+hash is fast to brute-force or not what the contract asks for.",
        answer="password_hash = PasswordHash.recommended()",
    )
    expect(
        PASSWORD not in hashed,
        "The hash contains the password itself.",
        "Return only what the hasher makes: the parameters, the salt and the hash, never the password.",
        answer=HASH,
    )
    expect(
        auth_checks.grader_verifies(PASSWORD, hashed),
        "pwdlib could not verify the password against the hash `hash_password` returned.",
        "Hash exactly the password you were given: no extra salt or pepper, the hasher adds its own salt.",
        answer=HASH,
    )


@pytest.mark.points(1)
async def test_verify_password(learner, auth_checks):
    """verify_password accepts the right password and refuses a wrong one"""
    hashed = auth_checks.hash_of(PASSWORD)
    right = await learner.call("verify_password", PASSWORD, hashed)
    wrong = await learner.call("verify_password", "Tr0ub4dor&3", hashed)
    expect(
        right.ok and wrong.ok,
        f"`verify_password(...)` raised {(right.error and right.describe_error()) or wrong.describe_error()}.",
    )
    expect(
        right.value is True,
        f"`verify_password(password, hash_of_that_password)` returned {right.value!r}, expected True.",
        "Let the hasher check the password against the stored hash. Comparing `hash_password(password) == hashed` "
        "never matches: every hash has a new salt.",
        answer=VERIFY,
    )
    expect(
        wrong.value is False,
        f"`verify_password(wrong_password, hash)` returned {wrong.value!r}, expected False.",
        "Let the hasher check the password against the stored hash, and return its verdict.",
        answer=VERIFY,
    )
