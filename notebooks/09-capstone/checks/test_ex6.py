"""Exercise 6: the routers and the app, end to end over HTTP, and served by uvicorn."""

import re

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")

ROUTERS = ["app.routers.auth", "app.routers.customers", "app.routers.catalogue", "app.routers.orders"]
ROUTES = {
    ("/auth/token", "POST"),
    ("/customers", "POST"),
    ("/customers/me", "GET"),
    ("/authors", "GET"),
    ("/books", "GET"),
    ("/books/{book_id}", "GET"),
    ("/orders", "POST"),
    ("/orders", "GET"),
    ("/orders/{order_id}", "GET"),
}


ORDER_ANSWER = (
    '@router.post("/orders", status_code=201)\n'
    "async def place_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:\n"
    "    lines = [(line.book_id, line.quantity) for line in body.lines]\n"
    "    return OrderOut.model_validate(await orders.place_order(uow, customer.id, lines))"
)


def sort_books(authors):
    return [a | {"books": sorted(a.get("books") or [], key=lambda b: b.get("id", 0))} for a in authors]


@pytest.mark.points(1)
async def test_register_and_log_in(client, shop, fixtures):
    """POST /customers registers (201, no password in the answer), POST /auth/token logs in, GET /customers/me"""
    response = await client.post(
        "/customers", json={"name": "Ada", "email": "ada@example.com", "password": shop.PASSWORD}
    )
    expect(
        response.status_code == 201,
        f"POST /customers answered {shop.show(response)}, expected 201.",
        "Set the status of a success on the route's decorator in routers/customers.py; create_app includes the router.",
        answer='@router.post("/customers", status_code=201)',
    )
    body = response.json()
    expect(
        isinstance(body, dict) and set(body) == {"id", "name", "email"},
        f"POST /customers answered {body}, expected exactly id, name and email.",
        "Return a CustomerOut (the route's return annotation filters the answer).",
        answer="return CustomerOut.model_validate(customer)",
    )
    ada = await shop.log_in(client, fixtures.Customer(id=body["id"], email=body["email"]))
    me = await client.get("/customers/me", headers=ada.headers)
    expect(
        me.status_code == 200 and me.json() == body,
        f"GET /customers/me with Ada's token answered {shop.show(me)}, expected {body}.",
        "Take the caller from the CurrentCustomer dependency and convert it with CustomerOut.",
        answer='@router.get("/customers/me")\n'
        "async def read_me(customer: CurrentCustomer) -> CustomerOut:\n"
        "    return CustomerOut.model_validate(customer)",
    )


