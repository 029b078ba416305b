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


@pytest.fixture
async def services(probe, db, fixtures, shop):
    """``await call("orders", "get_order", customer_id=..., order_id=...)``: a function of app.services.<module>,
    called on the test database with the catalogue, Noor (5) and Joan (6); as the service probe saw it."""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    shop.add_customer(5, "noor@example.org")
    shop.add_customer(6, "joan@example.com")

    async def call(module, function, **kwargs):
        observed = await probe(
            fixtures.service_probe,
            database_url=db.url,
            module=module,
            function=function,
            kwargs=kwargs,
            jwt_secret=shop.SECRET,
        )
        return fixtures.expect_probe_ok(observed, f"Calling app.services.{module}.{function}")

    return call


def outcome(answer) -> str:
    return answer["raised"] or repr(answer["value"])[:200]


@pytest.mark.points(1)
async def test_current_customer_refuses_bad_tokens(services, shop):
    """current_customer returns the token's customer; it refuses invalid tokens and tokens naming no customer"""
    good = await services("customers", "current_customer", token=shop.token("6"))
    expect(
        good["raised"] is None and (good["value"] or {}).get("id") == 6,
        f"current_customer with a valid token for customer 6 gave {outcome(good)}, expected Joan (id 6).",
        "Decode the token with decode_access_token, then load the customer whose id is the `sub` claim (a string).",
        answer="claims = decode_access_token(settings, token, now)\n"
        'customer = await uow.customers.get(int(claims["sub"]))  # once sub is known to be all digits',
    )
    for label, token in (
        ("the token of customer 404, who does not exist", shop.token("404")),
        ("a sub that is no id ('6; DROP TABLE customers')", shop.token("6; DROP TABLE customers")),
        ("a token signed with a key that is not the app's", shop.token("6", key="a key the app never had, 32+ bytes")),
        ("a token that expired five minutes ago", shop.token("6", minutes=-5)),
    ):
        refused = await services("customers", "current_customer", token=token)
        expect(
            refused["raised"] == "InvalidToken",
            f"current_customer with {label} gave {outcome(refused)}, expected InvalidToken: a token is worth "
            "something only while it names a customer who exists.",
            "decode_access_token raises InvalidToken for a bad signature or an expired token; raise it yourself "
            "when the sub is not all digits, or when no customer has that id.",
            answer="if customer is None:\n    raise InvalidToken(TOKEN_REFUSED)",
        )


@pytest.mark.points(1)
async def test_orders_are_seen_only_by_their_customer(services, shop):
    """get_order raises OrderNotFound for another customer's order; list_orders lists the customer's own only"""
    shop.add_orders(5, 1, 2)
    shop.add_orders(6, 3, 3)
    theirs = await services("orders", "get_order", customer_id=6, order_id=1)
    expect(
        theirs["raised"] == "OrderNotFound",
        f"get_order for Joan (6) of Noor's order 1 gave {outcome(theirs)}, expected OrderNotFound.",
        "Ask the order repository for this customer's order of that id: None means OrderNotFound, whoever owns it.",
        answer="order = await uow.orders.get_for_customer(order_id, customer_id)  # inside `async with uow:`\n"
        "if order is None:\n"
        '    raise OrderNotFound(f"you have no order {order_id}")',
    )
    own = await services("orders", "get_order", customer_id=6, order_id=3)
    expect(
        own["raised"] is None and (own["value"] or {}).get("lines") == [[1, 1], [2, 1]],
        f"get_order for Joan (6) of her order 3 gave {outcome(own)}, expected the order with its two lines.",
        "Return the order the repository found, lines loaded.",
    )
    listed = await services("orders", "list_orders", customer_id=5, limit=10, offset=0)
    expect(
        listed["raised"] is None and [order.get("id") for order in listed["value"] or []] == [1, 2],
        f"list_orders for Noor (5) gave {outcome(listed)}, expected her orders 1 and 2 only.",
        "Ask the order repository for the customer's page, inside `async with uow:`.",
        answer="async with uow:\n"
        "    return await uow.orders.page_for_customer(customer_id, limit=limit, offset=offset)",
    )


