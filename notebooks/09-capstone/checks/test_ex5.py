"""Exercise 5: the services hold the rules and know nothing of the web framework."""

import jwt
import pytest

from grader.checks import expect
from grader.checks.jwt import AUDIENCE, ISSUER

pytestmark = pytest.mark.exercise("ex5")

REGISTER_ANSWER = (
    "hashed = await asyncio.to_thread(hash_password, password)\n"
    "customer = Customer(name=name, email=email, hashed_password=hashed, is_admin=False)\n"
    "uow.customers.add(customer)\n"
    "await uow.commit()"
)
TOKEN_ANSWER = "return create_access_token(settings, str(customer.id), now)"
SERVICES = {
    "app.services.catalogue": ["list_authors", "list_books", "get_book"],
    "app.services.customers": ["register_customer", "authenticate", "log_in", "current_customer"],
    "app.services.orders": ["place_order", "list_orders", "get_order"],
}


@pytest.fixture
async def customers_service(probe, db, fixtures, shop):
    """``await call("authenticate", email=..., password=...)``: a function of app.services.customers, called on
    the test database (its tables created), as the service probe saw it."""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")

    async def call(function, **kwargs):
        observed = await probe(
            fixtures.service_probe,
            database_url=db.url,
            module="customers",
            function=function,
            kwargs=kwargs,
            jwt_secret=shop.SECRET,
        )
        return fixtures.expect_probe_ok(observed, f"Calling app.services.customers.{function}")

    return call


