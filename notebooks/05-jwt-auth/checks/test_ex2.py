"""Exercise 2: the settings refuse weak signing keys and generate a strong one."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

SHORT_KEY = "x7Gq2LmZp9Rt4Vw8Kc3Nb6Yh1Df5Js0"  # 31 bytes
ENOUGH_KEY = "x7Gq2LmZp9Rt4Vw8Kc3Nb6Yh1Df5Js0A"  # 32 bytes


async def observe(learner, auth_checks, keys):
    observed = await learner.probe(auth_checks.settings_probe, keys=keys)
    expect(
        observed.ok,
        f"Building `Settings()` raised {observed.describe_error()}.",
        "The default of jwt_secret is generated: "
        "`Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))`.",
    )
    return observed.value


@pytest.mark.points(1)
async def test_default_secret(learner, auth_checks):
    """without a configured key, each Settings() generates its own secret key of at least 32 bytes"""
    seen = await observe(learner, auth_checks, [])
    first, second = seen["defaults"]
    expect(
        first["type"] == "SecretStr",
        f"`Settings().jwt_secret` is a {first['type']}, expected a SecretStr.",
        "Declare `jwt_secret: SecretStr`, so that printing or logging the settings shows '**********'.",
    )
    expect(not first["in_repr"], "`repr(Settings())` shows the signing key.", "Declare `jwt_secret: SecretStr`.")
    expect(
        first["bytes"] >= 32,
        f"The generated key has {first['bytes']} bytes, expected at least 32.",
        "`secrets.token_urlsafe(32)` gives 43 characters from 32 random bytes.",
    )
    expect(
        first["fingerprint"] != second["fingerprint"],
        "Two `Settings()` got the same generated key: it is a constant, so anyone who reads the code can sign tokens.",
        "Generate it per instance, `default_factory=...`, not once as a plain default.",
    )
    expect(
        (first["algorithm"], first["minutes"]) == ("HS256", 15),
        f"`jwt_algorithm` and `access_token_minutes` are {first['algorithm']!r} and {first['minutes']!r}, expected "
        "'HS256' and 15.",
    )


@pytest.mark.points(1)
async def test_short_key_refused(learner, auth_checks):
    """a key shorter than 32 bytes is refused; one of 32 is accepted"""
    tried = (await observe(learner, auth_checks, [SHORT_KEY, ENOUGH_KEY]))["tried"]
    short = tried[SHORT_KEY]["raised"]
    expect(
        short == "ValidationError",
        f"`Settings(jwt_secret=<31 bytes>)` {'was accepted' if short is None else 'raised ' + short}, expected a "
        "ValidationError: HS256 needs a key of at least 32 bytes (RFC 7518).",
        "In the validator: `if len(key.encode()) < 32: raise ValueError(...)`; pydantic turns it into a "
        "ValidationError.",
    )
    expect(
        tried[ENOUGH_KEY]["raised"] is None,
        f"`Settings(jwt_secret=<32 random bytes>)` raised {tried[ENOUGH_KEY]['raised']}, expected it to be accepted.",
        "Refuse keys shorter than 32 bytes (`< 32`), and return the value at the end of the validator.",
    )