@pytest.mark.points(2)
async def test_browse_and_order(client, shop):
    """browse authors and books, order (stock taken), list and read one's own orders"""
    shop.fill()
    authors = await client.get("/authors")
    expect(
        authors.status_code == 200 and sort_books(authors.json()) == shop.expected_authors(),
        f"GET /authors answered {shop.show(authors)}, expected every author with their books, ordered by id.",
        "Call catalogue.list_authors with the page's limit and offset, and convert each author with AuthorWithBooks.",
        answer="authors = await catalogue.list_authors(uow, limit=page.limit, offset=page.offset)\n"
        "return [AuthorWithBooks.model_validate(author) for author in authors]",
    )
    books = await client.get("/books")
    expect(
        books.status_code == 200 and books.json() == shop.expected_books(),
        f"GET /books answered {shop.show(books)}, expected every book with its author, ordered by id.",
        "catalogue.list_books with the page's limit and offset; BookWithAuthor for each book.",
        answer="books = await catalogue.list_books(uow, limit=page.limit, offset=page.offset)\n"
        "return [BookWithAuthor.model_validate(book) for book in books]",
    )
    book = await client.get("/books/2")
    expect(
        book.status_code == 200 and book.json() == shop.expected_books()[1],
        f"GET /books/2 answered {shop.show(book)}, expected {shop.expected_books()[1]}.",
        "A route on the path `/books/{book_id}` (the path parameter is a parameter of the function) that returns "
        "the BookWithAuthor of catalogue.get_book.",
        answer='@router.get("/books/{book_id}")\n'
        "async def read_book(book_id: int, uow: UowDep) -> BookWithAuthor:\n"
        "    return BookWithAuthor.model_validate(await catalogue.get_book(uow, book_id))",
    )
    ada = await shop.log_in(client, shop.add_customer(1, "ada@example.com"))
    order = {"lines": [{"book_id": 1, "quantity": 2}, {"book_id": 2, "quantity": 1}]}
    created = await client.post("/orders", json=order, headers=ada.headers)
    expect(
        created.status_code == 201,
        f"POST /orders with Ada's token answered {shop.show(created)}, expected 201.",
        "Set the status of a success on the decorator, and call orders.place_order for the caller with the body's "
        "lines as (book_id, quantity) pairs.",
        answer=ORDER_ANSWER,
    )
    body = created.json()
    expected_lines = sorted(order["lines"], key=lambda line: line["book_id"])
    expect(
        body.get("customer_id") == ada.id
        and sorted(body.get("lines", []), key=lambda line: line.get("book_id", 0)) == expected_lines,
        f"POST /orders answered {body}, expected customer_id {ada.id} and the two lines.",
        "The customer comes from the token (CurrentCustomer), the lines from the body; return an OrderOut.",
        answer=ORDER_ANSWER,
    )
    expect(
        shop.stock()[1] == 1 and shop.stock()[2] == 1,
        f"After ordering 2 of book 1 and 1 of book 2 the stock is {shop.stock()}.",
        "POST /orders goes through services.orders.place_order, which takes the stock.",
    )
    listed = await client.get("/orders", headers=ada.headers)
    expect(
        listed.status_code == 200 and [o.get("id") for o in listed.json()] == [body["id"]],
        f"GET /orders with Ada's token answered {shop.show(listed)}, expected her one order.",
        "Call orders.list_orders for the caller (CurrentCustomer), with the page's limit and offset.",
        answer="found = await orders.list_orders(uow, customer.id, limit=page.limit, offset=page.offset)\n"
        "return [OrderOut.model_validate(order) for order in found]",
    )
    one = await client.get(f"/orders/{body['id']}", headers=ada.headers)
    expect(
        one.status_code == 200 and one.json().get("id") == body["id"],
        f"GET /orders/{body['id']} with Ada's token answered {shop.show(one)}.",
        "Call orders.get_order for the caller and the order id of the path.",
        answer="return OrderOut.model_validate(await orders.get_order(uow, customer.id, order_id))",
    )


@pytest.mark.points(1)
async def test_another_customers_order_is_not_found(client, shop):
    """another customer's order answers 404, exactly as an order that does not exist"""
    shop.fill()
    ada, grace = shop.add_customer(1, "ada@example.com"), shop.add_customer(2, "grace@example.com")
    created = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=grace.headers)
    expect(
        created.status_code == 201,
        f"POST /orders with Grace's token answered {shop.show(created)}, expected 201.",
        "Place the order for the caller (CurrentCustomer) with the body's lines.",
        answer=ORDER_ANSWER,
    )
    graces = created.json()["id"]
    theirs = await client.get(f"/orders/{graces}", headers=ada.headers)
    missing = await client.get(f"/orders/{graces + 100}", headers=ada.headers)
    alike = re.sub(rf"\b{graces}\b", "N", theirs.text) == re.sub(rf"\b{graces + 100}\b", "N", missing.text)
    expect(
        theirs.status_code == 404 and alike,
        f"GET /orders/{graces} (Grace's order) with Ada's token answered {shop.show(theirs)}; an order that does not "
        f"exist answered {shop.show(missing)}: the two must be the same 404, or ids reveal which orders exist.",
        "The repository looks an order up by its id and its customer together, so another customer's order is not "
        "found at all.",
        answer=".where(Order.id == order_id, Order.customer_id == customer_id)",
    )


