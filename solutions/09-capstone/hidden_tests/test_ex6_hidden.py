import pytest

from grader.checks import expect, problems

pytestmark = pytest.mark.exercise("ex6")


@pytest.mark.points(3)
async def test_query_budgets(client, db, sql, shop):
    """GET /books 1 statement, GET /authors 2, GET /orders 3, the same with little and with much data"""
    shop.fill()
    ada = shop.add_customer(1, "ada@example.com")
    shop.add_orders(ada.id, 1, 3)
    small = {}
    for url in ("/books?page_size=100", "/authors?page_size=100", "/orders?page_size=100"):
        response = await client.get(url, headers=ada.headers)
        expect(response.status_code == 200, f"GET {url} answered {shop.show(response)}.", "See the visible checks.")
        small[url] = list(sql.last)
    shop.fill_large()
    shop.add_orders(ada.id, 4, 120)
    for url, budget, sizes, hint, answer in (
        (
            "/books?page_size=100",
            1,
            (f"{len(shop.BOOKS)} books", f"{shop.LARGE}"),
            "BookRepository.page joins the author into the same statement; the route converts what the service "
            "returned and loads nothing more.",
            "",
        ),
        (
            "/authors?page_size=100",
            2,
            (f"{len(shop.AUTHORS)} authors", f"{shop.LARGE}"),
            "AuthorRepository.page loads the books with selectinload; the route loads nothing per author.",
            "",
        ),
        (
            "/orders?page_size=100",
            3,
            ("3 orders", "120"),
            "One statement for the caller (the token's customer), one for the page of orders, one for all their "
            "lines: a loader option in OrderRepository.page_for_customer, nothing per order.",
            ".options(selectinload(Order.lines))  # in OrderRepository.page_for_customer",
        ),
    ):
        response = await client.get(url, headers=ada.headers)
        expect(response.status_code == 200, f"GET {url} answered {shop.show(response)}.", "See the visible checks.")
        expect(len(response.json()) == 100, f"GET {url} answered {len(response.json())} items, expected 100.", "")
        shop.expect_flat(f"GET {url}", small[url], list(sql.last), budget, sizes, hint, answer=answer)


@pytest.mark.points(2)
async def test_auth_errors_are_problems(client, db, shop):
    """missing, empty, forged and orphaned tokens, bad logins, a taken email, a mass assignment: problem details"""
    ada = shop.add_customer(1, "ada@example.com")
    for label, headers in (
        ("without a token", {}),
        ("with `Bearer ` and no token", {"Authorization": "Bearer "}),
        ("with a token signed with another key", {"Authorization": f"Bearer {shop.token(str(ada.id), key='k' * 40)}"}),
        ("with the token of a customer who does not exist", {"Authorization": f"Bearer {shop.token('999')}"}),
    ):
        what = f"GET /customers/me {label}"
        shop.expect_problem(
            await client.get("/customers/me", headers=headers),
            401,
            what,
            "The CurrentCustomer dependency raises InvalidToken through services.customers.current_customer; "
            "core/errors.py answers 401.",
        )
        shop.expect_bearer_challenge(await client.get("/customers/me", headers=headers), what)
    wrong = await client.post("/auth/token", data={"username": ada.email, "password": "not the password"})
    unknown = await client.post("/auth/token", data={"username": "nobody@example.com", "password": shop.PASSWORD})
    wrong_body = shop.expect_problem(wrong, 401, "POST /auth/token with a wrong password")
    unknown_body = shop.expect_problem(unknown, 401, "POST /auth/token with an unknown email")
    expect(
        wrong_body == unknown_body,
        f"A wrong password answers {wrong_body}, an unknown email {unknown_body}: the difference tells which "
        "emails are registered.",
        "services.customers.authenticate raises the same InvalidCredentials for both.",
    )
    shop.expect_problem(
        await client.post("/customers", json={"name": "Ada", "email": ada.email, "password": shop.PASSWORD}),
        409,
        "POST /customers with an email that is registered already",
        "register_customer raises EmailTaken; core/errors.py maps it to 409.",
    )
    secret = "sneaky password 123"
    response = await client.post(
        "/customers", json={"name": "Eve", "email": "eve@example.com", "password": secret, "is_admin": True}
    )
    shop.expect_problem(response, 422, "POST /customers with is_admin in the body", "The body is a CustomerIn.")
    expect(secret not in response.text, "The 422 echoes the submitted password.", "validation_error drops `input`.")
    expect(
        not db.rows("SELECT id FROM customers WHERE email = 'eve@example.com'"),
        "POST /customers with is_admin in the body answered 422, yet stored the customer.",
        "Validate the body with CustomerIn before anything else happens.",
    )


