"""Exercise 6: routes that catch nothing, so every domain exception reaches the table; documented problems."""

import pytest

from grader.checks import expect
from grader.checks.problems import PROBLEM_JSON, REQUIRED_MEMBERS, describe

pytestmark = pytest.mark.exercise("ex6")

# The routes of `router` and the problem statuses each documents (besides the 500 of the router).
DOCUMENTED = {
    ("post", "/customers"): (409, 422),
    ("post", "/auth/token"): (401, 422),
    ("get", "/customers/me"): (401,),
    ("get", "/customers/{customer_id}"): (401, 403, 404, 422),
    ("post", "/orders"): (401, 404, 409, 422),
    ("get", "/orders"): (401,),
    ("get", "/orders/{order_id}"): (401, 404, 422),
}
PASS_THROUGH_HINT = (
    "Let the route call the service and return: a `try`/`except` that raises HTTPException (or returns a response) "
    "replaces the table's answer with one of its own."
)
PASS_THROUGH = "return OrderOut.model_validate(await get_order(uow, customer.id, order_id))  # no try, no except"
CREATED = {("post", "/customers"), ("post", "/orders")}


@pytest.fixture
def app_kwargs(db, shop):
    """create_app on the test database, signing tokens with the grader's key."""
    return {"database_url": db.url, "mode": "full", "secret": shop.SECRET}


def expect_status(response, label: str, status: int, hint: str, answer: str = ""):
    expect(response.status_code == status, f"{label} answered {describe(response)}, expected {status}.", hint, answer)
    return response.json()


@pytest.mark.points(1)
async def test_routes_work(client, shop):
    """register, log in, read yourself, order and read your orders: the successful paths still work"""
    shop.seed()
    created = await client.post(
        "/customers", json={"name": "Joan", "email": "joan@example.com", "password": "Joan's long password"}
    )
    body = expect_status(created, "POST /customers for a new email", 201, "The given route: run its cell.")
    expect(set(body) == {"id", "name", "email"}, f"POST /customers answered {body}, expected a CustomerOut.")
    login = await client.post("/auth/token", data={"username": shop.email(1), "password": shop.PASSWORDS[1]})
    token = expect_status(
        login,
        "POST /auth/token with Ada's password",
        200,
        "Call `authenticate` with the form's username and password, then make the customer's token as in chapter 05.",
        "customer = await authenticate(uow, form.username, form.password)\n"
        "return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))",
    )
    expect(
        isinstance(token, dict) and token.get("token_type") == "bearer" and token.get("access_token"),
        f"POST /auth/token answered {token}, expected a Token.",
        "Answer with the given Token model.",
        answer="return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))",
    )
    ada = {"Authorization": f"Bearer {token['access_token']}"}
    me = expect_status(await client.get("/customers/me", headers=ada), "GET /customers/me as Ada", 200, "")
    expect(me == {"id": 1, "name": "Ada", "email": shop.email(1)}, f"GET /customers/me as Ada answered {me}.")
    for caller, label in ((1, "Ada herself"), (3, "Hedy, an admin")):
        read = await client.get("/customers/1", headers=shop.auth(caller))
        body = expect_status(
            read,
            f"GET /customers/1 as {label}",
            200,
            "Call `get_customer(uow, caller, customer_id)`; "
            "declare GET /customers/me before GET /customers/{customer_id}.",
            "return CustomerOut.model_validate(await get_customer(uow, caller, customer_id))",
        )
        expect(body.get("id") == 1, f"GET /customers/1 as {label} answered {body}.")
    order = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 2}]}, headers=ada)
    body = expect_status(
        order,
        "POST /orders as Ada",
        201,
        "Call place_order for the caller, with the body's lines as (book_id, quantity) pairs; the route's status "
        "is 201.",
        "order = await place_order(uow, customer.id, [(line.book_id, line.quantity) for line in body.lines])",
    )
    expect(
        body.get("customer_id") == 1 and body.get("lines") == [{"book_id": 1, "quantity": 2}],
        f"POST /orders as Ada answered {body}.",
    )
    read = expect_status(await client.get(f"/orders/{body['id']}", headers=ada), "GET /orders/{id} as Ada", 200, "")
    expect(read == body, f"GET /orders/{body['id']} as Ada answered {read}, expected {body}.")
    listed = expect_status(await client.get("/orders", headers=ada), "GET /orders as Ada", 200, "")
    expect(listed == [body], f"GET /orders as Ada answered {listed}, expected [{body}].")


