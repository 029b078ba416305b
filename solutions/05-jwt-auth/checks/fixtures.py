"""Chapter 05 fixtures: the learner's app with a movable clock and a known key, the shop's rows,
tokens forged from the grader side, and the probes that call passwords, settings and token code.

Probes run in the learner's process and return plain data; every verdict is computed here.

- ``build_app`` (the ``client`` fixture's app) signs with ``KEY`` (``grader.checks.jwt.TEST_KEY``) and gets
  *now* from a movable clock (``grader.checks.clock``) that starts at the test's ``t0``. ``mode="app"`` is
  ``create_app`` with every route; ``mode="auth"`` is a bare app with one route, ``GET /probe/me``, that
  depends only on ``get_current_customer``, so exercise 5 is checked before exercise 6's router exists.
- Settings are built with ``Settings.model_construct`` everywhere except in exercise 2's checks, so a
  validator that is not written yet fails exercise 2 only.
- The shop's rows, the tables, ``t0`` and ``app_kwargs`` are the ones chapters 05 and 07 share
  (``grader.checks.bookshop``, ``grader.checks.fixtures``).
- Customers are seeded with a hash made by the grader (``hash_of``) when their password is never
  typed, and with the learner's ``hash_password`` (``learner_hashes``) when a check logs in, so a
  wrong hash format fails the hashing checks, not every login.
- ``cheap_hashing`` (autouse): argon2id at its lowest cost while a check runs, except in the check that
  measures hashing against the event loop (``full_cost_hashing``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from grader.checks import bookshop, expect
from grader.checks import fixtures as shared
from grader.checks import jwt as forge
from grader.checks.bookshop import CUSTOMERS, LINES, ORDERS, PASSWORDS, hash_of
from grader.checks.clock import format_time, move_clock_probe

KEY = forge.TEST_KEY  # the app's signing key in every check
OTHER_KEY = "YW5vdGhlci1rZXktb2YtZm9ydHktdHdvLWJ5dGVzLXg"
CREDENTIALS_BODY = {"detail": "Could not validate credentials"}

# Key lines (the second level of a hint) that more than one check shows.
DECODE_CALL = (
    "claims = jwt.decode(token, settings.jwt_secret.get_secret_value(), algorithms=[settings.jwt_algorithm], "
    "audience=settings.jwt_audience, issuer=settings.jwt_issuer, options={...})"
)
REFUSE_BAD_TOKEN = "except (InvalidToken, ValueError):\n    raise credentials_error() from None"
CREDENTIALS_ERROR = (
    "return HTTPException(\n"
    '    status_code=401, detail="Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}\n'
    ")"
)


def grader_verifies(password: str, hashed: Any) -> bool:
    """Whether pwdlib's recommended hasher, in the grader, accepts ``password`` for ``hashed``."""
    from pwdlib import PasswordHash

    try:
        return isinstance(hashed, str) and PasswordHash.recommended().verify(password, hashed)
    except Exception:  # not an argon2 hash at all (sha256 hex, plain text, ...)
        return False


def outcome(answer: dict[str, Any], value_key: str = "value") -> str:
    """What a service probe saw, in words: 'raised X: message' or 'returned value'."""
    if answer.get("raised"):
        return f"raised {answer['raised']}: {answer.get('message', '')}"
    return f"returned {answer.get(value_key)!r}"


def describe_hash(hashed: Any) -> str:
    text = repr(hashed)
    return text if len(text) <= 60 else text[:57] + "...'"


# -- probes: run in the learner's process ----------------------------------------------------------


