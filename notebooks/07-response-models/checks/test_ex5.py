"""Exercise 5: the customer directory shows names only; the order routes answer OrderOut."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


@pytest.mark.points(2)
async def test_directory_shows_names_only(client, shop):
    """GET /customers and GET /customers/{id} answer CustomerPublic: no emails"""
    shop.seed()
    hint = (
        "Annotate the route with a list of CustomerPublic and build one per customer that `list_customers` "
        "returns for the page's limit and offset."
    )
    answer = (
        "customers = await list_customers(session, limit=page.limit, offset=page.offset)\n"
        "return [CustomerPublic.model_validate(customer) for customer in customers]"
    )
    response = await client.get("/customers", headers=shop.auth(1))
    body = await shop.expect_status(response, 200, "GET /customers (as Ada)", hint, answer=answer)
    shop.expect_no_leaks("GET /customers (as Ada)", response, shop.forbidden(1))
    expect(isinstance(body, list), f"GET /customers answered {shop.short(body)}, expected a list.", hint, answer)
    for item in body:
        shop.expect_keys("An item of GET /customers", item, shop.CUSTOMER_PUBLIC)
    expected = [{"id": i, "name": name} for i, name, _ in shop.CUSTOMERS]
    expect(body == expected, f"GET /customers answered {body}, expected {expected}.", hint, answer)

    response = await client.get("/customers/2", headers=shop.auth(1))
    body = await shop.expect_status(
        response,
        200,
        "GET /customers/2 (as Ada)",
        "Answer `CustomerPublic`.",
        answer="return CustomerPublic.model_validate(await get_customer(session, customer_id))",
    )
    shop.expect_no_leaks("GET /customers/2 (as Ada)", response, shop.forbidden(1))
    shop.expect_keys("GET /customers/2", body, shop.CUSTOMER_PUBLIC)
    expect(body == {"id": 2, "name": "Grace"}, f"GET /customers/2 answered {body}, expected Grace's id and name.")
    response = await client.get("/customers/99", headers=shop.auth(1))
    await shop.expect_status(
        response,
        404,
        "GET /customers/99 (no such customer)",
        "Let CustomerNotFound go up: chapter 06's table answers it with 404.",
    )


@pytest.mark.points(2)
async def test_order_routes_answer_order_out(client, shop):
    """POST /orders, GET /orders and GET /orders/{id} answer exactly OrderOut, the caller's only"""
    shop.seed()
    hint = "Convert what the provided services return with OrderOut (for a list, one per order)."
    answer = (
        "return OrderOut.model_validate(order)\n"
        "return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]"
    )
    response = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=shop.auth(1))
    body = await shop.expect_status(response, 201, "POST /orders (as Ada)", hint, answer=answer)
    shop.expect_keys("POST /orders", body, shop.ORDER_OUT)
    for line in body.get("lines") or []:
        shop.expect_keys("A line of POST /orders", line, shop.ORDER_LINE_OUT)
    expect(
        body.get("customer_id") == 1 and body.get("lines") == [{"book_id": 1, "quantity": 1}],
        f"POST /orders (as Ada) answered {body}, expected Ada's order (customer_id 1) with its one line.",
        "Place the order for the caller from CurrentCustomer, never for anyone the body names.",
        answer="order = await place_order(uow, customer.id, [(line.book_id, line.quantity) for line in body.lines])",
    )
    new_id = body["id"]
    response = await client.get("/orders", headers=shop.auth(1))
    body = await shop.expect_status(response, 200, "GET /orders (as Ada)", hint, answer=answer)
    expect(isinstance(body, list), f"GET /orders answered {shop.short(body)}, expected a list.", hint, answer)
    for item in body:
        shop.expect_keys("An item of GET /orders", item, shop.ORDER_OUT)
        for line in item.get("lines", []):
            shop.expect_keys("A line of GET /orders", line, shop.ORDER_LINE_OUT)
    expected = [{"id": 2, "customer_id": 1, "lines": [{"book_id": 1, "quantity": 2}]}]
    expected.append({"id": new_id, "customer_id": 1, "lines": [{"book_id": 1, "quantity": 1}]})
    expect(body == expected, f"GET /orders (as Ada) answered {body}, expected {expected}.", hint, answer)
    response = await client.get("/orders/2", headers=shop.auth(1))
    body = await shop.expect_status(response, 200, "GET /orders/2 (Ada's, as Ada)", hint, answer=answer)
    shop.expect_keys("GET /orders/2", body, shop.ORDER_OUT)
    response = await client.get("/orders/1", headers=shop.auth(1))
    await shop.expect_status(
        response,
        404,
        "GET /orders/1 (Grace's, as Ada)",
        "get_order raises OrderNotFound for another customer's order: answer 404, as for an unknown id.",
    )


@pytest.mark.points(1)
async def test_every_route_needs_a_token(client, shop):
    """every route of exercise 5 answers 401 without a token and orders nothing"""
    shop.seed()
    before = shop.orders()
    order = {"lines": [{"book_id": 1, "quantity": 1}]}
    for method, path, body in [
        ("GET", "/customers", None),
        ("GET", "/customers/2", None),
        ("POST", "/orders", order),
        ("GET", "/orders", None),
        ("GET", "/orders/2", None),
    ]:
        response = await client.request(method, path, json=body)
        expect(
            response.status_code == 401,
            f"{method} {path} without a token answered {response.status_code} {shop.short(response.text)}, "
            "expected 401: the directory and the orders are for customers who logged in.",
            "A route needs a token when it depends on the current customer, also a route that never reads who the "
            "caller is.",
            answer="caller: CurrentCustomer,  # a parameter of every route of exercise 5",
        )
    expect(shop.orders() == before, "A POST /orders without a token was refused, but an order was stored.")


@pytest.mark.points(1)
async def test_post_orders_refuses_a_customer_id(client, shop):
    """POST /orders with a customer_id in the body answers 422 and orders nothing"""
    shop.seed()
    before = shop.db.snapshot()
    body = {"lines": [{"book_id": 2, "quantity": 1}], "customer_id": 3}
    response = await client.post("/orders", json=body, headers=shop.auth(2))
    await shop.expect_status(
        response,
        422,
        f"POST /orders (as Grace) with {body}",
        "The order is for the caller, whom the token names: OrderIn is an InputModel (extra='forbid'), so a client "
        "cannot choose whom an order is for.",
    )
    expect(shop.db.snapshot() == before, f"POST /orders with {body} answered 422 but changed the database.")


@pytest.mark.points(2)
async def test_every_route_declares_a_response_model(shop, declared):
    """every other route of the app declares a pydantic response model and builds no Response"""
    # Exercise 4's routes are its own checks' data; these are this exercise's five, the catalogue's, the login's and
    # any route the learner added.
    routes = [route for route in await shop.audit() if route["route"] not in shop.CUSTOMER_ROUTES]
    names = {route["route"] for route in routes}
    missing = [name for name in shop.DIRECTORY_AND_ORDER_ROUTES if name not in names]
    expect(not missing, f"The app has no route {missing}.", "Add the routes of exercise 5 to `router`.")
    declared(routes)