@pytest.mark.points(2)
async def test_routers_only_translate(learner, probe, fixtures, layers):
    """routers import no SQLAlchemy, session or engine, and decide nothing: they call a service"""
    imported = fixtures.expect_probe_ok(
        await probe(fixtures.import_probe, modules=ROUTERS, routes=True), "Importing the routers"
    )
    for module in ROUTERS:
        found = imported["modules"][module]
        expect(found["error"] is None, f"Importing {module} failed: {found['error']}", "Write its cell and run it.")
        expect(
            "router" in found["names"],
            f"{module} defines no `router`.",
            "Each router module defines its `router`, an APIRouter, at module level.",
            answer='router = APIRouter(tags=["orders"])  # each module its own',
        )
    routes = imported["routes"]
    expect(
        isinstance(routes, list),
        f"Importing app.main and reading its routes failed: {routes}",
        "app/main.py defines create_app and, at module level, the app it makes.",
        answer="app = create_app()",
    )
    served = {tuple(route) for route in routes}
    missing = sorted(f"{method} {path}" for path, method in ROUTES if (path, method) not in served)
    expect(
        not missing,
        f"app.main.app has no route {', '.join(missing)}.",
        "create_app includes the four routers.",
        answer="for module in (auth, customers, catalogue, orders):\n    app.include_router(module.router)",
    )
    in_routers = {tuple(route) for module in ROUTERS for route in imported["modules"][module]["routes"]}
    outside = sorted(f"{method} {path}" for path, method in ROUTES if (path, method) not in in_routers)
    expect(
        not outside,
        f"Routes not defined in app/routers/: {', '.join(outside)}.",
        "Define every route on the `router` of its module in app/routers/.",
    )
    sources = fixtures.expect_probe_ok(await learner.probe(fixtures.sources_probe, folders=["app/routers"]), "Reading")
    findings = []
    for path, source in sorted(sources.items()):
        try:
            findings += layers.router_findings(path, source)
        except SyntaxError as exc:
            expect(False, f"{path} is not valid Python: {exc}", "Run its cell again.")
    expect(
        not findings,
        "The routers do more than translate HTTP: "
        + "; ".join(f"{f.path} line {f.line} {f.rule}: `{f.code}`" for f in findings[:6])
        + ".",
        "A route takes its dependencies, calls one service with the unit of work, and converts the result "
        "with a schema. Rules (and their conditions) belong in services/, SQL and commits in repositories/ and "
        "the unit of work, error responses in core/errors.py.",
    )


@pytest.mark.points(1)
async def test_uvicorn_serves_the_app(probe, db, fixtures, shop, serve):
    """`uvicorn app.main:app` in the project folder serves the bookshop"""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    async with serve() as get:
        books = await get("/books")
        expect(
            books["status"] == 200 and '"Kindred"' in books["body"],
            f"uvicorn answered GET /books with {books['status']} {books['body'][:200]}, expected the books of "
            "BOOKSHOP_DATABASE_URL's database.",
            "The module-level app builds its settings from the environment: create_app without settings uses "
            "Settings().",
            answer="settings = settings or Settings()  # in create_app\napp = create_app()  # at module level",
        )
        missing = await get("/books/999")
        expect(
            missing["status"] == 404 and missing["type"].startswith("application/problem+json"),
            f"uvicorn answered GET /books/999 with {missing['status']} ({missing['type']}), expected a 404 as "
            "problem details.",
            "create_app registers core/errors.py's problem handlers on the app it builds.",
            answer="register_problem_handlers(app)  # in create_app",
        )


