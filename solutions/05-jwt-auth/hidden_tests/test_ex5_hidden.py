"""Exercise 5, hidden: every token RFC 8725 says to refuse gets the same 401."""

import pytest

pytestmark = pytest.mark.exercise("ex5")

PINNED = (
    "Pin the algorithm: jwt.decode accepts exactly one, the settings'. Never take it from the token "
    "(`jwt.get_unverified_header(token)['alg']`) and never list several."
)
PINNED_ANSWER = "algorithms=[settings.jwt_algorithm],"
REQUIRE = 'options={"require": ["exp", "sub", "iss", "aud"], ...}'


@pytest.fixture
def app_mode():
    return "auth"


async def ask(client, shop, token):
    return await client.get("/probe/me", headers=shop.bearer(token))


@pytest.mark.points(1)
async def test_alg_none_refused(client, tables, shop):
    """a token with alg none and no signature is refused"""
    await shop.seed()
    shop.refused(
        await ask(client, shop, shop.forge.unsigned(shop.claims("1"))),
        "A token with `alg: none`",
        PINNED,
        PINNED_ANSWER,
    )


@pytest.mark.points(1)
async def test_other_algorithm_refused(client, tables, shop):
    """a token signed with the app's key but HS512 instead of HS256 is refused"""
    await shop.seed()
    token = shop.forge.sign(shop.claims("1"), shop.KEY, algorithm="HS512")
    shop.refused(
        await ask(client, shop, token),
        "A token signed with the app's key using HS512 (not HS256)",
        PINNED,
        PINNED_ANSWER,
    )


@pytest.mark.points(1)
async def test_other_key_refused(client, tables, shop):
    """a token signed with another key is refused"""
    await shop.seed()
    token = shop.forge.sign(shop.claims("1"), shop.OTHER_KEY)
    shop.refused(
        await ask(client, shop, token),
        "A token signed with another key",
        "Verify with the app's own key, from the settings (a SecretStr: ask it for its value), and let PyJWT check "
        "the signature.",
        shop.DECODE_CALL,
    )


@pytest.mark.points(1)
async def test_not_valid_yet_refused(client, tables, shop):
    """a token whose nbf is in the future is refused"""
    await shop.seed()
    token = shop.token("1", nbf=shop.t0 + shop.minutes(5))
    shop.refused(
        await ask(client, shop, token),
        "A token with `nbf` 5 minutes after the app's clock",
        "When the token has `nbf`, refuse it while `nbf > now`. With `verify_nbf: False` PyJWT leaves that to you.",
        'if "nbf" in claims and _timestamp(claims, "nbf") > moment:\n'
        '    raise InvalidToken("the token is not valid yet")',
    )


@pytest.mark.points(1)
async def test_missing_exp_refused(client, tables, shop):
    """a token without exp is refused"""
    await shop.seed()
    shop.refused(
        await ask(client, shop, shop.token("1", exp=None)),
        "A token without `exp` (valid forever)",
        "PyJWT only requires exp when told to, in the `options` of jwt.decode.",
        REQUIRE,
    )


@pytest.mark.points(1)
async def test_missing_sub_refused(client, tables, shop):
    """a token without sub is refused"""
    await shop.seed()
    shop.refused(
        await ask(client, shop, shop.token("1", sub=None)),
        "A token without `sub`",
        "Require sub as well, in the same `options` of jwt.decode.",
        REQUIRE,
    )


@pytest.mark.points(1)
async def test_sub_not_an_id_refused(client, tables, shop):
    """a token whose sub is not a customer id is refused, not a crash"""
    await shop.seed()
    shop.refused(
        await ask(client, shop, shop.token("ada@example.com")),
        "A token whose sub is 'ada@example.com' (not a customer id)",
        "Turning such a sub into an int raises ValueError: catch it along with InvalidToken, for the same 401.",
        shop.REFUSE_BAD_TOKEN,
    )


@pytest.mark.points(1)
async def test_empty_bearer_refused(client, tables, shop):
    """`Authorization: Bearer ` with an empty token is refused with the same 401"""
    await shop.seed()
    shop.refused(
        await ask(client, shop, ""),
        "`Authorization: Bearer ` with an empty token",
        "OAuth2PasswordBearer passes the empty string through: it is a bad token, not a guest. Decode it like "
        "any other (PyJWT refuses it) instead of `if not token: ...`.",
        shop.REFUSE_BAD_TOKEN,
    )


@pytest.mark.points(1)
async def test_deleted_customer_refused(client, tables, shop):
    """the valid token of a customer deleted since is refused"""
    await shop.seed(with_orders=False)
    token = shop.token("3")
    shop.accepted(await ask(client, shop, token), "Hedy's valid token, before Hedy was deleted", 3)
    shop.delete_customer(3)
    shop.refused(
        await ask(client, shop, token),
        "The valid token of a customer who was deleted after it was issued",
        "Load the customer on every request, inside the unit of work, and refuse with credentials_error() when "
        "there is none; do not keep customers from earlier requests.",
        "async with uow:\n"
        "    customer = await uow.customers.get(customer_id)\n"
        "if customer is None:\n"
        "    raise credentials_error()",
    )


@pytest.mark.points(1)
async def test_expiry_follows_the_clock(client, tables, shop):
    """a token expires when the app's clock passes exp, whatever the computer's clock says"""
    await shop.seed()
    token = shop.token("1")
    await shop.move_clock(shop.t0 + shop.minutes(14))
    shop.accepted(await ask(client, shop, token), "A token 14 minutes into its 15 (by the app's clock)")
    await shop.move_clock(shop.t0 + shop.minutes(16))
    shop.refused(
        await ask(client, shop, token),
        "A token that expired a minute ago by the app's clock (16 minutes after it was issued)",
        "Compare with the clock, `exp <= now` (now=`clock.now()`, from ClockDep), not with the computer's "
        "clock: PyJWT's own exp check uses datetime.now(). Turn it off (`verify_exp: False`) and compare yourself.",
        "claims = decode_access_token(settings, token, clock.now())",
    )