@pytest.mark.points(2)
async def test_register_and_authenticate(customers_service, db, shop):
    """register_customer stores an argon2id hash; EmailTaken; one answer for a wrong password and an unknown email"""
    call = customers_service

    ada = {"name": "Ada", "email": "ada@example.com", "password": shop.PASSWORD}
    registered = await call("register_customer", **ada)
    expect(
        registered["raised"] is None and (registered["value"] or {}).get("model") == "Customer",
        f"register_customer(uow, 'Ada', 'ada@example.com', ...) gave {registered}, expected a Customer.",
        "Build a Customer that holds the password's hash (never the password), add it through uow.customers, "
        "commit, and return it.",
        answer=REGISTER_ANSWER,
    )
    rows = db.rows("SELECT id, email, hashed_password FROM customers")
    expect(
        len(rows) == 1 and rows[0]["hashed_password"].startswith("$argon2id$"),
        "After register_customer, the customers table holds "
        f"{[(r['email'], r['hashed_password'][:12]) for r in rows]}: expected one customer whose hashed_password "
        "is an argon2id hash.",
        "Store the hash `hash_password` makes (pwdlib's argon2id), never the password itself, and commit.",
        answer=REGISTER_ANSWER,
    )
    again = await call("register_customer", **(ada | {"name": "Ada again"}))
    expect(
        again["raised"] == "EmailTaken" and len(db.rows("SELECT id FROM customers")) == 1,
        f"Registering ada@example.com a second time gave {again['raised'] or again['value']}, expected EmailTaken "
        "and still one customer.",
        "Look the email up with uow.customers.get_by_email before adding; raise EmailTaken if found.",
        answer="if await uow.customers.get_by_email(email) is not None:\n"
        '    raise EmailTaken("a customer with this email address exists already")',
    )
    wrong = await call("authenticate", email=ada["email"], password="not the password")
    unknown = await call("authenticate", email="nobody@example.com", password=ada["password"])
    expect(
        wrong["raised"] == "InvalidCredentials" and unknown["raised"] == "InvalidCredentials",
        f"authenticate with a wrong password raised {wrong['raised']}, with an unknown email {unknown['raised']}: "
        "expected InvalidCredentials for both.",
        "Raise InvalidCredentials when the customer is None or the password does not match.",
        answer="hashed = customer.hashed_password if customer is not None else dummy_hash()\n"
        "matches = await asyncio.to_thread(verify_password, password, hashed)\n"
        "if customer is None or not matches:\n"
        '    raise InvalidCredentials("wrong email or password")',
    )
    expect(
        wrong["message"] == unknown["message"],
        f"A wrong password says {wrong['message']!r}, an unknown email {unknown['message']!r}: the difference tells "
        "an attacker which emails are registered.",
        "One message for both, e.g. 'wrong email or password'.",
    )
    token = await call("log_in", email=ada["email"], password=ada["password"])
    expect(
        token["raised"] is None and isinstance(token["value"], str),
        f"log_in with the right password gave {token['raised'] or token['value']}, expected a token (a str).",
        "Return the token that create_access_token makes for the authenticated customer.",
        answer=TOKEN_ANSWER,
    )
    try:
        claims = jwt.decode(token["value"], shop.SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.PyJWTError as exc:
        claims = {"error": str(exc)}
    expect(
        claims.get("sub") == str(rows[0]["id"]),
        f"log_in's token carries {claims}, expected sub={str(rows[0]['id'])!r} signed with the settings' key.",
        "The token's subject is the customer's id as a string; create_access_token signs it with the settings' key.",
        answer=TOKEN_ANSWER,
    )


@pytest.mark.points(1)
async def test_emails_are_normalised(customers_service, db, shop):
    """register_customer stores the email as normalise_email spells it; authenticate finds it spelled otherwise"""
    registered = await customers_service(
        "register_customer", name="Grace", email="  Grace.Hopper@Example.COM ", password=shop.PASSWORD
    )
    rows = db.rows("SELECT email FROM customers")
    expect(
        registered["raised"] is None and [row["email"] for row in rows] == ["grace.hopper@example.com"],
        f"register_customer with the email '  Grace.Hopper@Example.COM ' gave {registered['raised'] or 'a customer'} "
        f"and stored {[row['email'] for row in rows]}, expected ['grace.hopper@example.com']: two spellings of one "
        "address would be two accounts.",
        "Every email goes through core/security.py's one spelling before it is stored or looked up.",
        answer="email = normalise_email(email)",
    )
    found = await customers_service("authenticate", email="GRACE.HOPPER@example.com", password=shop.PASSWORD)
    expect(
        found["raised"] is None,
        f"authenticate('GRACE.HOPPER@example.com', the right password) raised {found['raised']}: the address is "
        "registered, spelled otherwise.",
        "Look the email up the way it was stored.",
        answer="customer = await uow.customers.get_by_email(normalise_email(email))",
    )


@pytest.mark.points(1)
async def test_unknown_email_costs_a_verification(customers_service, shop):
    """authenticate verifies the password once for an unknown email too, against dummy_hash()"""
    await customers_service("register_customer", name="Ada", email="ada@example.com", password=shop.PASSWORD)
    wrong = await customers_service("authenticate", email="ada@example.com", password="not the password")
    unknown = await customers_service("authenticate", email="nobody@example.com", password="not the password")
    expect(
        unknown["verifications"] == wrong["verifications"] == 1,
        f"authenticate verified a password {wrong['verifications']} time(s) for a wrong password and "
        f"{unknown['verifications']} for an unknown email: an answer that comes back faster for an unknown email "
        "tells an attacker which emails have accounts.",
        "Do the same work whether or not the customer exists: verify against a hash nobody's password matches.",
        answer="hashed = customer.hashed_password if customer is not None else dummy_hash()",
    )


@pytest.mark.points(2)
async def test_services_import_no_web_framework(learner, probe, fixtures, layers):
    """services import nothing from FastAPI or Starlette, directly or through another app module"""
    imported = fixtures.expect_probe_ok(
        await probe(fixtures.import_probe, modules=list(SERVICES)), "Importing the services"
    )
    for module, functions in SERVICES.items():
        found = imported["modules"][module]
        expect(
            found["error"] is None,
            f"Importing {module} failed: {found['error']}",
            "Write the module's cell (exercise 5) and run it.",
        )
        missing = [name for name in functions if name not in found["names"]]
        expect(not missing, f"{module} defines no {', '.join(missing)}.", "The contract of exercise 5 lists them.")
    sources = fixtures.expect_probe_ok(await learner.probe(fixtures.sources_probe, folders=["app"]), "Reading app/")
    for path in sorted(sources):
        if not path.startswith("app/services/"):
            continue
        chain = layers.web_chain(sources, path)
        expect(
            chain is None,
            f"{path} depends on the web framework: {' imports '.join(chain or [])}.",
            "Services raise domain exceptions (core/exceptions.py) and take plain values; the web layer "
            "(routers, dependencies, core/errors.py) turns them into HTTP. Import nothing from fastapi or "
            "starlette, nor a module that does.",
        )