def order_of(book_id: int) -> dict:
    return {"lines": [{"book_id": book_id, "quantity": 1}]}


@pytest.mark.points(2)
async def test_domain_errors_reach_the_handlers(client, shop, contract, problem_table):
    """each route lets its service's domain exceptions through: the table's problem answers them"""
    shop.seed()
    ada, grace, hedy = shop.auth(1), shop.auth(2), shop.auth(3)
    new_ada = {"name": "Ada", "email": shop.email(1), "password": "another long password"}
    cases = [  # (label, the exception the service raises, method, url, request arguments)
        ("GET /books/99", "BookNotFound", "GET", "/books/99", {}),
        ("POST /orders for a sold-out book", "OutOfStock", "POST", "/orders", {"json": order_of(2), "headers": ada}),
        ("POST /orders for book 99", "BookNotFound", "POST", "/orders", {"json": order_of(99), "headers": ada}),
        ("POST /customers with Ada's email", "EmailTaken", "POST", "/customers", {"json": new_ada}),
        ("GET /customers/1 as Grace", "NotAllowed", "GET", "/customers/1", {"headers": grace}),
        ("GET /customers/99 as Hedy, an admin", "CustomerNotFound", "GET", "/customers/99", {"headers": hedy}),
        ("GET /orders/1 (Grace's) as Ada", "OrderNotFound", "GET", "/orders/1", {"headers": ada}),
        (
            "POST /auth/token with a wrong password",
            "InvalidCredentials",
            "POST",
            "/auth/token",
            {"data": {"username": shop.email(1), "password": "a wrong guess"}},
        ),
    ]
    for label, name, method, url, arguments in cases:
        kind = problem_table.get(name)
        expect(kind is not None, f"PROBLEM_TYPES has no entry for {name} (exercise 2).")
        response = await client.request(method, url, **arguments)
        body = contract.expect_problem(response, label, kind["status"], PASS_THROUGH_HINT, PASS_THROUGH)
        expect(
            body.get("type") == kind["type"] and body.get("title") == kind["title"],
            f"{label} answered the problem {body}, not the one PROBLEM_TYPES gives {name} (type {kind['type']!r}): "
            f"the route turned {name} into an error of its own instead of letting it reach domain_error_handler.",
            PASS_THROUGH_HINT,
            answer=PASS_THROUGH,
        )
    contract.expect_header(
        response,
        "POST /auth/token with a wrong password",
        "WWW-Authenticate",
        "Bearer",
        PASS_THROUGH_HINT,
        "customer = await authenticate(uow, form.username, form.password)  # no try, no except",
    )


def route_references(program):
    """The routes of `router`, and the names each route function refers to that raise or catch errors: read
    from the submitted source."""
    from grader.checks.bookshop import DOMAIN_STATUS

    routes = []
    for route in program.routes("router"):
        used = program.names(route.function)
        flagged = sorted(
            name for name in used if "HTTPException" in name or name in DOMAIN_STATUS or name == "credentials_error"
        )
        routes.append({"route": route.label, "function": route.function, "flagged": flagged})
    return routes


@pytest.mark.points(1)
async def test_routes_catch_nothing(learner):
    """no route function raises an HTTPException or catches a domain exception"""
    observed = route_references(learner.program())
    labels = [route["route"] for route in observed]
    for method, path in DOCUMENTED:
        expect(
            f"{method.upper()} {path}" in labels,
            f"`router` has no {method.upper()} {path} route (it has {labels}).",
            "Exercise 6's table lists the seven routes.",
        )
    for route in observed:
        flagged = route["flagged"]
        raises = [name for name in flagged if "HTTPException" in name or name == "credentials_error"]
        expect(
            not raises,
            f"The route function `{route['function']}` of {route['route']} builds an HTTPException "
            f"({', '.join(raises)}): its errors bypass PROBLEM_TYPES, so each route decides status, type and "
            "detail on its own again.",
            "Call the service and let its domain exception go up to the handlers registered by "
            "register_problem_handlers.",
            answer=PASS_THROUGH,
        )
        expect(
            not flagged,
            f"The route function `{route['function']}` of {route['route']} refers to {', '.join(flagged)}: it catches "
            "a domain exception itself instead of letting it reach domain_error_handler.",
            "No try/except in routes: the mapping from exception to problem lives in PROBLEM_TYPES only.",
            answer=PASS_THROUGH,
        )