@pytest.mark.points(1)
async def test_place_order_takes_every_line_or_none(services, db, shop):
    """place_order raises OutOfStock, BookNotFound or CustomerNotFound and then changes nothing; else takes all"""
    before = db.snapshot()
    for customer_id, lines, error in (
        (5, [[4, 1], [5, 2]], "OutOfStock"),
        (5, [[4, 1], [77, 1]], "BookNotFound"),
        (88, [[4, 1]], "CustomerNotFound"),
    ):
        answer = await services("orders", "place_order", customer_id=customer_id, lines=lines)
        expect(
            answer["raised"] == error,
            f"place_order(uow, {customer_id}, {lines}) gave {outcome(answer)}, expected {error}.",
            "Raise the domain exception inside `async with uow:`: BookNotFound for a book that is not there, "
            "OutOfStock when take_stock refuses, CustomerNotFound first of all.",
            answer="if not await uow.books.take_stock(book_id, quantity):\n"
            '    raise OutOfStock(f"fewer than {quantity} copies of book {book_id} are in stock")',
        )
        expect(
            db.snapshot() == before,
            f"place_order(uow, {customer_id}, {lines}) raised {error}, yet the database changed "
            f"(stock: {shop.stock()}): the lines before the failing one were kept.",
            "Commit once, after the loop: an exception inside `async with uow:` then rolls back every line.",
            answer="uow.orders.add(order)\nawait uow.commit()  # after the loop, inside `async with uow:`",
        )
    placed = await services("orders", "place_order", customer_id=5, lines=[[4, 2], [5, 1]])
    order = placed["value"] or {}
    expect(
        placed["raised"] is None and order.get("customer_id") == 5 and order.get("lines") == [[4, 2], [5, 1]],
        f"place_order(uow, 5, [(4, 2), (5, 1)]) gave {outcome(placed)}, expected Noor's order with both lines.",
        "Each line is an OrderLine on the order's `lines`; add the order through uow.orders, commit once, return it.",
        answer="order.lines.append(OrderLine(book_id=book_id, quantity=quantity))",
    )
    expect(
        shop.stock()[4] == 3 and shop.stock()[5] == 0,
        f"After ordering 2 of book 4 and 1 of book 5 the stock is {shop.stock()}, expected book 4: 3, book 5: 0.",
        "Take the stock of every line with uow.books.take_stock, which says whether there were enough copies.",
        answer="if not await uow.books.take_stock(book_id, quantity):",
    )


@pytest.mark.points(1)
async def test_catalogue_services_answer_books_and_pages(services):
    """get_book returns the book with its author or raises BookNotFound; list_books and list_authors page by id"""
    book = await services("catalogue", "get_book", book_id=4)
    expect(
        book["raised"] is None
        and (book["value"] or {}).get("title") == "Exhalation"
        and book["value"].get("author") == "Ted Chiang",
        f"get_book(uow, 4) gave {outcome(book)}, expected Exhalation with its author, Ted Chiang, loaded.",
        "Return the book that the repository's `get` finds: it loads the author.",
        answer="book = await uow.books.get(book_id)  # inside `async with uow:`",
    )
    missing = await services("catalogue", "get_book", book_id=77)
    expect(
        missing["raised"] == "BookNotFound",
        f"get_book(uow, 77) gave {outcome(missing)}, expected BookNotFound.",
        "None from the repository means BookNotFound.",
        answer='if book is None:\n    raise BookNotFound(f"there is no book {book_id}")',
    )
    for function, limit, offset, expected in (("list_books", 3, 2, [3, 4, 5]), ("list_authors", 2, 1, [2, 3])):
        page = await services("catalogue", function, limit=limit, offset=offset)
        expect(
            page["raised"] is None and [item.get("id") for item in page["value"] or []] == expected,
            f"{function}(uow, limit={limit}, offset={offset}) gave {outcome(page)}, expected the ids {expected}.",
            "Ask the repository for the page, inside `async with uow:`.",
            answer="async with uow:\n    return await uow.books.page(limit=limit, offset=offset)",
        )
