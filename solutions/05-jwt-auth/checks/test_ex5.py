"""Exercise 5: get_current_customer accepts the app's tokens and refuses the rest with one 401."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


@pytest.fixture
def app_mode():
    return "auth"


@pytest.mark.points(1)
async def test_valid_token_accepted(client, tables, shop):
    """a valid token identifies the customer its sub names"""
    await shop.seed()
    shop.accepted(await client.get("/probe/me", headers=shop.bearer(shop.token("1"))), "A valid token for customer 1")
    shop.accepted(
        await client.get("/probe/me", headers=shop.bearer(shop.token("2"))), "A valid token for customer 2", 2
    )


@pytest.mark.points(1)
async def test_no_token(client, tables, shop):
    """a request without a token is refused with 401 and WWW-Authenticate: Bearer"""
    await shop.seed()
    shop.accepted(await client.get("/probe/me", headers=shop.bearer(shop.token("1"))), "A valid token for customer 1")
    response = await client.get("/probe/me")
    expect(
        response.status_code == 401,
        f"A request without an Authorization header answered {response.status_code} {response.text[:160]}.",
        "Take the token from `Depends(oauth2_scheme)`, with "
        '`oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")`; it refuses a missing header itself.',
    )
    expect(
        response.headers.get("www-authenticate", "").lower().startswith("bearer"),
        "A request without a token was refused without `WWW-Authenticate: Bearer`.",
        "Keep OAuth2PasswordBearer's default `auto_error=True`: its 401 carries the header.",
    )


@pytest.mark.points(1)
async def test_expired_token(client, tables, shop):
    """an expired token is refused with the one 401"""
    await shop.seed()
    token = shop.token("1", iat=shop.t0 - shop.minutes(20), exp=shop.t0 - shop.minutes(5))
    shop.refused(
        await client.get("/probe/me", headers=shop.bearer(token)),
        "A token that expired 5 minutes ago",
        "Compare exp with the app's clock: `exp <= now` is expired. decode_access_token gets "
        "`now=clock.now()` from get_current_customer.",
        "claims = decode_access_token(settings, token, clock.now())",
    )


@pytest.mark.points(1)
async def test_tampered_payload(client, tables, shop):
    """a token whose payload was changed after signing is refused"""
    await shop.seed()
    token = shop.forge.tamper(shop.token("2"), sub="1")
    shop.refused(
        await client.get("/probe/me", headers=shop.bearer(token)),
        "Grace's token with its sub changed to Ada's (the signature left as it was)",
        "Let PyJWT verify the signature: `jwt.decode(token, key, algorithms=[...])`. Never read the claims with "
        "`options={'verify_signature': False}` or by base64-decoding the payload yourself.",
        shop.DECODE_CALL,
    )
