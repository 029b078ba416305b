"""Chapter 07 fixtures: the learner's app with a known key and clock, the shop's rows, the probes that
look at schemas and routes, and the verdicts on what an answer may contain.

Probes run in the learner's process and return plain data; every verdict is computed here.

- ``build_app`` (the ``client`` fixture's app) signs with ``KEY`` (``grader.checks.jwt.TEST_KEY``) and
  gets *now* from a movable clock that starts at the test's ``t0``, so checks forge tokens instead of
  logging in (argon2 is slow on purpose). ``mode="app"`` is ``create_app``; ``mode="validation"`` is
  a bare app with the learner's ``validation_error_handler`` and three probe routes, so exercise 3 is
  checked before any schema or route of exercises 1, 2, 4 and 5 exists. The same probe also answers
  two questions about the app instead of returning it: ``action="audit"`` describes every route (its
  response model, and which ``Response`` classes its endpoint builds), ``action="replay"`` sends one
  request again with the app's exception let out, to explain a 500.
- The shop's rows, the tables, ``t0`` and ``app_kwargs`` are the ones chapters 05 and 07 share
  (``grader.checks.bookshop``, ``grader.checks.fixtures``).
- Customers are seeded with argon2id hashes made by the grader (``hash_of``); ``Shop.forbidden``
  lists what a response to a given caller must not contain, for ``grader.checks.pii``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from grader.checks import bookshop, expect
from grader.checks import fixtures as shared
from grader.checks import jwt as forge
from grader.checks.bookshop import CUSTOMERS, LINES, ORDERS, PASSWORDS, hash_of
from grader.checks.pii import find_leaks, scan_response, summarise

KEY = forge.TEST_KEY  # the app's signing key in every check

CUSTOMER_OUT = {"id", "name", "email"}
CUSTOMER_PUBLIC = {"id", "name"}
ORDER_OUT = {"id", "customer_id", "lines"}
ORDER_LINE_OUT = {"book_id", "quantity"}
ERROR_KEYS = {"loc", "msg", "type"}
PRIVILEGED = {"id", "is_admin", "hashed_password", "customer_id"}
# The routes of exercises 4 and 5, each audited by its exercise's check; exercise 5's hidden audit covers every
# other route of the app, so a route without its response model costs one check, not two.
CUSTOMER_ROUTES = ("POST /customers", "GET /customers/me", "PATCH /customers/me")
DIRECTORY_AND_ORDER_ROUTES = (
    "GET /customers",
    "GET /customers/{customer_id}",
    "POST /orders",
    "GET /orders",
    "GET /orders/{order_id}",
)


# -- probes: run in the learner's process ----------------------------------------------------------


async def build_app(ns, database_url, jwt_secret, clock_at, mode="app", action=None, replay=None):
    """Probe: the app under test, its tables created, signing with ``jwt_secret``, its clock at
    ``clock_at``; with ``action="audit"`` a description of its routes instead, with ``action="replay"``
    what ``replay`` (a request) raised inside the app."""
    import base64
    import inspect
    import types
    import typing
    from typing import Annotated

    import httpx
    from fastapi import Depends, Query
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute
    from fastapi.security import OAuth2PasswordRequestForm
    from pydantic import BaseModel, ConfigDict, Field

    from grader.checks.bookshop import auth_settings, bare_app, create_tables
    from grader.checks.clock import parse_time, shared_clock

    needed = ["Base", "make_engine", "make_sessionmaker", "Settings", "get_clock"]
    needed += ["create_app"] if mode == "app" else ["validation_error_handler"]
    for name in needed:
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run every cell above the check, in order)")
    await create_tables(ns, database_url)
    settings = auth_settings(ns, database_url, jwt_secret)
    if mode == "app":
        app = ns["create_app"](settings)
    else:
        # Exercise 3 alone: bodies, a query and a form that fail validation, and the learner's handler.
        class Line(BaseModel):
            model_config = ConfigDict(extra="forbid")
            book_id: int
            quantity: int = Field(ge=1, le=100)

        class Signup(BaseModel):
            model_config = ConfigDict(extra="forbid")
            name: str = Field(min_length=1)
            email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
            password: str = Field(min_length=8)
            lines: list[Line] = []

        async def signup(body: Signup):
            return {"name": body.name}

        async def items(limit: Annotated[int, Query(ge=1)] = 10):
            return {"limit": limit}

        async def form_login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
            return {"username": "accepted"}

        app = bare_app(ns, settings, database_url)
        app.add_exception_handler(RequestValidationError, ns["validation_error_handler"])
        app.add_api_route("/probe/signup", signup, methods=["POST"])
        app.add_api_route("/probe/items", items, methods=["GET"])
        app.add_api_route("/probe/login", form_login, methods=["POST"])
    clock = shared_clock("app", parse_time(clock_at))
    app.dependency_overrides[ns["get_clock"]] = lambda: clock
    if action is None:
        return app

    try:
        if action == "replay":
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                try:
                    response = await http.request(
                        replay["method"],
                        replay["url"],
                        headers=replay["headers"],
                        content=base64.b64decode(replay["body"]),
                    )
                except Exception as exc:
                    chain, seen = [], exc
                    while seen is not None and len(chain) < 3:
                        chain.append(f"{type(seen).__name__}: {seen}"[:600])
                        seen = seen.__cause__ or seen.__context__
                    return {"status": None, "error": "\n".join(chain)}
                return {"status": response.status_code, "error": None}

        def kind(annotation):
            """ "model" for a pydantic model, or a list/union of them; "none"; else "untyped"."""
            if annotation is None:
                return "none"
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                return "model"
            origin = typing.get_origin(annotation)
            containers = (list, tuple, set, frozenset, typing.Union, types.UnionType)
            if origin in containers or (isinstance(origin, type) and origin.__name__ == "Sequence"):
                args = [a for a in typing.get_args(annotation) if a not in (type(None), Ellipsis)]
                return "model" if args and {kind(a) for a in args} == {"model"} else "untyped"
            if origin is typing.Annotated:
                return kind(typing.get_args(annotation)[0])
            return "untyped"

        try:  # FastAPI >= 0.165 keeps included routers as they are; this walks them, with their prefixes
            from fastapi.routing import iter_route_contexts

            found = [(context.original_route, context.path) for context in iter_route_contexts(app.routes)]
        except ImportError:
            found = [(route, getattr(route, "path", None)) for route in app.routes]
        routes = []
        for route, path in found:
            if not isinstance(route, APIRoute):
                continue
            endpoint = inspect.unwrap(route.endpoint)
            model = route.response_model
            for method in sorted(route.methods):
                routes.append(
                    {
                        "route": f"{method} {path}",
                        "function": getattr(endpoint, "__name__", "?"),
                        "model": None if model is None else getattr(model, "__name__", None) or repr(model),
                        "kind": kind(model),
                    }
                )
        return routes
    finally:
        await app.state.engine.dispose()


async def validate_probe(ns, name, data):
    """Probe: ``name.model_validate(data)``: its JSON dump, or the errors' types and locations."""
    from pydantic import BaseModel, ValidationError

    model = ns.get(name)
    if model is None:
        raise NameError(f"name {name!r} is not defined")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{name} is not a pydantic model (it is {type(model).__name__})")
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        return {"valid": False, "errors": [{"type": e["type"], "loc": list(e["loc"])} for e in exc.errors()]}
    return {"valid": True, "dump": value.model_dump(mode="json")}


