"""Exercise 6: find_leaks reports the path of every string that leaks."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
CASES = [
    (
        {"items": [{"id": 1, "email": "grace@example.com"}], "note": "typed: Ada's analytical engine"},
        ["grace@example.com", "Ada's analytical engine"],
        ["$.items[0].email", "$.note"],
        "an email in a list of objects, and a password inside a longer string",
    ),
    (
        {"detail": "GRACE@Example.com is already registered"},
        ["grace@example.com"],
        ["$.detail"],
        "an email in other letter case",
    ),
    ({"id": 2, "hashed_password": HASH, "is_admin": False}, [], ["$.hashed_password"], "an argon2 hash"),
    ([{"id": 1, "name": "Grace"}, {"id": 2, "name": "Hedy"}], ["grace@example.com"], [], "nothing to report"),
]


async def expect_leak_paths(learner, cases, hint: str, answer: str = "") -> None:
    """find_leaks on each case's value and forbidden strings returns the case's paths."""
    for value, forbidden, expected, what in cases:
        observed = await learner.call("find_leaks", value, forbidden)
        expect(
            observed.ok,
            f"`find_leaks({value!r}, {forbidden!r})` raised {observed.describe_error()}.",
            "Walk dicts and lists recursively; test only strings.",
        )
        expect(
            observed.value == expected,
            f"`find_leaks` on {what} returned {observed.value!r}, expected {expected!r} "
            f"(value {value!r}, forbidden {forbidden!r}).",
            hint,
            answer=answer,
        )


@pytest.mark.points(2)
async def test_find_leaks_reports_paths(learner):
    """find_leaks returns the paths of leaking strings, case-insensitively, hashes included"""
    await expect_leak_paths(
        learner,
        CASES,
        "Paths: `$`, then `.key` for a dict item and `[i]` for a list item. Fold the case of both sides before "
        "comparing; a string containing `$argon2` or `$2b$` leaks whatever the forbidden values are.",
        answer="leaks = any(secret.casefold() in item.casefold() for secret in forbidden if secret) "
        'or "$argon2" in item or "$2b$" in item  # for a string item',
    )


KEY_CASES = [
    ({"hedy@example.com": {"orders": 3}}, ["hedy@example.com"], ["$.hedy@example.com"], "a key that leaks"),
    (
        {"contact": {"HEDY@example.com": "write to hedy@example.com"}},
        ["hedy@example.com"],
        ["$.contact.HEDY@example.com"],
        "a key and its value that both leak (one path)",
    ),
    ([7, 3.5, True, None, {"n": 42}], ["7", "3.5", "True", "None", "42"], [], "numbers, booleans and null"),
]


@pytest.mark.points(1)
async def test_find_leaks_reports_keys_once_and_never_scalars(learner):
    """find_leaks reports a leaking dict key at its item's path, each path once, and no number, boolean or null"""
    await expect_leak_paths(
        learner,
        KEY_CASES,
        "A dict's keys are strings a client reads too: test each key like a string value and report the path "
        "of its item, once even when the value leaks as well. Numbers, booleans and None are never text.",
    )
