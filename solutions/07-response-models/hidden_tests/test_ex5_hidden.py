import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")

NEW = [
    ("Ada", "ada@example.com", "Ada's analytical engine"),
    ("Grace", "grace@example.com", "Grace found the moth"),
    ("Hedy", "hedy@example.com", "Hedy hops frequencies"),
]
ATTEMPTED = {
    "hunter2": "a password sent in a refused registration",
    "Ada guesses wrong": "a wrong password",
    "Eve's long password": "Eve's password",
    "Mal's own password": "Mal's password",
}


@pytest.mark.points(1)
async def test_order_body_refuses_other_fields(client, shop):
    """POST /orders with a customer_id or a price in a line is refused with 422 and orders nothing"""
    shop.seed()
    before = shop.db.snapshot()
    for body in (
        {"lines": [{"book_id": 1, "quantity": 1}], "customer_id": 2},
        {"lines": [{"book_id": 1, "quantity": 1, "price_cents": 1}]},
    ):
        response = await client.post("/orders", json=body, headers=shop.auth(1))
        await shop.expect_status(
            response,
            422,
            f"POST /orders with {body}",
            "OrderIn and OrderLineIn are InputModels (extra='forbid'): a client cannot choose whom an order is for, "
            "or its price.",
        )
        expect(shop.db.snapshot() == before, f"POST /orders with {body} answered 422 but changed the database.")


@pytest.mark.points(3)
async def test_no_answer_leaks_secrets(client, shop):
    """a whole session (register, log in, browse, order, errors): no password, hash or other's email"""
    shop.seed(customers=False)
    answers = []  # (label, caller id or None, response)
    for name, email, password in NEW:
        response = await client.post("/customers", json={"name": name, "email": email, "password": password})
        body = await shop.expect_status(response, 201, f"POST /customers for {name}")
        answers.append((f"POST /customers ({name})", body.get("id") if isinstance(body, dict) else None, response))
    ids = {row["name"]: row["id"] for row in shop.customers()}
    tokens = {}
    for name, email, password in NEW[:2]:
        response = await client.post("/auth/token", data={"username": email, "password": password})
        body = await shop.expect_status(response, 200, f"POST /auth/token for {name}")
        answers.append((f"POST /auth/token ({name})", ids[name], response))
        tokens[name] = {"Authorization": f"Bearer {body['access_token']}"}
    wrong = await client.post("/auth/token", data={"username": "ada@example.com", "password": "Ada guesses wrong"})
    answers.append(("POST /auth/token (wrong password)", None, wrong))

    # (label, who asks: a customer's name, None for nobody, "bad" for a token that is not one, method, url, body)
    steps = [
        ("GET /customers/me", "Ada", "GET", "/customers/me", None),
        ("PATCH /customers/me", "Ada", "PATCH", "/customers/me", {"name": "Ada Lovelace"}),
        ("PATCH /customers/me (is_admin)", "Ada", "PATCH", "/customers/me", {"is_admin": True}),
        ("PATCH /customers/me (taken email)", "Ada", "PATCH", "/customers/me", {"email": "grace@example.com"}),
        ("GET /customers", "Ada", "GET", "/customers", None),
        ("GET /customers/{Grace}", "Ada", "GET", f"/customers/{ids['Grace']}", None),
        ("GET /customers/99", "Ada", "GET", "/customers/99", None),
        ("GET /books", "Ada", "GET", "/books", None),
        ("GET /books/1", None, "GET", "/books/1", None),
        ("GET /authors", None, "GET", "/authors", None),
        ("POST /orders", "Ada", "POST", "/orders", {"lines": [{"book_id": 1, "quantity": 1}]}),
        ("POST /orders", "Grace", "POST", "/orders", {"lines": [{"book_id": 2, "quantity": 1}]}),
        ("POST /orders (out of stock)", "Ada", "POST", "/orders", {"lines": [{"book_id": 3, "quantity": 50}]}),
        ("POST /orders (unknown book)", "Ada", "POST", "/orders", {"lines": [{"book_id": 99, "quantity": 1}]}),
        ("GET /orders", "Ada", "GET", "/orders", None),
        ("GET /orders", "Grace", "GET", "/orders", None),
        ("GET /orders/1", "Ada", "GET", "/orders/1", None),
        ("GET /orders/2 (Grace's order)", "Ada", "GET", "/orders/2", None),
        ("GET /customers/me (no token)", None, "GET", "/customers/me", None),
        ("GET /orders (bad token)", "bad", "GET", "/orders", None),
        ("DELETE /books/1", None, "DELETE", "/books/1", None),
        ("GET /nowhere", None, "GET", "/nowhere", None),
    ]
    for label, who, method, url, payload in steps:
        headers = tokens.get(who, {"Authorization": "Bearer not-a-token"} if who == "bad" else {})
        extra = {"json": payload} if payload is not None else {}
        response = await client.request(method, url, headers=headers, **extra)
        answers.append((label, ids.get(who), response))
    registrations = [
        ("taken email", {"name": "Eve", "email": "grace@example.com", "password": "Eve's long password"}),
        ("short password", {"name": "Eve", "email": "eve@example.com", "password": "hunter2"}),
        ("is_admin", {"name": "Mal", "email": "mal@example.com", "password": "Mal's own password", "is_admin": True}),
    ]
    for what, body in registrations:
        response = await client.post("/customers", json=body)
        # A registration that went through answers its own customer: their email is theirs to see.
        created = shop.body_of(response) if response.status_code == 201 else None
        caller = created.get("id") if isinstance(created, dict) else None
        answers.append((f"POST /customers ({what})", caller, response))

    for label, caller, response in answers:
        who = next((name for name, i in ids.items() if i == caller), None if caller is None else f"customer {caller}")
        where = f"{label} ({response.status_code}, as {who or 'nobody'})"
        shop.expect_no_leaks(where, response, shop.forbidden(caller, extra=ATTEMPTED))
    crashed = [f"{label} ({response.status_code})" for label, _, response in answers if response.status_code >= 500]
    expect(not crashed, f"Some requests of the session crashed: {crashed}.", "Run them in the notebook to see why.")
