import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

DUMMY = "DUMMY_HASH = hash_password(secrets.token_urlsafe(16))"


@pytest.mark.points(1)
async def test_hashes_are_salted(learner, auth_checks):
    """two hashes of one password differ, and DUMMY_HASH is an argon2id hash"""
    first = await learner.call("hash_password", "same password twice")
    second = await learner.call("hash_password", "same password twice")
    expect(first.ok and second.ok, f"`hash_password(...)` raised {first.describe_error() or second.describe_error()}.")
    expect(
        first.value != second.value,
        "`hash_password` returned the same hash twice for one password: the hashes are not salted, so equal "
        "passwords are visible in the table and precomputed tables crack them.",
        "Let the hasher make the hash, and do not reuse one; argon2 draws a new random salt for every hash.",
        answer="return password_hash.hash(password)",
    )
    dummy = await learner.probe(auth_checks.dummy_hash_probe)
    expect(
        dummy.ok,
        f"Reading `DUMMY_HASH` failed: {dummy.describe_error()}.",
        "Define `DUMMY_HASH` in exercise 1's cell, once: the hash of a password nobody knows.",
        answer=DUMMY,
    )
    expect(
        isinstance(dummy.value, str) and dummy.value.startswith("$argon2id$"),
        f"`DUMMY_HASH` is {auth_checks.describe_hash(dummy.value)}, expected an argon2id hash.",
        "Make it with your own hash_password, from a random password: verifying against it must cost what a real "
        "verification costs.",
        answer=DUMMY,
    )