async def build_app(ns, database_url, jwt_secret, clock_at, mode="app"):
    """Probe: the app under test, its tables created, signing with ``jwt_secret``, its clock at ``clock_at``."""
    from typing import Annotated

    from fastapi import Depends

    from grader.checks.bookshop import auth_settings, bare_app, create_tables
    from grader.checks.clock import parse_time, shared_clock

    needed = ["Base", "make_engine", "make_sessionmaker", "Settings", "get_clock"]
    needed += {"app": ["create_app"], "auth": ["get_current_customer"]}.get(mode, ["UnitOfWork"])
    for name in needed:
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run every cell above the check, in order)")
    await create_tables(ns, database_url)
    settings = auth_settings(ns, database_url, jwt_secret)
    if mode == "app":
        app = ns["create_app"](settings)
    elif mode == "auth":
        app = bare_app(ns, settings, database_url)

        async def me(customer: Annotated[object, Depends(ns["get_current_customer"])]):
            return {"id": customer.id, "email": customer.email}

        app.add_api_route("/probe/me", me, methods=["GET"])
    else:  # "services": exercise 4's services behind routes, before exercise 6's router exists
        app = bare_app(ns, settings, database_url)

        async def log_in(body: dict):
            customer = await ns["authenticate"](
                ns["UnitOfWork"](app.state.sessionmaker), body["email"], body["password"]
            )
            return {"id": customer.id}

        async def register(body: dict):
            uow = ns["UnitOfWork"](app.state.sessionmaker)
            customer = await ns["register_customer"](uow, body["name"], body["email"], body["password"])
            return {"id": customer.id}

        async def ping():
            return {}

        app.add_api_route("/probe/login", log_in, methods=["POST"])
        app.add_api_route("/probe/register", register, methods=["POST"])
        app.add_api_route("/probe/ping", ping, methods=["GET"])
    clock = shared_clock("app", parse_time(clock_at))
    app.dependency_overrides[ns["get_clock"]] = lambda: clock
    return app


async def hash_passwords_probe(ns, passwords):
    """Probe: the learner's ``hash_password`` of each password."""
    if "hash_password" not in ns:
        raise NameError("name 'hash_password' is not defined")
    return [ns["hash_password"](password) for password in passwords]


# -- fixtures ----------------------------------------------------------------------------------------


t0 = shared.t0


@pytest.fixture
def app_mode() -> str:
    """``app`` (create_app), ``auth`` (only get_current_customer) or ``services`` (exercise 4's services behind
    plain routes); test modules override it."""
    return "app"


@pytest.fixture
def app_probe():
    return build_app


app_kwargs = shared.signed_app_kwargs
tables = shared.tables_fixture("the models")


def expect_accepted(response, what: str, customer_id: int = 1) -> None:
    """A request with a token the app must accept answered 200 for the right customer."""
    expect(
        response.status_code == 200,
        f"{what}: answered {response.status_code} {response.text[:200]}, expected 200.",
        "Decode with the key and algorithm from the settings and compare exp with `clock.now()`; then "
        "load the customer whose id is the token's `sub`, as a number. A 500 means get_current_customer crashed.",
        answer='claims = decode_access_token(settings, token, clock.now())\ncustomer_id = int(claims["sub"])',
    )
    body = response.json()
    expect(
        isinstance(body, dict) and body.get("id") == customer_id,
        f"{what}: answered as customer {body.get('id') if isinstance(body, dict) else body!r}, "
        f"expected customer {customer_id} (the token's sub).",
        "Return the customer whose id is the token's `sub`.",
        answer="customer = await uow.customers.get(customer_id)",
    )


def expect_refused(response, what: str, hint_if_accepted: str, answer_if_accepted: str = "") -> None:
    """The same 401 for every bad token: status, `WWW-Authenticate: Bearer`, and the credentials body.
    ``hint_if_accepted`` and ``answer_if_accepted`` are the two levels of the hint for a token let through."""
    status = response.status_code
    if status == 200:
        expect(False, f"{what} was accepted (200 {response.text[:120]}).", hint_if_accepted, answer_if_accepted)
    if status == 500:
        expect(
            False,
            f"{what} crashed the app (500) instead of being refused with 401.",
            f"{hint_if_accepted} Every bad token must end as the 401 of `credentials_error()`: "
            "decode_access_token raises only InvalidToken (it catches the parent of PyJWT's errors), and "
            "get_current_customer catches InvalidToken and a `sub` that is not a number.",
            answer=REFUSE_BAD_TOKEN,
        )
    expect(
        status == 401,
        f"{what} was answered {status} {response.text[:160]}, expected 401.",
        "A bad token is an authentication failure: 401 from `credentials_error()`, not 400, 403 or 404.",
        answer=REFUSE_BAD_TOKEN,
    )
    challenge = response.headers.get("www-authenticate", "")
    expect(
        challenge.lower().startswith("bearer"),
        f"{what} was refused with 401 but without the header `WWW-Authenticate: Bearer` (it has {challenge!r}).",
        "RFC 6750 asks for the challenge on every 401: credentials_error() gives its HTTPException the header.",
        answer=CREDENTIALS_ERROR,
    )
    try:
        body = response.json()
    except ValueError:
        body = response.text[:160]
    expect(
        body == CREDENTIALS_BODY,
        f"{what} was refused with the body {body!r}; every refused token must get the same body, {CREDENTIALS_BODY}.",
        "Raise `credentials_error()` for every failure and do not say what was wrong with the token: the reason "
        "helps whoever is forging one.",
        answer=REFUSE_BAD_TOKEN,
    )


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


