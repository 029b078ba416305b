import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")

REFUSE_LOGIN = (
    "except InvalidCredentials:\n"
    "    raise HTTPException(\n"
    '        status_code=401, detail="Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}\n'
    "    ) from None"
)
OWNER_ONLY = "if order is None or order.customer_id != customer_id:\n    raise OrderNotFound(order_id)"


@pytest.mark.points(1)
async def test_email_taken_route(client, tables, shop):
    """POST /customers with an email in use answers 409 and stores nothing"""
    await shop.seed(with_orders=False)
    body = {"name": "Ada again", "email": "ada@example.com", "password": "another long password"}
    response = await client.post("/customers", json=body)
    expect(
        response.status_code == 409,
        f"POST /customers with an email that is taken answered {response.status_code} {response.text[:200]}, "
        "expected 409.",
        "Catch EmailTaken around register_customer and turn it into an HTTPException with the status of a conflict.",
        answer="except EmailTaken:\n"
        '    raise HTTPException(status_code=409, detail="this email is already registered") from None',
    )
    count = tables.rows("SELECT count(*) AS n FROM customers")[0]["n"]
    expect(count == len(shop.CUSTOMERS), f"After the refused registration there are {count} customers.")


@pytest.mark.points(1)
async def test_failed_logins_look_the_same(client, tables, shop):
    """a wrong password and an unknown email get the same 401, with WWW-Authenticate: Bearer"""
    await shop.seed(with_orders=False, login=(1,))
    wrong = await client.post("/auth/token", data={"username": "ada@example.com", "password": "not Ada's password"})
    unknown = await client.post(
        "/auth/token", data={"username": "nobody@example.com", "password": "not Ada's password"}
    )
    expect(
        (wrong.status_code, unknown.status_code) == (401, 401),
        f"POST /auth/token answered {wrong.status_code} for a wrong password and {unknown.status_code} for an "
        "unknown email, expected 401 for both.",
        "Catch InvalidCredentials and answer 401 with the Bearer challenge header, as credentials_error() does.",
        answer=REFUSE_LOGIN,
    )
    expect(
        wrong.content == unknown.content,
        f"A wrong password got {wrong.text[:120]} and an unknown email {unknown.text[:120]}: the difference tells "
        "an attacker which emails have accounts.",
        "One fixed detail for every failed login, never `str(exc)` from the service if it differs.",
        answer=REFUSE_LOGIN,
    )
    expect(
        wrong.headers.get("www-authenticate", "").lower().startswith("bearer"),
        "A failed login answered 401 without the header `WWW-Authenticate: Bearer`.",
        "RFC 6750 asks for the challenge header on every 401, a failed login's too.",
        answer=REFUSE_LOGIN,
    )


@pytest.mark.points(1)
async def test_me(client, tables, shop):
    """GET /customers/me answers the caller's CustomerOut"""
    await shop.seed(with_orders=False)
    response = await client.get("/customers/me", headers=shop.bearer(shop.token("2")))
    expect(
        response.status_code == 200 and response.json() == shop.customer_json(2),
        f"GET /customers/me with Grace's token answered {response.status_code} {response.text[:200]}, expected "
        f"{shop.customer_json(2)}.",
        "A GET route that takes the caller from `CurrentCustomer` and answers with the response model.",
        answer='@router.get("/customers/me")\n'
        "async def read_me(customer: CurrentCustomer) -> CustomerOut:\n"
        "    return CustomerOut.model_validate(customer)",
    )


