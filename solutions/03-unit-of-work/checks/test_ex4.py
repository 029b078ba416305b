"""Exercise 4: get_uow and the order routes."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

ORDER = {"customer_id": 1, "lines": [{"book_id": 1, "quantity": 2}, {"book_id": 3, "quantity": 1}]}


def changed_tables(before, after):
    return [table for table in before if before[table] != after.get(table)]


@pytest.mark.points(1)
async def test_post_order(client, db, shop):
    """POST /orders answers 201 with the order, stores it and takes the stock"""
    shop(db)
    response = await client.post("/orders", json=ORDER)
    orders = db.rows("SELECT id, customer_id FROM orders WHERE id != 1")
    expect(
        response.status_code == 201,
        f"POST /orders for books in stock answered {response.status_code} {response.text[:300]}, expected 201.",
        "A POST route on `/orders` with the contract's status code, calling place_order with the body's customer "
        "and `(book_id, quantity)` pairs.",
        answer="order = await place_order(uow, body.customer_id, lines)",
    )
    expect(
        len(orders) == 1,
        f"POST /orders answered 201, but the app's database holds {len(orders)} new order(s).",
        "get_uow must build the UnitOfWork on `request.app.state.sessionmaker`, and place_order must commit.",
        answer="return UnitOfWork(request.app.state.sessionmaker)",
    )
    expected = {
        "id": orders[0]["id"],
        "customer_id": 1,
        "lines": [{"book_id": 1, "quantity": 2}, {"book_id": 3, "quantity": 1}],
    }
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("lines"), list):
        body["lines"] = sorted(body["lines"], key=lambda line: str(line.get("book_id")))
    expect(
        body == expected,
        f"POST /orders returned {response.text[:300]}, expected the OrderOut {expected}.",
        "Convert the order the service returned into an `OrderOut`; its lines are loaded already.",
        answer="return OrderOut.model_validate(order)",
    )
    stock = {row["id"]: row["stock"] for row in db.rows("SELECT id, stock FROM books")}
    expect(stock == {1: 3, 2: 1, 3: 1}, f"After the order, the stock is {stock}, expected {{1: 3, 2: 1, 3: 1}}.")


@pytest.mark.points(2)
async def test_post_order_out_of_stock(client, db, shop):
    """POST /orders with one line out of stock answers 409 and leaves every table as it was"""
    shop(db)
    before = db.snapshot()
    body = {"customer_id": 1, "lines": [{"book_id": 1, "quantity": 2}, {"book_id": 2, "quantity": 3}]}
    response = await client.post("/orders", json=body)
    after = db.snapshot()
    changed = changed_tables(before, after)
    stock = {row["id"]: row["stock"] for row in db.rows("SELECT id, stock FROM books")}
    expect(
        response.status_code == 409,
        f"POST /orders asking for 3 copies of a book with 1 in stock answered {response.status_code} "
        f"{response.text[:200]}, expected 409.",
        "Catch OutOfStock around the place_order call and raise an HTTPException with the contract's status. "
        "A 500 or a 201 here often means the exception was swallowed (an `__aexit__` returning True).",
        answer='raise HTTPException(status_code=409, detail=f"book {exc} is out of stock") from None',
    )
    expect(
        not changed,
        f"POST /orders answered 409, but {', '.join(changed)} changed (stock is now {stock}): the first line of "
        "the refused order was stored anyway.",
        "All or nothing: raise inside `async with uow:` and commit once, after every line was taken.",
    )


@pytest.mark.points(1)
async def test_get_order_route(client, db, shop):
    """GET /orders/{order_id} answers 200 with the order, 404 for an unknown id"""
    shop(db)
    response = await client.get("/orders/1")
    expect(
        response.status_code == 200,
        f"GET /orders/1 for an order in the app's database answered {response.status_code} {response.text[:200]}.",
        "A GET route on `/orders/{order_id}` that calls get_order. A 500 often means the order came back "
        "unreadable: a `rollback()` on the normal exit of the unit of work expires it (close instead).",
        answer="order = await get_order(uow, order_id)",
    )
    expected = {"id": 1, "customer_id": 2, "lines": [{"book_id": 3, "quantity": 1}]}
    expect(response.json() == expected, f"GET /orders/1 returned {response.text[:300]}, expected {expected}.")
    missing = await client.get("/orders/999")
    expect(
        missing.status_code == 404,
        f"GET /orders/999 answered {missing.status_code}, expected 404.",
        "Catch OrderNotFound around the get_order call and raise an HTTPException with the contract's status.",
        answer='raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None',
    )


@pytest.mark.points(1)
async def test_post_order_404_for_unknown_customer_or_book(client, db, shop):
    """POST /orders answers 404 for an unknown customer and for an unknown book, and changes nothing"""
    shop(db)
    before = db.snapshot()
    cases = [
        ({"customer_id": 42, "lines": [{"book_id": 2, "quantity": 1}]}, "customer 42", "CustomerNotFound"),
        (
            {"customer_id": 2, "lines": [{"book_id": 3, "quantity": 1}, {"book_id": 77, "quantity": 1}]},
            "book 77",
            "BookNotFound",
        ),
    ]
    for body, what, exception in cases:
        response = await client.post("/orders", json=body)
        expect(
            response.status_code == 404,
            f"POST /orders for an unknown {what} answered {response.status_code} {response.text[:200]}, expected 404.",
            f"place_order raises {exception} for it: catch it around the call and answer with an HTTPException "
            "carrying the contract's status.",
            answer=(
                'raise HTTPException(status_code=404, detail=f"customer {body.customer_id} not found") from None'
                if exception == "CustomerNotFound"
                else 'raise HTTPException(status_code=404, detail=f"book {exc} not found") from None'
            ),
        )
        changed = changed_tables(before, db.snapshot())
        expect(not changed, f"POST /orders for an unknown {what} answered 404, but {', '.join(changed)} changed.")


@pytest.mark.points(1)
async def test_no_commit_in_routes_or_dependencies(route_commits):
    """no route and no dependency calls commit()"""
    observed = route_commits
    expect(
        "POST /orders" in observed["routes"],
        f"`router` has no POST /orders route (it has {observed['routes']})"
        + (
            f"; {observed['unparsed']} cell(s) could not be read: fix their syntax errors first."
            if observed["unparsed"]
            else "."
        ),
        "`@router.post('/orders', status_code=201)` on the route that calls place_order.",
    )
    for found in observed["found"]:
        if found["kind"] == "route":
            expect(
                False,
                f"The route function `{found['name']}` of {found['route']} calls `.commit()` (itself or through a "
                f"function it calls): the route owns the "
                "transaction, and place_order used anywhere else (a script, a job, a test) stores nothing.",
                "Commit in the service, as the last step inside `async with uow:`; the route only calls the service.",
            )
        expect(
            False,
            f"The dependency `{found['name']}` used by {found['route']} calls `.commit()` (itself or through a "
            "function it calls). Code after `yield` runs "
            "after the response was sent: a commit that fails there still answered 2xx.",
            "get_uow only returns a new unit of work on the app's session factory; the service commits.",
            answer="return UnitOfWork(request.app.state.sessionmaker)",
        )