class Shop:
    """What a test needs around the app: rows, tokens, the clock, and the verdict on a refused request."""

    KEY = KEY
    OTHER_KEY = OTHER_KEY
    DECODE_CALL = DECODE_CALL
    REFUSE_BAD_TOKEN = REFUSE_BAD_TOKEN
    CUSTOMERS = CUSTOMERS
    PASSWORDS = PASSWORDS
    ORDERS = ORDERS
    LINES = LINES
    forge = forge  # grader.checks.jwt: sign, unsigned, tamper, read
    # Verdict helpers, reached through the fixture (test modules cannot import this file).
    accepted = staticmethod(expect_accepted)
    refused = staticmethod(expect_refused)
    minutes = staticmethod(minutes)

    def __init__(self, learner, db, t0: datetime) -> None:
        self.learner = learner
        self.db = db
        self.t0 = t0

    async def learner_hashes(self, ids: list[int]) -> dict[int, str]:
        """The learner's ``hash_password`` of the passwords of customers ``ids``."""
        observed = await self.learner.probe(hash_passwords_probe, passwords=[PASSWORDS[i] for i in ids])
        expect(
            observed.ok,
            f"`hash_password(...)` raised {observed.describe_error()}, so no customer could be registered to log in.",
            "Exercise 1 comes first: hash_password hands the password to pwdlib's hasher and returns its hash.",
            answer="return password_hash.hash(password)",
        )
        return dict(zip(ids, observed.value, strict=True))

    async def seed(self, *, with_orders: bool = True, login: tuple[int, ...] = ()) -> None:
        """The shop's rows; customers in ``login`` get the learner's hash of their password."""
        hashes = await self.learner_hashes(list(login)) if login else {}
        customers = [
            (customer_id, name, email, hashes.get(customer_id) or hash_of(PASSWORDS[customer_id]), 0)
            for customer_id, name, email in CUSTOMERS
        ]
        bookshop.insert(
            self.db,
            authors=bookshop.SHOP_AUTHORS,
            books=bookshop.SHOP_BOOKS,
            customers=customers,
            orders=ORDERS if with_orders else (),
            lines=LINES if with_orders else (),
        )

    def claims(self, subject: Any = "1", **changes: Any) -> dict[str, Any]:
        """Claims as the app would issue them at ``t0`` (sub, iat, exp = t0 + 15 min), with ``changes``."""
        return forge.standard_claims(subject, at=self.t0, **changes)

    def token(self, subject: Any = "1", **changes: Any) -> str:
        """A token the app must accept: HS256 with the app's key, issued at ``t0``."""
        return forge.sign(self.claims(subject, **changes), KEY)

    def customer_json(self, customer_id: int) -> dict[str, Any]:
        _, name, email = CUSTOMERS[customer_id - 1]
        return {"id": customer_id, "name": name, "email": email}

    def order_json(self, order_id: int) -> dict[str, Any]:
        customer_id = dict(ORDERS)[order_id]
        lines = [{"book_id": book, "quantity": q} for _, order, book, q in LINES if order == order_id]
        return {"id": order_id, "customer_id": customer_id, "lines": lines}

    async def move_clock(self, to: datetime) -> None:
        observed = await self.learner.probe(move_clock_probe, name="app", to=format_time(to))
        expect(observed.ok, f"The app's clock could not be moved: {observed.describe_error()}.")

    def delete_customer(self, customer_id: int) -> None:
        self.db.execute("DELETE FROM customers WHERE id = ?", (customer_id,))

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return forge.bearer(token)