@pytest.mark.points(2)
async def test_order_errors_are_problems(client, db, shop):
    """out of stock (nothing taken), an unknown book, someone else's order: problem details"""
    shop.fill()
    ada = shop.add_customer(1, "ada@example.com")
    grace = shop.add_customer(2, "grace@example.com")
    before = db.snapshot()
    response = await client.post(
        "/orders", json={"lines": [{"book_id": 1, "quantity": 1}, {"book_id": 3, "quantity": 1}]}, headers=ada.headers
    )
    shop.expect_problem(response, 409, "POST /orders with a line out of stock", "place_order raises OutOfStock.")
    expect(
        db.snapshot() == before,
        f"POST /orders answered 409, yet the database changed (stock now {shop.stock()}).",
        "One unit of work, one commit at the end of place_order.",
    )
    shop.expect_problem(
        await client.post("/orders", json={"lines": [{"book_id": 99, "quantity": 1}]}, headers=ada.headers),
        404,
        "POST /orders for a book that does not exist",
        "place_order raises BookNotFound.",
    )
    shop.expect_problem(
        await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}),
        401,
        "POST /orders without a token",
        "The route takes `customer: CurrentCustomer`.",
    )
    created = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=ada.headers)
    expect(created.status_code == 201, f"POST /orders answered {shop.show(created)}.", "See the visible checks.")
    order_id = created.json()["id"]
    theirs = await client.get(f"/orders/{order_id}", headers=grace.headers)
    nothing = await client.get("/orders/99999", headers=grace.headers)
    body = shop.expect_problem(
        theirs, 404, "GET of another customer's order", "get_order raises OrderNotFound for someone else's order."
    )
    expect(
        body.get("title") == shop.expect_problem(nothing, 404, "GET of an order that does not exist").get("title"),
        "Another customer's order and a missing order answer differently: the ids leak who ordered what.",
        "The same OrderNotFound for both.",
    )
    listed = await client.get("/orders", headers=grace.headers)
    expect(
        listed.status_code == 200 and listed.json() == [],
        f"GET /orders for Grace, who ordered nothing, answered {shop.show(listed)}, expected [].",
        "list_orders filters on the caller's id.",
    )


@pytest.mark.points(1)
async def test_framework_errors_over_http(client, db, shop):
    """an unknown route, a 405, a bad query and a crash answer problem details, hiding internals"""
    shop.fill()
    shop.expect_problem(await client.get("/no/such/route"), 404, "GET of an unknown route")
    response = await client.delete("/books")
    shop.expect_problem(response, 405, "DELETE /books")
    expect(
        "GET" in response.headers.get("allow", ""),
        "The 405 lost its Allow header.",
        "http_error_handler keeps exc.headers.",
    )
    shop.expect_problem(await client.get("/books?page_size=0"), 422, "GET /books?page_size=0")
    db.execute("DROP TABLE books")
    response = await client.get("/books")
    shop.expect_problem(response, 500, "GET /books with its table gone", "create_app registers the problem handlers.")
    leaks = problems.leak_issues(response.text, exception_names=["OperationalError"])
    expect(
        not leaks,
        f"The 500 answer of GET /books with its table gone shows server internals: {'; '.join(leaks)}.",
        "unexpected_error_handler answers a fixed detail.",
    )