@pytest.mark.points(1)
async def test_list_routes_keep_their_query_budgets(client, sql, shop):
    """GET /books costs 1 statement, GET /authors 2 and GET /orders 3, with a few rows as with many"""
    shop.fill()
    joan = shop.add_customer(6, "joan@example.com")
    shop.add_orders(joan.id, 1, 2)
    urls = ("/books?page_size=50", "/authors?page_size=50", "/orders?page_size=50")
    small = {}
    for url in urls:
        response = await client.get(url, headers=joan.headers)
        expect(response.status_code == 200, f"GET {url} answered {shop.show(response)}, expected 200.")
        small[url] = list(sql.last)
    shop.fill_large()
    shop.add_orders(joan.id, 3, 75)
    budgets = {
        urls[0]: (1, (f"{len(shop.BOOKS)} books", f"{shop.LARGE}"), "BookRepository.page joins the author in."),
        urls[1]: (2, (f"{len(shop.AUTHORS)} authors", f"{shop.LARGE}"), "AuthorRepository.page selects the books."),
        urls[2]: (
            3,
            ("2 orders", "75"),
            "One statement for the caller, one for the page of orders, one for all their lines: a loader option in "
            "OrderRepository.page_for_customer, nothing per order.",
        ),
    }
    for url, (budget, sizes, hint) in budgets.items():
        response = await client.get(url, headers=joan.headers)
        expect(response.status_code == 200, f"GET {url} answered {shop.show(response)}, expected 200.")
        expect(
            len(response.json()) == 50,
            f"GET {url} answered {len(response.json())} items, expected 50.",
            "Pass the page's limit and offset (PageDep) to the service.",
        )
        shop.expect_flat(
            f"GET {url}",
            small[url],
            list(sql.last),
            budget,
            sizes,
            hint + " The route converts what its one service call returned and loads nothing more.",
        )


@pytest.mark.points(1)
async def test_registration_refuses_is_admin(client, db, shop):
    """POST /customers with is_admin in the body answers a 422 problem, echoes nothing and stores nobody"""
    password = "Mallory's long password"
    response = await client.post(
        "/customers",
        json={"name": "Mallory", "email": "mallory@example.com", "password": password, "is_admin": True},
    )
    what = "POST /customers with is_admin in the body"
    hint = (
        "The route's body is the provided CustomerIn, which refuses unknown fields: FastAPI answers 422 before the "
        "route runs. A dict or a model of your own lets is_admin through."
    )
    if response.status_code == 201:
        expect(False, f"{what} answered 201: a client chose a field only the shop may set (mass assignment).", hint)
    shop.expect_problem(
        response, 422, what, hint, answer="async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:"
    )
    expect(password not in response.text, f"{what} answered {response.text[:300]}: it echoes the password.", hint)
    expect(
        not db.rows("SELECT id FROM customers WHERE email = 'mallory@example.com'"),
        f"{what} answered 422, yet stored the customer.",
        hint,
    )


@pytest.mark.points(1)
async def test_orders_list_shows_only_the_callers_orders(client, shop):
    """GET /orders answers the caller's own orders, whoever else has ordered"""
    shop.fill()
    noor, joan = shop.add_customer(5, "noor@example.org"), shop.add_customer(6, "joan@example.com")
    shop.add_orders(noor.id, 1, 2)
    shop.add_orders(joan.id, 3, 3)
    shop.add_orders(noor.id, 4, 4)
    for customer, expected in ((noor, [1, 2, 4]), (joan, [3])):
        response = await client.get("/orders", headers=customer.headers)
        found = [order.get("id") for order in response.json()] if response.status_code == 200 else None
        expect(
            found == expected,
            f"GET /orders with the token of {customer.email} answered {shop.show(response)}, expected the orders "
            f"{expected} only.",
            "The route asks orders.list_orders for the caller (CurrentCustomer), whose repository filters on the "
            "customer's id.",
            answer="found = await orders.list_orders(uow, customer.id, limit=page.limit, offset=page.offset)",
        )
