"""Chapter 05's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, edits one or two solution cells so that they make exactly one
known mistake, grades it like a real submission (sandboxed learner process, visible and hidden
tests) and asserts that precisely the expected checks fail, the first of them with a message that
names the mistake, and every other check passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from support import assert_diagnosed, edited_cell, graded_mistakes

from grader.models import SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "05-jwt-auth"


def edited(grade_id: str, *changes: tuple[str, str]) -> str:
    return edited_cell(CHAPTER, grade_id, *changes)


class Mistake(NamedTuple):
    cells: dict[str, str]  # grade_id of each replaced solution cell -> the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain


# argon2 called straight from the async services: every other request waits for each hash.
HASH_ON_THE_LOOP = ("hashed = await asyncio.to_thread(hash_password, password)", "hashed = hash_password(password)")
VERIFY_ON_THE_LOOP = (
    "password_ok = await asyncio.to_thread(verify_password, password, hashed)",
    "password_ok = verify_password(password, hashed)",
)
# The verifier reads the algorithm from the token's header (and so accepts HS512, and chokes on alg none).
ALGORITHM_FROM_HEADER = (
    "algorithms=[settings.jwt_algorithm],",
    'algorithms=[jwt.get_unverified_header(token)["alg"]],',
)
# PyJWT's default: exp is checked only when the token has one.
EXP_NOT_REQUIRED = [
    ('"require": ["exp", "sub", "iss", "aud"]', '"require": ["sub", "iss", "aud"]'),
    ('if _timestamp(claims, "exp") <= moment:', 'if "exp" in claims and _timestamp(claims, "exp") <= moment:'),
]
# PyJWT compares exp and nbf with the computer's clock; the `now` argument is ignored.
REAL_TIME_ONLY = [
    (
        """            options={
                "require": ["exp", "sub", "iss", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },""",
        'options={"require": ["exp", "sub", "iss", "aud"]},',
    ),
    (
        """    moment = now.timestamp()
    if _timestamp(claims, "exp") <= moment:
        raise InvalidToken("the token has expired")
    if "nbf" in claims and _timestamp(claims, "nbf") > moment:
        raise InvalidToken("the token is not valid yet")
""",
        "",
    ),
]
# "Bearer " with nothing after it is taken for a guest.
EMPTY_TOKEN_IS_A_GUEST = (
    "    try:\n        claims = decode_access_token",
    "    if not token:  # no token yet: a guest\n        return None\n    try:\n        claims = decode_access_token",
)
# Customers remembered from earlier requests: a deleted customer's token keeps working.
CUSTOMER_CACHE = (
    """    async with uow:
        customer = await uow.customers.get(customer_id)
    if customer is None:""",
    """    customer = KNOWN_CUSTOMERS.get(customer_id)
    if customer is None:  # one query per customer, not per request
        async with uow:
            customer = await uow.customers.get(customer_id)
        if customer is not None:
            KNOWN_CUSTOMERS[customer_id] = customer
    if customer is None:""",
)
# The service says which of the two was wrong, and the route passes that on.
TELLING_SERVICE = (
    """    hashed = customer.hashed_password if customer is not None else DUMMY_HASH
    password_ok = await asyncio.to_thread(verify_password, password, hashed)
    if customer is None or not password_ok:
        raise InvalidCredentials("incorrect email or password")""",
    """    hashed = customer.hashed_password if customer is not None else DUMMY_HASH
    password_ok = await asyncio.to_thread(verify_password, password, hashed)
    if customer is None:
        raise InvalidCredentials("no customer has this email")
    if not password_ok:
        raise InvalidCredentials("wrong password")""",
)
TELLING_ROUTE = (
    """    except InvalidCredentials:
        raise HTTPException(
            status_code=401, detail="Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
        ) from None""",
    """    except InvalidCredentials as exc:
        raise HTTPException(status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}) from None""",
)
# An unknown email is refused at once: no hash is verified, so it is answered a tenth of a second sooner.
EARLY_RETURN = (
    "    hashed = customer.hashed_password if customer is not None else DUMMY_HASH\n",
    "    if customer is None:\n"
    '        raise InvalidCredentials("incorrect email or password")\n'
    "    hashed = customer.hashed_password\n",
)
# Plain SHA-256: unsalted and fast.
SHA256 = """
password_hash = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def verify_password(password: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_password(password), hashed)


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
"""
# argon2i (argon2-cffi's Type.I) instead of argon2id: verifies fine, but not the variant the contract asks for.
ARGON2I = """
import argon2