@pytest.fixture
def shop(learner, db, t0) -> Shop:
    return Shop(learner, db, t0)


# -- argon2's cost ---------------------------------------------------------------------------------------


async def cheap_hashing_probe(ns, on):
    """Probe: put argon2id at its lowest cost in place of the notebook's ``password_hash`` (``on``), or the
    learner's own back. The cheap one carries the learner's, so nothing is added to the namespace."""
    from pwdlib import PasswordHash

    from grader.checks.bookshop import cheap_password_hash

    current = ns.get("password_hash")
    if not on:
        if hasattr(current, "grader_replaced"):
            ns["password_hash"] = current.grader_replaced
        return None
    if isinstance(current, PasswordHash) and not hasattr(current, "grader_replaced"):
        cheap = cheap_password_hash()
        cheap.grader_replaced = current
        ns["password_hash"] = cheap
    return None


@pytest.fixture(autouse=True)
async def cheap_hashing(request, learner):
    """While a check runs, the learner's ``password_hash`` hashes at argon2id's lowest cost (about 1 ms
    instead of 130): what a hash costs is not what these checks grade, and a chapter's checks made some
    sixty of them. A check that measures hashing against the event loop asks for ``full_cost_hashing``."""
    if "full_cost_hashing" in request.fixturenames:
        yield
        return
    await learner.probe(cheap_hashing_probe, on=True)
    try:
        yield
    finally:
        await learner.probe(cheap_hashing_probe, on=False)


@pytest.fixture
def full_cost_hashing():
    """Asked for by a check whose verdict depends on what one hash costs."""


# -- probes for the functions of exercises 1 to 4 ------------------------------------------------------


async def dummy_hash_probe(ns):
    """Probe: the learner's DUMMY_HASH."""
    if "DUMMY_HASH" not in ns:
        raise NameError("name 'DUMMY_HASH' is not defined")
    return ns["DUMMY_HASH"]


async def settings_probe(ns, keys):
    """Probe: two default Settings() (BOOKSHOP_* variables set aside) and Settings(jwt_secret=key) for each key."""
    import os

    if "Settings" not in ns:
        raise NameError("name 'Settings' is not defined")
    settings_class = ns["Settings"]
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("BOOKSHOP_")}
    try:
        defaults = []
        for _ in range(2):
            settings = settings_class()
            secret = settings.jwt_secret
            plain = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
            defaults.append(
                {
                    "type": type(secret).__name__,
                    "bytes": len(str(plain).encode()),
                    "fingerprint": hash(str(plain)),
                    "in_repr": str(plain) in repr(settings),
                    "algorithm": settings.jwt_algorithm,
                    "minutes": settings.access_token_minutes,
                }
            )
        tried = {}
        for key in keys:
            try:
                settings_class(jwt_secret=key)
            except Exception as exc:
                tried[key] = {"raised": type(exc).__name__, "echoes_key": key in str(exc)}
            else:
                tried[key] = {"raised": None, "echoes_key": False}
        return {"defaults": defaults, "tried": tried}
    finally:
        os.environ.update(saved)