async def openapi_document(ns, database_url, secret):
    """Probe: the OpenAPI document of the app `create_app` builds."""
    from grader.checks.bookshop import auth_settings

    app = ns["create_app"](auth_settings(ns, database_url, secret))
    try:
        return app.openapi()
    finally:
        await app.state.engine.dispose()


def resolve(schema, document):
    """A schema with its top-level $ref followed into the document's components."""
    reference = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if reference.startswith("#/"):
        found = document
        for part in reference[2:].split("/"):
            found = found.get(part, {}) if isinstance(found, dict) else {}
        return found
    return schema if isinstance(schema, dict) else {}


@pytest.mark.points(1)
async def test_openapi_documents_problems(learner, db, shop):
    """the OpenAPI schema documents each route's problems as application/problem+json"""
    observed = await learner.probe(openapi_document, database_url=db.url, secret=shop.SECRET)
    expect(observed.ok, f"`create_app(settings).openapi()` raised {observed.describe_error()}.")
    document = observed.value
    for (method, path), statuses in DOCUMENTED.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        label = f"{method.upper()} {path}"
        expect(operation is not None, f"The OpenAPI schema has no {label}.", "Add the route to `router`.")
        for status in (*statuses, 500):
            response = operation.get("responses", {}).get(str(status))
            listed = ", ".join(map(str, statuses))
            hint = (
                f"Document the route's problems ({listed}) with `problem_responses` on its decorator, and the 500 "
                "with the router's `APIRouter(responses=problem_responses(500))`."
            )
            created = ", status_code=201" if (method, path) in CREATED else ""
            key_line = f'@router.{method}("{path}"{created}, responses=problem_responses({listed}))'
            expect(
                response is not None,
                f"The OpenAPI schema does not document the {status} of {label}.",
                hint,
                answer=key_line,
            )
            content = response.get("content", {})
            if PROBLEM_JSON not in content:
                media = ", ".join(content) or "no content"
                default = " (FastAPI's default HTTPValidationError)" if "HTTPValidationError" in str(content) else ""
                expect(
                    False,
                    f"The OpenAPI schema documents the {status} of {label} as {media}{default}, not as "
                    f"{PROBLEM_JSON}, which is what the handlers send.",
                    '`{"model": Problem}` documents the schema under application/json: use problem_responses. ' + hint,
                    answer=key_line,
                )
            schema = resolve(content[PROBLEM_JSON].get("schema", {}), document)
            properties = set(schema.get("properties", {}))
            expect(
                set(REQUIRED_MEMBERS) <= properties,
                f"The OpenAPI schema documents the {status} of {label} as {PROBLEM_JSON} with a schema whose "
                f"properties are {sorted(properties)}; a problem has {', '.join(REQUIRED_MEMBERS)}.",
                "Give the media type the Problem schema: problem_responses does.",
                answer=key_line,
            )


@pytest.mark.points(1)
async def test_wrong_password_and_unknown_email_answer_alike(client, shop, contract):
    """POST /auth/token answers a wrong password and an unknown email with the same 401 problem"""
    shop.seed()
    key_line = "customer = await authenticate(uow, form.username, form.password)  # no try, no except"
    wrong_label, unknown_label = "Grace's email and a wrong password", "an email nobody registered"
    wrong = await client.post("/auth/token", data={"username": shop.email(2), "password": "Grace's wrong guess"})
    unknown = await client.post("/auth/token", data={"username": "someone@example.org", "password": "Grace's guess"})
    expect(
        (wrong.status_code, wrong.content, wrong.headers.get("www-authenticate"))
        == (unknown.status_code, unknown.content, unknown.headers.get("www-authenticate")),
        f"POST /auth/token answered {describe(wrong)} for {wrong_label} and {describe(unknown)} for "
        f"{unknown_label}: whoever tries emails learns which ones have an account.",
        "`authenticate` raises InvalidCredentials for both: let it reach the handlers, which answer both from the "
        "table's one entry. Looking the email up in the route tells the two apart.",
        answer=key_line,
    )
    for label, response in ((wrong_label, wrong), (unknown_label, unknown)):
        contract.expect_problem(response, f"POST /auth/token with {label}", 401, PASS_THROUGH_HINT, key_line)