password_hash = PasswordHash.recommended()
argon2i = argon2.PasswordHasher(type=argon2.Type.I)


def hash_password(password: str) -> str:
    return argon2i.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return password_hash.verify(password, hashed)


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
"""
# get_order finds an order by id, whoever it belongs to.
ANY_ORDER = ("    if order is None or order.customer_id != customer_id:", "    if order is None:")
# The route refuses someone else's order with 403, which confirms that it exists.
FORBIDDEN_ORDER = [
    ANY_ORDER,
    (
        """        order = await get_order(uow, customer.id, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None""",
        """        order = await get_order(uow, customer.id, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None
    if order.customer_id != customer.id:
        raise HTTPException(status_code=403, detail="this is not your order")""",
    ),
]
# Only the length is checked: a published key of 64 characters passes.
LENGTH_ONLY = (
    """        if key.strip().lower() in TUTORIAL_KEYS:
            raise ValueError("jwt_secret is a key printed in a tutorial: anyone can sign tokens with it")
""",
    "",
)

# Check-then-insert only: a registration that loses the race crashes on the unique constraint.
DUPLICATE_LEFT_TO_CRASH = (
    """        try:
            await uow.commit()
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            raise EmailTaken(email) from None  # another registration with this email committed first""",
    "        await uow.commit()",
)

# The audience is checked, the issuer is not: a token another service issued with a shared key passes.
ISSUER_NOT_CHECKED = ("            issuer=settings.jwt_issuer,\n", "")
# The email is stored as it was typed: "Ada@Example.com" is a second account, and cannot log in as ada@.
EMAIL_AS_TYPED = ("        email = normalise_email(email)\n", "")

MISTAKES = {
    "the issuer of a token is not checked": Mistake(
        {"ex3-solution": edited("ex3-solution", ISSUER_NOT_CHECKED)},
        ("test_issuer_and_audience",),
        ("decode_access_token accepted a token from another issuer", "issuer=settings.jwt_issuer"),
    ),
    "the email stored as it was typed": Mistake(
        {"ex4-solution": edited("ex4-solution", EMAIL_AS_TYPED)},
        ("test_emails_are_normalised",),
        ("expected ['katherine.j@example.com']", "normalise_email(email)"),
    ),
    "a registration that loses the race crashes (IntegrityError)": Mistake(
        {"ex4-solution": edited("ex4-solution", DUPLICATE_LEFT_TO_CRASH)},
        ("test_registration_race_for_one_email",),
        ("at the same moment gave", "IntegrityError", "unique constraint"),
    ),
    "algorithm taken from the token's header": Mistake(
        {"ex3-solution": edited("ex3-solution", ALGORITHM_FROM_HEADER)},
        (
            "test_decode_pins_the_algorithm",
            "test_refuses_other_algorithms",
            "test_alg_none_refused",
            "test_other_algorithm_refused",
        ),
        ("a token whose header says `alg: none`", "expected InvalidToken", "the token's own header, or your settings"),
    ),
    "exp not required": Mistake(
        {"ex3-solution": edited("ex3-solution", *EXP_NOT_REQUIRED)},
        ("test_requires_exp_and_sub", "test_missing_exp_refused"),
        ("accepted a token without exp", 'options={"require": ["exp", "sub", "iss", "aud"], ...}'),
    ),
    "exp and nbf compared with the computer's clock": Mistake(
        {"ex3-solution": edited("ex3-solution", *REAL_TIME_ONLY)},
        ("test_decode_compares_with_now", "test_expiry_follows_the_clock", "test_login_token_expires"),
        ("with `now` exactly at exp returned", "not with the computer's clock"),
    ),
    "empty bearer token taken for a guest": Mistake(
        {"ex5-solution": edited("ex5-solution", EMPTY_TOKEN_IS_A_GUEST)},
        ("test_empty_bearer_refused",),
        ("`Authorization: Bearer ` with an empty token crashed the app (500)", "passes the empty string through"),
    ),
    "deleted customer's token still accepted": Mistake(
        {"ex5-solution": "KNOWN_CUSTOMERS = {}\n\n" + edited("ex5-solution", CUSTOMER_CACHE)},
        ("test_deleted_customer_refused",),
        ("The valid token of a customer who was deleted after it was issued was accepted", "on every request"),
    ),
    "wrong password and unknown email answered differently": Mistake(
        {
            "ex4-solution": edited("ex4-solution", TELLING_SERVICE),
            "ex6-solution": edited("ex6-solution", TELLING_ROUTE),
        },
        (
            "test_unknown_email_and_wrong_password_look_alike",
            "test_failures_look_the_same",
            "test_failed_logins_look_the_same",
        ),
        ("An unknown email raised InvalidCredentials ('no customer has this email')", "which emails have accounts"),
    ),
    "unknown email refused without verifying a hash": Mistake(
        {"ex4-solution": edited("ex4-solution", EARLY_RETURN)},
        ("test_unknown_email_costs_a_verification", "test_unknown_email_verifies_a_hash"),
        ("verified 0 password hash(es) for an unknown email and 1 for a wrong password", "Argon2 is slow on purpose"),
    ),
    "plain sha256 instead of argon2id": Mistake(
        {"ex1-solution": SHA256},
        (
            "test_hash_is_argon2id",
            "test_verify_password",
            "test_hashes_are_salted",
            "test_register_customer",
            "test_register",
        ),
        ("expected an argon2id hash", "fast to brute-force"),
    ),
    "argon2i instead of argon2id": Mistake(
        {"ex1-solution": ARGON2I},
        ("test_hash_is_argon2id", "test_hashes_are_salted", "test_register_customer", "test_register"),
        ("returned '$argon2i$", "expected an argon2id hash"),
    ),
    "another customer's order readable": Mistake(
        {"ex6-solution": edited("ex6-solution", ANY_ORDER)},
        ("test_another_customers_order_is_not_found", "test_other_customers_order_is_404"),
        ("GET /orders/2, Ada's order, with Grace's token answered 200", "What would the answer be"),
    ),
    "another customer's order answered 403": Mistake(
        {"ex6-solution": edited("ex6-solution", *FORBIDDEN_ORDER)},
        ("test_another_customers_order_is_not_found", "test_other_customers_order_is_404"),
        ("with Grace's token answered 403", "a 403 tells them the order exists"),
    ),
    "argon2 run on the event loop": Mistake(
        {"ex4-solution": edited("ex4-solution", HASH_ON_THE_LOOP, VERIFY_ON_THE_LOOP)},
        ("test_hashing_runs_off_the_event_loop",),
        ("While two authenticate calls were hashing", "the event loop was busy hashing", "asyncio.to_thread"),
    ),
    "registration hashes on the event loop": Mistake(
        {"ex4-solution": edited("ex4-solution", HASH_ON_THE_LOOP)},
        ("test_hashing_runs_off_the_event_loop",),
        ("While two register_customer calls were hashing", "the event loop was busy hashing"),
    ),
    "tutorial key accepted": Mistake(
        {"ex2-solution": edited("ex2-solution", LENGTH_ONLY)},
        ("test_tutorial_keys_refused",),
        ("(a key printed in a tutorial, 64 bytes) was accepted", "TUTORIAL_KEYS"),
    ),
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, {case: m.cells for case, m in MISTAKES.items()})


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    assert_diagnosed(graded[case], mistake.cells, mistake.failing, {mistake.failing[0]: mistake.message})