async def create_token_probe(ns, jwt_secret, subject, at, minutes):
    """Probe: create_access_token(settings, subject, at) with settings signing by jwt_secret for `minutes`."""
    from pydantic import SecretStr

    from grader.checks.clock import parse_time

    for name in ("Settings", "create_access_token"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    settings = ns["Settings"].model_construct(
        jwt_secret=SecretStr(jwt_secret), jwt_algorithm="HS256", access_token_minutes=minutes
    )
    token = ns["create_access_token"](settings, subject, parse_time(at))
    return token if isinstance(token, str) else {"not_a_string": repr(token)[:200]}


async def decode_tokens_probe(ns, jwt_secret, cases):
    """Probe: decode_access_token(settings, token, now) for each [label, token, now]; claims or what it raised."""
    from pydantic import SecretStr

    from grader.checks.clock import parse_time

    for name in ("Settings", "decode_access_token"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    settings = ns["Settings"].model_construct(
        jwt_secret=SecretStr(jwt_secret), jwt_algorithm="HS256", access_token_minutes=15
    )
    seen = {}
    for label, token, now in cases:
        try:
            claims = ns["decode_access_token"](settings, token, parse_time(now))
        except Exception as exc:
            seen[label] = {"raised": type(exc).__name__, "message": str(exc)[:200], "claims": None}
        else:
            seen[label] = {
                "raised": None,
                "message": "",
                "claims": claims if isinstance(claims, dict) else repr(claims),
            }
    return seen


async def register_probe(ns, database_url, name, email, password):
    """Probe: register_customer(UnitOfWork(...), name, email, password); the customer or what it raised."""
    for needed in ("register_customer", "UnitOfWork", "make_engine", "make_sessionmaker"):
        if needed not in ns:
            raise NameError(f"name {needed!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
        try:
            customer = await ns["register_customer"](uow, name, email, password)
        except Exception as exc:
            return {"raised": type(exc).__name__, "message": str(exc)[:200], "value": None}
        found = {"type": type(customer).__name__}
        for attribute in ("id", "name", "email", "is_admin"):
            found[attribute] = getattr(customer, attribute, None)
        return {"raised": None, "message": "", "value": found}
    finally:
        await engine.dispose()


async def authenticate_probe(ns, database_url, attempts):
    """Probe: authenticate(UnitOfWork(...), email, password) for each [email, password]: the customer id or what
    it raised, and how many password verifications it made (calls of verify_password, or of argon2's verify
    outside of it)."""
    import argon2

    for needed in ("authenticate", "verify_password", "UnitOfWork", "make_engine", "make_sessionmaker"):
        if needed not in ns:
            raise NameError(f"name {needed!r} is not defined")
    counts = {"verifications": 0, "depth": 0}
    original_verify_password = ns["verify_password"]
    original_argon2_verify = argon2.PasswordHasher.verify

    def counted_verify_password(*args, **kwargs):
        counts["verifications"] += 1
        counts["depth"] += 1
        try:
            return original_verify_password(*args, **kwargs)
        finally:
            counts["depth"] -= 1

    def counted_argon2_verify(self, *args, **kwargs):
        if counts["depth"] == 0:
            counts["verifications"] += 1
        return original_argon2_verify(self, *args, **kwargs)

    engine = ns["make_engine"](database_url)
    ns["verify_password"] = counted_verify_password
    argon2.PasswordHasher.verify = counted_argon2_verify
    results = []
    try:
        for email, password in attempts:
            counts["verifications"] = 0
            uow = ns["UnitOfWork"](ns["make_sessionmaker"](engine))
            try:
                customer = await ns["authenticate"](uow, email, password)
            except Exception as exc:
                results.append({"raised": type(exc).__name__, "message": str(exc)[:200], "id": None})
            else:
                results.append({"raised": None, "message": "", "id": getattr(customer, "id", repr(customer)[:100])})
            results[-1]["verifications"] = counts["verifications"]
        return results
    finally:
        ns["verify_password"] = original_verify_password
        argon2.PasswordHasher.verify = original_argon2_verify
        await engine.dispose()


async def attempt_logins(learner, tables, shop, attempts, login):
    """What ``authenticate`` did for each [email, password] (``authenticate_probe``), the customers in ``login``
    seeded with the learner's own hash of their password."""
    await shop.seed(with_orders=False, login=login)
    observed = await learner.probe(authenticate_probe, database_url=tables.url, attempts=attempts)
    expect(observed.ok, f"`authenticate(...)` could not be called: {observed.describe_error()}.")
    return observed.value


@pytest.fixture
def auth_checks():
    """This module's helpers and probes, for the test modules (which cannot import it)."""
    import types

    return types.SimpleNamespace(**{name: value for name, value in globals().items() if not name.startswith("_")})
