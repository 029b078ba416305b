from datetime import timedelta

import pytest

from grader.checks import expect
from grader.checks.clock import format_time

pytestmark = pytest.mark.exercise("ex3")


async def decoded(learner, auth_checks, t0, cases):
    observed = await learner.probe(
        auth_checks.decode_tokens_probe,
        jwt_secret=auth_checks.KEY,
        cases=[[label, token, format_time(t0)] for label, token in cases],
    )
    expect(observed.ok, f"`decode_access_token(...)` could not be called: {observed.describe_error()}.")
    return observed.value


REFUSE = "except jwt.InvalidTokenError as exc:\n    raise InvalidToken(str(exc)) from None"
REQUIRE = 'options={"require": ["exp", "sub", "iss", "aud"], ...}'


def expect_invalid(seen, hint, answer=""):
    """Every token of ``seen`` raised InvalidToken; ``hint`` and ``answer`` are the two levels of the hint for
    a token accepted."""
    for label, result in seen.items():
        if result["raised"] is None:
            expect(False, f"decode_access_token accepted {label}: it returned {result['claims']}.", hint, answer)
        expect(
            result["raised"] == "InvalidToken",
            f"decode_access_token raised {result['raised']} ({result['message'][:120]}) for {label}; expected "
            "InvalidToken, the one exception callers catch.",
            "Catch `jwt.InvalidTokenError` (the parent of all of PyJWT's token errors) around jwt.decode and raise "
            "the domain's InvalidToken in its place, without chaining PyJWT's error.",
            answer=REFUSE,
        )


@pytest.mark.points(1)
async def test_refuses_other_algorithms(learner, auth_checks, t0):
    """decode_access_token refuses alg none and HS512, even signed with the right key"""
    forge = auth_checks.forge
    claims = forge.standard_claims("1", at=t0)
    cases = [
        ["a token signed with the right key using HS512", forge.sign(claims, auth_checks.KEY, algorithm="HS512")],
        ["a token signed with the right key using HS384", forge.sign(claims, auth_checks.KEY, algorithm="HS384")],
        ["a token with `alg: none`", forge.unsigned(claims)],
        ["a token with `alg: None`", forge.unsigned(claims, alg="None")],
    ]
    expect_invalid(
        await decoded(learner, auth_checks, t0, cases),
        "Pin the algorithm: the verifier names exactly one, the settings'. Never take it from the token's header "
        "(`jwt.get_unverified_header(token)['alg']`) and never list several.",
        "algorithms=[settings.jwt_algorithm],",
    )


@pytest.mark.points(1)
async def test_refuses_bad_signatures(learner, auth_checks, t0):
    """decode_access_token refuses a changed payload, another key and a missing signature"""
    forge = auth_checks.forge
    token = forge.sign(forge.standard_claims("2", at=t0), auth_checks.KEY)
    cases = [
        ["a token whose sub was changed after signing", forge.tamper(token, sub="1")],
        ["a token whose exp was moved a year on after signing", forge.tamper(token, exp=t0 + timedelta(days=365))],
        ["a token signed with another key", forge.sign(forge.standard_claims("2", at=t0), auth_checks.OTHER_KEY)],
        ["a token without its signature", token.rsplit(".", 1)[0] + "."],
    ]
    expect_invalid(
        await decoded(learner, auth_checks, t0, cases),
        "Let PyJWT verify the signature with the settings' key: `jwt.decode(token, key, algorithms=[...])`, "
        "never `options={'verify_signature': False}`.",
        auth_checks.DECODE_CALL,
    )


@pytest.mark.points(1)
async def test_requires_exp_and_sub(learner, auth_checks, t0):
    """decode_access_token refuses a token without exp or sub, or with claims of the wrong type"""
    forge = auth_checks.forge
    cases = [
        ["a token without exp", forge.sign(forge.standard_claims("1", at=t0, exp=None), auth_checks.KEY)],
        ["a token without sub", forge.sign(forge.standard_claims("1", at=t0, sub=None), auth_checks.KEY)],
        ["a token whose sub is the number 1", forge.sign(forge.standard_claims(1, at=t0), auth_checks.KEY)],
        [
            "a token whose exp is 'tomorrow'",
            forge.sign(forge.standard_claims("1", at=t0, exp="tomorrow"), auth_checks.KEY),
        ],
    ]
    expect_invalid(
        await decoded(learner, auth_checks, t0, cases),
        "PyJWT accepts a token without exp unless told otherwise, in the `options` of jwt.decode; a token without "
        "exp is valid forever. A date claim that is not a number is for `_timestamp` (given) to refuse.",
        REQUIRE,
    )


@pytest.mark.points(1)
async def test_malformed_tokens(learner, auth_checks, t0):
    """decode_access_token raises InvalidToken, and nothing else, for an empty or malformed token"""
    cases = [["an empty token ''", ""], ["the token 'abc'", "abc"], ["the token 'a.b.c'", "a.b.c"]]
    expect_invalid(
        await decoded(learner, auth_checks, t0, cases),
        "Let jwt.decode parse every token; do not short-cut the empty one.",
        REFUSE,
    )


@pytest.mark.points(1)
async def test_issuer_and_audience(learner, auth_checks, t0):
    """tokens name the bookshop as issuer and its API as audience; a token for another is refused"""
    forge = auth_checks.forge
    observed = await learner.probe(
        auth_checks.create_token_probe, jwt_secret=auth_checks.KEY, subject="7", at=format_time(t0), minutes=15
    )
    expect(observed.ok, f"`create_access_token(settings, '7', now)` raised {observed.describe_error()}.")
    _, claims = forge.read(observed.value)
    found = {name: claims.get(name) for name in ("iss", "aud")}
    expected = {"iss": forge.ISSUER, "aud": forge.AUDIENCE}
    expect(
        found == expected,
        f"The token's issuer and audience are {found}, expected {expected} (the settings' jwt_issuer, jwt_audience).",
        "Add `iss` and `aud` to the claims create_access_token signs.",
        answer='"iss": settings.jwt_issuer,\n"aud": settings.jwt_audience,',
    )
    cases = [
        ["a token for another API", forge.sign(forge.standard_claims("1", at=t0, aud="admin-api"), auth_checks.KEY)],
        ["a token from another issuer", forge.sign(forge.standard_claims("1", at=t0, iss="staging"), auth_checks.KEY)],
        ["a token without an audience", forge.sign(forge.standard_claims("1", at=t0, aud=None), auth_checks.KEY)],
        ["a token without an issuer", forge.sign(forge.standard_claims("1", at=t0, iss=None), auth_checks.KEY)],
    ]
    expect_invalid(
        await decoded(learner, auth_checks, t0, cases),
        "The key may be shared with another service: make jwt.decode compare the audience and the issuer with "
        "the settings', and require both claims.",
        "audience=settings.jwt_audience,\nissuer=settings.jwt_issuer,",
    )
