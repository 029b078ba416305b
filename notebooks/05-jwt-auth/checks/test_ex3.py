"""Exercise 3: create_access_token and decode_access_token."""

from datetime import timedelta

import pytest

from grader.checks import expect
from grader.checks.clock import format_time

pytestmark = pytest.mark.exercise("ex3")


async def create(learner, auth_checks, subject, at, minutes=15):
    observed = await learner.probe(
        auth_checks.create_token_probe, jwt_secret=auth_checks.KEY, subject=subject, at=format_time(at), minutes=minutes
    )
    expect(observed.ok, f"`create_access_token(settings, {subject!r}, now)` raised {observed.describe_error()}.")
    token = observed.value
    expect(isinstance(token, str), f"`create_access_token` returned {token}, expected the token as a string.")
    return token


async def decode(learner, auth_checks, cases):
    """``cases`` is [label, token, now-datetime]; the learner's decode_access_token of each."""
    observed = await learner.probe(
        auth_checks.decode_tokens_probe,
        jwt_secret=auth_checks.KEY,
        cases=[[label, token, format_time(now)] for label, token, now in cases],
    )
    expect(observed.ok, f"`decode_access_token(...)` could not be called: {observed.describe_error()}.")
    return observed.value


TIME_CHECKS = """moment = now.timestamp()
if _timestamp(claims, "exp") <= moment:
    raise InvalidToken("the token has expired")
if "nbf" in claims and _timestamp(claims, "nbf") > moment:
    raise InvalidToken("the token is not valid yet")"""


def describe(seen):
    return f"raised {seen['raised']}: {seen['message']}" if seen["raised"] else f"returned {seen['claims']}"


@pytest.mark.points(1)
async def test_create_access_token(learner, auth_checks, t0):
    """create_access_token signs sub, iat and exp = iat + access_token_minutes with HS256 and the key"""
    forge = auth_checks.forge
    for minutes in (15, 5):
        token = await create(learner, auth_checks, "7", t0, minutes)
        try:
            header, claims = forge.read(token)
        except ValueError as exc:
            expect(False, f"`create_access_token` returned {token[:60]!r}, which is not a JWT ({exc}).")
        expect(
            header.get("alg") == "HS256" and forge.verifies(token, auth_checks.KEY),
            f"The token's header is {header} and its signature is "
            f"{'valid' if forge.verifies(token, auth_checks.KEY) else 'not valid'} for the settings' key.",
            "Sign with the settings' key (a SecretStr: ask it for its value) and the settings' algorithm.",
            answer="return jwt.encode(claims, settings.jwt_secret.get_secret_value(), "
            "algorithm=settings.jwt_algorithm)",
        )
        expected = {
            "sub": "7",
            "iat": forge.numeric_date(t0),
            "exp": forge.numeric_date(t0 + timedelta(minutes=minutes)),
        }
        found = {name: claims.get(name) for name in expected}
        expect(
            found == expected,
            f"With access_token_minutes={minutes}, the token's claims are {found}, expected {expected}.",
            "sub is the subject (a string), iat is `now`, and exp is `now` plus the settings' token lifetime, "
            "as a `timedelta`.",
            answer='"exp": now + timedelta(minutes=settings.access_token_minutes),',
        )


@pytest.mark.points(1)
async def test_decode_round_trip(learner, auth_checks, t0):
    """decode_access_token returns the claims of a valid token"""
    own = await create(learner, auth_checks, "7", t0)
    grader_made = auth_checks.forge.sign(auth_checks.forge.standard_claims("3", at=t0), auth_checks.KEY)
    seen = await decode(learner, auth_checks, [["own", own, t0 + timedelta(minutes=1)], ["made", grader_made, t0]])
    for label, subject in (("own", "7"), ("made", "3")):
        result = seen[label]
        what = "a token from your create_access_token" if label == "own" else "a valid HS256 token"
        expect(
            result["raised"] is None and isinstance(result["claims"], dict) and result["claims"].get("sub") == subject,
            f"`decode_access_token` of {what} for sub {subject!r} {describe(result)}; expected its claims.",
            "Decode with the settings' key and the one algorithm of the settings; return the claims dict.",
            answer=auth_checks.DECODE_CALL,
        )


@pytest.mark.points(1)
async def test_decode_compares_with_now(learner, auth_checks, t0):
    """a token is valid from nbf up to, not including, exp, by the `now` argument"""
    forge = auth_checks.forge
    token = forge.sign(forge.standard_claims("1", at=t0), auth_checks.KEY)
    later = forge.sign(forge.standard_claims("1", at=t0, nbf=t0 + timedelta(seconds=60)), auth_checks.KEY)
    cases = [
        ["a second before exp", token, t0 + timedelta(minutes=15, seconds=-1), True],
        ["exactly at exp", token, t0 + timedelta(minutes=15), False],
        ["an hour after exp", token, t0 + timedelta(minutes=75), False],
        ["a minute before nbf", later, t0, False],
        ["at nbf", later, t0 + timedelta(seconds=60), True],
    ]
    seen = await decode(learner, auth_checks, [case[:3] for case in cases])
    for label, _, _, valid in cases:
        result = seen[label]
        if valid:
            expect(
                result["raised"] is None,
                f"decode_access_token with `now` {label} {describe(result)}; the token is valid then.",
                "Compare with the `now` argument, not the computer's clock: turn PyJWT's own time checks off in "
                "the `options` of jwt.decode, then compare yourself.",
                answer='options={"require": [...], "verify_exp": False, "verify_nbf": False, "verify_iat": False}',
            )
        else:
            expect(
                result["raised"] == "InvalidToken",
                f"decode_access_token with `now` {label} {describe(result)}; expected InvalidToken.",
                "A token is valid from its nbf, when it has one, up to but not including its exp. Compare both "
                "with the `now` argument (the app's clock) as a timestamp, not with the computer's clock.",
                answer=TIME_CHECKS,
            )


@pytest.mark.points(1)
async def test_decode_pins_the_algorithm(learner, auth_checks, t0):
    """decode_access_token refuses a token with `alg: none` and no signature"""
    claims = auth_checks.forge.standard_claims("5", at=t0)
    seen = await decode(learner, auth_checks, [["unsigned", auth_checks.forge.unsigned(claims), t0]])
    result = seen["unsigned"]
    expect(
        result["raised"] == "InvalidToken",
        f"decode_access_token of a token whose header says `alg: none`, with no signature, {describe(result)}; "
        "expected InvalidToken: anyone can write such a token, for any customer.",
        "Who decides which algorithm a token may use: the token's own header, or your settings?",
        answer="algorithms=[settings.jwt_algorithm],",
    )
