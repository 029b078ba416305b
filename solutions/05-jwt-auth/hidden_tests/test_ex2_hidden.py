import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

PRINTED_KEYS = [
    "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    "a-string-secret-at-least-256-bits-long",
]


@pytest.mark.points(1)
async def test_tutorial_keys_refused(learner, auth_checks):
    """keys printed in tutorials are refused, however long"""
    observed = await learner.probe(auth_checks.settings_probe, keys=PRINTED_KEYS)
    expect(observed.ok, f"Building `Settings()` raised {observed.describe_error()}.")
    for key, seen in observed.value["tried"].items():
        expect(
            seen["raised"] == "ValidationError",
            f"`Settings(jwt_secret='{key[:12]}...')` (a key printed in a tutorial, {len(key)} bytes) "
            f"{'was accepted' if seen['raised'] is None else 'raised ' + seen['raised']}, expected a ValidationError.",
            "Length is not enough: a published key signs tokens for anyone. In the validator, look the key up in "
            "`TUTORIAL_KEYS`, ignoring case and surrounding spaces.",
            answer="if key.strip().lower() in TUTORIAL_KEYS:\n"
            '    raise ValueError("jwt_secret is a key printed in a tutorial: anyone can sign tokens with it")',
        )