@pytest.mark.points(2)
async def test_other_customers_order_is_404(client, tables, shop):
    """another customer's order answers 404, exactly like an order that does not exist"""
    await shop.seed()
    ada = shop.bearer(shop.token("1"))
    own = await client.get("/orders/2", headers=ada)
    expect(
        own.status_code == 200 and own.json() == shop.order_json(2),
        f"GET /orders/2 (Ada's own order) with Ada's token answered {own.status_code} {own.text[:200]}, expected "
        f"{shop.order_json(2)}.",
        "A GET route with the order id in its path and the caller from `CurrentCustomer`, calling get_order "
        "with the caller's id.",
        answer="order = await get_order(uow, customer.id, order_id)",
    )
    other = await client.get("/orders/1", headers=ada)
    missing = await client.get("/orders/999", headers=ada)
    if other.status_code == 200:
        expect(
            False,
            "Ada read Grace's order 1 (GET /orders/1 answered 200): any customer can read every order by counting ids.",
            "In get_order, ask whose order it is, not only whether it exists: someone else's order is, for the "
            "caller, an order that does not exist.",
            answer=OWNER_ONLY,
        )
    expect(
        other.status_code == 404,
        f"GET /orders/1, Grace's order, with Ada's token answered {other.status_code}, expected 404.",
        "A 403 confirms that order 1 exists. Answer as if it did not: get_order raises OrderNotFound for someone "
        "else's order, and the route turns that into 404.",
        answer="except OrderNotFound:\n"
        '    raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None',
    )
    same = other.text.replace("1", "{id}") == missing.text.replace("999", "{id}")
    expect(
        missing.status_code == 404 and same,
        f"Grace's order answered {other.status_code} {other.text[:120]} and an order that does not exist "
        f"{missing.status_code} {missing.text[:120]}: the difference tells that order 1 exists.",
        "Raise the same OrderNotFound for both, and turn it into the same 404.",
        answer=OWNER_ONLY,
    )


@pytest.mark.points(1)
async def test_order_placed_for_the_caller(client, tables, shop):
    """POST /orders places the order for the token's customer, whatever the body says"""
    await shop.seed()
    body = {"customer_id": 1, "lines": [{"book_id": 1, "quantity": 2}]}
    response = await client.post("/orders", json=body, headers=shop.bearer(shop.token("2")))
    expect(
        response.status_code == 201,
        f"POST /orders with Grace's token answered {response.status_code} {response.text[:200]}, expected 201.",
        "A POST route whose success status is 201, with an OrderIn body and the caller from `CurrentCustomer`.",
        answer='@router.post("/orders", status_code=201)\n'
        "async def post_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:",
    )
    new = tables.rows("SELECT id, customer_id FROM orders WHERE id > ?", (len(shop.ORDERS),))
    expect(
        [row["customer_id"] for row in new] == [2],
        f"After Grace's order (with customer_id 1 slipped into the body), the new orders are {new}, expected one "
        "for customer 2.",
        "Place the order for `customer.id` from CurrentCustomer; OrderIn has no customer_id.",
        answer="order = await place_order(uow, customer.id, lines)",
    )
    expected = {"id": new[0]["id"], "customer_id": 2, "lines": [{"book_id": 1, "quantity": 2}]}
    expect(response.json() == expected, f"POST /orders returned {response.text[:200]}, expected {expected}.")
    refused = await client.post("/orders", json=body)
    count = tables.rows("SELECT count(*) AS n FROM orders")[0]["n"]
    expect(
        refused.status_code == 401 and count == len(shop.ORDERS) + 1,
        f"POST /orders without a token answered {refused.status_code}; the orders table now has {count} rows.",
        "POST /orders takes `customer: CurrentCustomer`, which refuses a request without a token before the order.",
    )


@pytest.mark.points(1)
async def test_login_token_expires(client, tables, shop):
    """the token from POST /auth/token works until the app's clock passes its exp"""
    await shop.seed(with_orders=False, login=(2,))
    login = await client.post("/auth/token", data={"username": "grace@example.com", "password": shop.PASSWORDS[2]})
    expect(login.status_code == 200, f"Grace's login answered {login.status_code} {login.text[:200]}, expected 200.")
    token = login.json().get("access_token", "")
    me = await client.get("/customers/me", headers=shop.bearer(token))
    expect(
        me.status_code == 200 and me.json() == shop.customer_json(2),
        f"GET /customers/me with the token Grace just got answered {me.status_code} {me.text[:200]}.",
        "The login token must be one get_current_customer accepts: same settings, same clock.",
    )
    await shop.move_clock(shop.t0 + shop.minutes(16))
    shop.refused(
        await client.get("/customers/me", headers=shop.bearer(token)),
        "Grace's login token, 16 minutes later by the app's clock",
        "Tokens are made with `clock.now()` at login and checked against `clock.now()` in get_current_customer.",
        "return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))",
    )