async def schemas_probe(ns, names):
    """Probe: for each schema name, whether it is a pydantic model, its fields, its ``extra`` and
    ``from_attributes`` settings, and whether it subclasses ``InputModel``."""
    from pydantic import BaseModel

    base = ns.get("InputModel")
    described = {}
    for name in names:
        model = ns.get(name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            described[name] = {"model": False, "type": type(model).__name__ if name in ns else None}
            continue
        described[name] = {
            "model": True,
            "fields": sorted(model.model_fields),
            "extra": model.model_config.get("extra"),
            "from_attributes": bool(model.model_config.get("from_attributes")),
            "input_model": isinstance(base, type) and issubclass(model, base),
        }
    return described


async def orm_dumps_probe(ns, hashed, customer, order_id, lines, extra, line_extra):
    """Probe: each output schema validated from ORM objects (``customer``'s row with the hash ``hashed``, and
    order ``order_id`` with its ``lines`` as (id, book_id, quantity)) and from dicts that carry more keys (the
    hash, ``extra`` for a customer, ``line_extra`` for a line); the JSON dumps or the error."""
    from pydantic import BaseModel

    orm_customer = ns["Customer"](**customer, hashed_password=hashed)
    order = ns["Order"](id=order_id, customer_id=customer["id"])
    order.lines = [ns["OrderLine"](id=i, order_id=order_id, book_id=b, quantity=q) for i, b, q in lines]
    customer_dict = customer | {"hashed_password": hashed} | extra
    line_dicts = [{"id": i, "order_id": order_id, "book_id": b, "quantity": q} | line_extra for i, b, q in lines]
    order_dict = {"id": order_id, "customer_id": customer["id"], "lines": line_dicts, "customer": customer_dict}
    sources = {
        "CustomerPublic": (orm_customer, customer_dict),
        "CustomerOut": (orm_customer, customer_dict),
        "OrderLineOut": (order.lines[0], line_dicts[0]),
        "OrderOut": (order, order_dict),
    }
    dumps = {}
    for name, (orm_object, plain) in sources.items():
        model = ns.get(name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            dumps[name] = {"error": f"{name} is not defined as a pydantic model"}
            continue
        entry = {}
        for label, source in (("orm", orm_object), ("dict", plain)):
            try:
                entry[label] = model.model_validate(source).model_dump(mode="json")
            except Exception as exc:
                entry[label + "_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        dumps[name] = entry
    return dumps


# The customer and order the output schemas are tried on: Lin's unless a check brings its own.
LIN = {
    "password": "Lin's own password",
    "customer": {"id": 7, "name": "Lin", "email": "lin@example.com", "is_admin": True},
    "order_id": 5,
    "lines": [[9, 2, 3]],
    "extra": {"password": "Lin's own password"},
    "line_extra": {"price_cents": 999},
}


# -- fixtures ----------------------------------------------------------------------------------------


t0 = shared.t0


@pytest.fixture
def app_mode() -> str:
    """``app`` (create_app) or ``validation`` (only the 422 handler); test modules override it."""
    return "app"


@pytest.fixture
def app_probe():
    return build_app


app_kwargs = shared.signed_app_kwargs
tables = shared.tables_fixture("the models")


# -- verdicts ------------------------------------------------------------------------------------------


def body_of(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def short(value: Any, limit: int = 240) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_hint(extra: set[str]) -> str:
    """Why a response carries keys its schema does not declare."""
    if extra & {"hashed_password", "is_admin"}:
        return (
            "The route sends the Customer row's columns: it returns the ORM object (or a dict of it) with "
            "`response_model=None` or `-> dict`, builds a JSONResponse itself, or its schema declares them. "
            "Declare the schema of the contract (`-> CustomerOut`) and return `CustomerOut.model_validate(customer)`."
        )
    return (
        "Each answer has exactly the keys of its schema: declare the contract's response model on the route and "
        "give the schema exactly the contract's fields (no `extra='allow'`, no extra fields)."
    )


def expect_keys(label: str, body: Any, keys: set[str]) -> None:
    """``body`` is an object with exactly ``keys``."""
    expect(isinstance(body, dict), f"{label} answered {short(body)}, expected an object with the keys {sorted(keys)}.")
    extra, missing = set(body) - keys, keys - set(body)
    problems = ([f"extra {sorted(extra)}"] if extra else []) + ([f"missing {sorted(missing)}"] if missing else [])
    expect(
        not problems,
        f"{label} answered the keys {sorted(body)} ({', '.join(problems)}); the schema has exactly {sorted(keys)}.",
        key_hint(extra),
    )


def leak_hint(findings: list[str]) -> str:
    """The likely cause of each kind of leak found in an answer."""
    text = " ".join(findings)
    hints = []
    if "hash" in text:
        hints.append(
            "A password hash left the API: a route returns the Customer row without a response model "
            "(`response_model=None`, `-> dict`, a JSONResponse), or a schema declares `hashed_password`."
        )
    if "password" in text.replace("password hash", "") and "hashed_password" not in text:
        hints.append(
            "A password was sent back: the 422 handler repeats the `input` of each error (exercise 3), or an "
            "error message repeats the request."
        )
    if "email" in text:
        hints.append(
            "Another customer's email was sent: other customers are shown as CustomerPublic (id and name), and "
            "a 409 comes from chapter 06's table (EmailTaken), whose detail repeats no address."
        )
    return " ".join(hints) or "Send only the fields of the contract's schema."


def expect_no_leaks(label: str, response, forbidden: dict[str, str]) -> None:
    """Neither the body nor the headers of ``response`` contain anything forbidden or a password hash."""
    findings = scan_response(response, forbidden)
    expect(not findings, f"{label} leaked: {summarise(findings)}.", leak_hint(findings))


def explain_500(label: str, text: str) -> tuple[str, str]:
    """A message and a hint for the exception behind a 500."""
    first = text.strip().splitlines()[0][:400] if text.strip() else "an unknown error"
    if "ResponseValidationError" in text:
        return (
            f"{label} crashed (500): its return value does not fit its response model ({first}).",
            "Return the schema the route declares, built with `Schema.model_validate(orm_object)`; every field "
            "of the schema must be readable from the object.",
        )
    if "NOT NULL constraint failed" in text:
        return (
            f"{label} crashed (500): None was written into a column ({first}).",
            "Pass only the fields that were sent: `body.model_dump(exclude_none=True)`.",
        )
    if "MissingGreenlet" in text or "lazy='raise'" in text:
        return (
            f"{label} crashed (500): a relationship was read without being loaded ({first}).",
            "Use the provided services (they load order lines) and build the schema from what they return.",
        )
    if "NotImplementedError" in text:
        return f"{label} crashed (500): NotImplementedError (the exercise is not written yet).", ""
    return f"{label} crashed (500): {first}", "Run the request in the notebook to see the whole traceback."


# What a route builds when it makes its own response instead of returning data for its response model.
RESPONSES = {"Response", "JSONResponse", "ORJSONResponse", "UJSONResponse", "PlainTextResponse"}
RESPONSES |= {"HTMLResponse", "StreamingResponse", "RedirectResponse"}


class Shop:
    """What a test needs around the app: rows, tokens, forbidden values and verdicts on answers."""

    KEY = KEY
    CUSTOMERS = CUSTOMERS
    PASSWORDS = PASSWORDS
    ORDERS = ORDERS
    LINES = LINES
    CUSTOMER_OUT = CUSTOMER_OUT
    CUSTOMER_PUBLIC = CUSTOMER_PUBLIC
    ORDER_OUT = ORDER_OUT
    ORDER_LINE_OUT = ORDER_LINE_OUT
    ERROR_KEYS = ERROR_KEYS
    PRIVILEGED = PRIVILEGED
    CUSTOMER_ROUTES = CUSTOMER_ROUTES
    DIRECTORY_AND_ORDER_ROUTES = DIRECTORY_AND_ORDER_ROUTES
    forge = forge
    hash_of = staticmethod(hash_of)
    body_of = staticmethod(body_of)
    short = staticmethod(short)
    expect_keys = staticmethod(expect_keys)
    expect_no_leaks = staticmethod(expect_no_leaks)
    leak_hint = staticmethod(leak_hint)
    find_leaks = staticmethod(find_leaks)
    scan_response = staticmethod(scan_response)
    summarise = staticmethod(summarise)

    def __init__(self, learner, db, t0, app_kwargs: dict[str, Any]) -> None:
        self.learner = learner
        self.db = db
        self.t0 = t0
        self.app_kwargs = app_kwargs

    # -- rows --------------------------------------------------------------------------------------
    def seed(self, *, customers: bool = True, orders: bool = True) -> None:
        """The catalogue, and (unless told otherwise) the three customers and their orders."""
        rows = [(id_, name, email, hash_of(PASSWORDS[id_]), 0) for id_, name, email in CUSTOMERS] if customers else []
        bookshop.insert(
            self.db,
            authors=bookshop.SHOP_AUTHORS,
            books=bookshop.SHOP_BOOKS,
            customers=rows,
            orders=ORDERS if customers and orders else (),
            lines=LINES if customers and orders else (),
        )

    def customers(self) -> list[dict[str, Any]]:
        return self.db.rows("SELECT id, name, email, hashed_password, is_admin FROM customers ORDER BY id")

    def orders(self) -> list[dict[str, Any]]:
        return self.db.rows("SELECT id, customer_id FROM orders ORDER BY id")

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        rows = self.db.rows("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return rows[0] if rows else None

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        rows = self.db.rows("SELECT * FROM customers WHERE email = ?", (email,))
        return rows[0] if rows else None

    # -- tokens ------------------------------------------------------------------------------------
    def token(self, customer_id: int) -> str:
        """A token the app must accept for ``customer_id``: HS256 with the app's key, issued at ``t0``."""
        return forge.sign(forge.standard_claims(str(customer_id), at=self.t0), KEY)

    def auth(self, customer_id: int) -> dict[str, str]:
        return forge.bearer(self.token(customer_id))

    # -- what may not leave ------------------------------------------------------------------------
    def forbidden(self, caller: int | None = None, *, extra: dict[str, str] | None = None) -> dict[str, str]:
        """What an answer to ``caller`` (a customer id, None for nobody) must not contain: every password,
        every stored hash, and the email of every customer but the caller, as ``{value: what it is}``."""
        found = {password: f"{CUSTOMERS[i - 1][1]}'s password" for i, password in PASSWORDS.items()}
        for row in self.customers():
            found[row["hashed_password"]] = f"{row['name']}'s password hash"
            if row["id"] != caller:
                found[row["email"]] = f"{row['name']}'s email"
        return found | (extra or {})

    # -- verdicts needing the app ------------------------------------------------------------------
    async def explain(self, response, label: str) -> tuple[str, str]:
        """(message, hint) for a 500: the request is sent again to a fresh app whose exception is let out."""
        request = response.request
        replay = {
            "method": request.method,
            "url": str(request.url),
            "headers": [[k, v] for k, v in request.headers.multi_items()],
            "body": base64.b64encode(request.content).decode(),
        }
        observed = await self.learner.probe(build_app, **self.app_kwargs, action="replay", replay=replay)
        if observed.ok and isinstance(observed.value, dict) and observed.value.get("error"):
            return explain_500(label, observed.value["error"])
        return f"{label} crashed (500).", "Run the request in the notebook to see the whole traceback."

    async def expect_status(self, response, status: int, label: str, hint: str = "", answer: str = "") -> Any:
        """The JSON body of ``response`` when it has ``status``; else a failed check that explains it (``hint`` and
        ``answer`` are the two levels of the hint)."""
        if response.status_code == 500 and status != 500:
            message, why = await self.explain(response, label)
            expect(False, message, why or hint, answer)
        body = body_of(response)
        no_route = isinstance(body, dict) and body.get("detail") in ("Not Found", "Method Not Allowed")
        if response.status_code in (404, 405) and no_route:
            expect(
                status == response.status_code,
                f"{label} answered {response.status_code} {body}, expected {status}: the app has no such route.",
                "Run the exercise's cell (after the cells above it): its routes are added to `router`, which "
                "create_app includes.",
            )
        expect(
            response.status_code == status,
            f"{label} answered {response.status_code} {short(body, 200)}, expected {status}.",
            hint,
            answer,
        )
        return body

    async def expect_taken_email_refused(self, client, owner: int, newcomer: str, patcher: int) -> None:
        """POST /customers (as ``newcomer``) and PATCH /customers/me (as customer ``patcher``) with customer
        ``owner``'s email: both answer 409 without the email or the owner's name, and no customer changes."""
        _, name, email = CUSTOMERS[owner - 1]
        before = self.customers()
        hint = "Let EmailTaken go up to chapter 06's handlers: the table's 409 has a fixed detail."
        forbidden = {email: f"the email that was sent ({name}'s)", name: "the name of the customer"}
        body = {"name": newcomer, "email": email, "password": f"{newcomer}'s long password"}
        response = await client.post("/customers", json=body)
        await self.expect_status(response, 409, f"POST /customers with {name}'s email", hint)
        self.expect_no_leaks("The 409 answer to a registration with a taken email", response, forbidden)
        response = await client.patch("/customers/me", json={"email": email}, headers=self.auth(patcher))
        await self.expect_status(response, 409, f"PATCH /customers/me (as customer {patcher}) to {name}'s email", hint)
        self.expect_no_leaks("The 409 answer to PATCH /customers/me with a taken email", response, forbidden)
        expect(self.customers() == before, "A refused registration or PATCH (409) changed the customers table.")

    async def audit(self) -> list[dict[str, Any]]:
        """Every route of the learner's app: its response model, its kind, the Response classes it builds."""
        observed = await self.learner.probe(build_app, **self.app_kwargs, action="audit")
        expect(
            observed.ok,
            f"The app could not be built to list its routes: {observed.describe_error()}.",
            "Run every cell above the check, in order: create_app needs `validation_error_handler` and `router`.",
        )
        program = self.learner.program()
        return [{**route, "builds": self._builds(program, route)} for route in observed.value]

    @staticmethod
    def _builds(program: Any, route: dict[str, Any]) -> list[str]:
        """The Response classes a route's function refers to, read from the submitted source (the route found
        by its method and path where the source declares it, else by the function's name)."""
        declared = {
            f"{method} {found.path}": found.function
            for router in program.routers
            for found in program.routes(router)
            for method in found.methods
        }
        function = declared.get(route["route"], route["function"])
        return sorted(program.names(function) & RESPONSES)


def expect_declared(routes: list[dict[str, Any]]) -> None:
    """Every route in ``routes`` declares a pydantic response model and builds no Response itself."""
    for route in routes:
        name = f"{route['route']} ({route['function']})"
        expect(
            not route["builds"],
            f"{name} builds a {' / '.join(route['builds'])} itself: FastAPI sends a Response exactly as it is, "
            "so the route's response model filters nothing.",
            "Return data (a schema instance) and let the response model serialise it; set the status with "
            "`status_code=` on the decorator.",
        )
        if route["kind"] == "none":
            expect(
                False,
                f"{name} declares no response model (response_model=None, or a return annotation that is a "
                "Response): whatever it returns is sent whole.",
                "Annotate the route with its schema (`-> CustomerOut`, `-> list[OrderOut]`) or pass `response_model=`.",
            )
        expect(
            route["kind"] == "model",
            f"{name} declares {route['model']} as its response model: that checks nothing, every key of what "
            "it returns is sent.",
            "Declare the contract's schema (a pydantic model, or a list of one) instead of dict or Any.",
        )


class Schemas:
    """Probes on the learner's schemas, from the grader side."""

    def __init__(self, learner) -> None:
        self.learner = learner

    async def validate(self, name: str, data: Any) -> dict[str, Any]:
        observed = await self.learner.probe(validate_probe, name=name, data=data)
        expect(
            observed.ok,
            f"`{name}.model_validate(...)` could not be tried: {observed.describe_error()}.",
            f"Run the cell that defines {name}.",
        )
        return observed.value

    async def describe(self, *names: str) -> dict[str, dict[str, Any]]:
        observed = await self.learner.probe(schemas_probe, names=list(names))
        expect(observed.ok, f"The schemas could not be inspected: {observed.describe_error()}.")
        described = observed.value
        for name in names:
            entry = described[name]
            expect(
                entry["model"],
                f"`{name}` is not a pydantic model"
                + (" (it is not defined)." if entry.get("type") is None else f" (it is a {entry['type']})."),
                f"Run the cell that defines `class {name}(...)`.",
            )
        return described

    async def dumps(self, sample: dict[str, Any] = LIN) -> dict[str, dict[str, Any]]:
        """Each output schema's dumps from the ORM objects and the dicts of ``sample`` (shaped like ``LIN``)."""
        data = {key: value for key, value in sample.items() if key != "password"}
        observed = await self.learner.probe(orm_dumps_probe, hashed=hash_of(sample["password"]), **data)
        expect(observed.ok, f"The output schemas could not be tried: {observed.describe_error()}.")
        return observed.value


@pytest.fixture
def shop(learner, db, t0, app_kwargs) -> Shop:
    return Shop(learner, db, t0, app_kwargs)


@pytest.fixture
def schemas(learner) -> Schemas:
    return Schemas(learner)


@pytest.fixture
def declared():
    """``declared(routes)``: the verdict that every route has a response model and builds no Response."""
    return expect_declared


FORBID_HINT = (
    "Refuse unknown fields with `extra='forbid'` in InputModel's configuration; every input model inherits it."
)
FORBID_ANSWER = 'model_config = ConfigDict(extra="forbid")  # in InputModel'


def extra_verdict(model: str, body: dict[str, Any], field: str, answer: dict[str, Any]) -> tuple[str, str, str]:
    """Why an input model accepted a body with an unknown ``field``, kept (extra='allow') or dropped: a message,
    a hint and its key line."""
    if re.search(rf"'{field}'", str(answer.get("dump"))):
        return (
            f"`{model}` accepted {short(body)} and kept `{field}` (extra='allow'): it reaches `model_dump()` and "
            "from there the database.",
            FORBID_HINT,
            FORBID_ANSWER,
        )
    return (
        f"`{model}` accepted {short(body)}: `{field}` was silently dropped (extra='ignore', pydantic's default), "
        "so the client never learns that its request was refused in part.",
        FORBID_HINT,
        FORBID_ANSWER,
    )


@pytest.fixture
def input_verdict():
    return extra_verdict
