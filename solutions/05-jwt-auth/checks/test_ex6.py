"""Exercise 6: registration, login and private orders over HTTP."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")

NEW = {"name": "Katherine", "email": "katherine@example.com", "password": "Katherine computes orbits"}

# Key lines of the hints.
ISSUE_TOKEN = "return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))"
OWN_ORDERS = "return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]"


def by_id(items):
    if not isinstance(items, list):
        return items
    return sorted(items, key=lambda item: item.get("id", 0) if isinstance(item, dict) else 0)


@pytest.mark.points(1)
async def test_register(client, tables, shop, auth_checks):
    """POST /customers answers 201 with the CustomerOut and stores an argon2id hash"""
    await shop.seed(with_orders=False)
    response = await client.post("/customers", json=NEW)
    expect(
        response.status_code == 201,
        f"POST /customers answered {response.status_code} {response.text[:200]}, expected 201.",
        "A POST route on `router` whose success status is 201, with a `CustomerIn` body, calling register_customer.",
        answer='@router.post("/customers", status_code=201)\n'
        "async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:",
    )
    rows = tables.rows("SELECT id, hashed_password FROM customers WHERE email = ?", (NEW["email"],))
    expect(len(rows) == 1, f"After POST /customers answered 201, {len(rows)} customers have the new email.")
    expected = {"id": rows[0]["id"], "name": NEW["name"], "email": NEW["email"]}
    expect(
        response.json() == expected,
        f"POST /customers returned {response.text[:200]}, expected the CustomerOut {expected}.",
        "Answer with the response model, which has id, name and email, never the password or its hash.",
        answer="return CustomerOut.model_validate(customer)",
    )
    hashed = rows[0]["hashed_password"]
    expect(
        isinstance(hashed, str) and hashed.startswith("$argon2id$"),
        f"The registered customer's hashed_password is {auth_checks.describe_hash(hashed)}, expected an argon2id hash.",
        "Register through register_customer, which stores `hash_password(password)`.",
        answer="customer = await register_customer(uow, body.name, body.email, body.password)",
    )


@pytest.mark.points(1)
async def test_login(client, tables, shop):
    """POST /auth/token with the right password answers a bearer token for the customer, made at the clock's time"""
    await shop.seed(with_orders=False, login=(1,))
    issued = shop.t0 - shop.minutes(10)
    await shop.move_clock(issued)
    response = await client.post("/auth/token", data={"username": "ada@example.com", "password": shop.PASSWORDS[1]})
    expect(
        response.status_code == 200,
        f"POST /auth/token with Ada's email and password answered {response.status_code} {response.text[:200]}.",
        "Read the login from OAuth2's password form, declared as a dependency; its `username` is the email. The "
        "form is sent as `application/x-www-form-urlencoded`, not JSON.",
        answer="form: Annotated[OAuth2PasswordRequestForm, Depends()]",
    )
    body = response.json()
    expect(
        isinstance(body, dict) and set(body) == {"access_token", "token_type"} and body["token_type"] == "bearer",
        f"POST /auth/token returned {response.text[:200]}, expected {{'access_token': ..., 'token_type': 'bearer'}}.",
        "Answer with the given `Token` model: its token_type is already bearer.",
        answer=ISSUE_TOKEN,
    )
    token = body["access_token"]
    expect(
        shop.forge.verifies(token, shop.KEY),
        "The access token from POST /auth/token is not an HS256 token signed with the app's key.",
        "Make the token with exercise 3's function, the app's settings (SettingsDep) and the app's clock (ClockDep).",
        answer=ISSUE_TOKEN,
    )
    _, claims = shop.forge.read(token)
    numeric = shop.forge.numeric_date
    expected = {"sub": "1", "iat": numeric(issued), "exp": numeric(issued + shop.minutes(15))}
    found = {name: claims.get(name) for name in expected}
    expect(
        found == expected,
        f"The token issued by the app's clock at {issued.isoformat()} has the claims {found}, expected {expected}.",
        "sub is `str(customer.id)`; the time is `clock.now()` from ClockDep, not `datetime.now()`.",
        answer=ISSUE_TOKEN,
    )


@pytest.mark.points(1)
async def test_own_orders(client, tables, shop):
    """GET /orders lists the caller's orders and no one else's"""
    await shop.seed()
    for customer_id, expected_ids in ((2, [1, 3]), (1, [2])):
        response = await client.get("/orders", headers=shop.bearer(shop.token(str(customer_id))))
        expected = [shop.order_json(order_id) for order_id in expected_ids]
        expect(
            response.status_code == 200,
            f"GET /orders with a valid token answered {response.status_code} {response.text[:200]}.",
            "A GET route that takes the caller from `CurrentCustomer` and lists that customer's orders with the "
            "given `list_orders`.",
            answer=OWN_ORDERS,
        )
        expect(
            by_id(response.json()) == expected,
            f"GET /orders for customer {customer_id} returned {response.text[:300]}, expected {expected}.",
            "List only the caller's orders: the id comes from the token's customer, never from the request.",
            answer=OWN_ORDERS,
        )
    missing = await client.get("/orders")
    expect(
        missing.status_code == 401,
        f"GET /orders without a token answered {missing.status_code}, expected 401.",
        "Every order route takes `customer: CurrentCustomer`.",
        answer="async def read_orders(customer: CurrentCustomer, uow: UowDep) -> list[OrderOut]:",
    )


@pytest.mark.points(1)
async def test_another_customers_order_is_not_found(client, tables, shop):
    """another customer's order answers 404, like an order that does not exist"""
    await shop.seed()
    grace = shop.bearer(shop.token("2"))
    other = await client.get("/orders/2", headers=grace)  # Ada's order
    expect(
        other.status_code == 404,
        f"GET /orders/2, Ada's order, with Grace's token answered {other.status_code} {other.text[:200]}, expected "
        "404. A 200 lets anyone read every order by counting ids; a 403 tells them the order exists.",
        "What would the answer be if order 2 did not exist at all?",
        answer="if order is None or order.customer_id != customer_id:\n    raise OrderNotFound(order_id)",
    )
