"""Chapter 06 fixtures: apps that fail on purpose, the shop's rows and tokens, and problem verdicts.

Probes run in the learner's process and return plain data; every verdict is computed here, with
``grader.checks.problems`` (the RFC 9457 checker and the leak scan).

- ``build_app`` (the ``client`` fixture's app). ``mode="full"`` is ``create_app`` on the test
  database, signing with ``SECRET`` (``grader.checks.jwt.TEST_KEY``). Every other mode is a bare app
  with routes that fail in every way the chapter handles (``/raise/{name}`` raises a domain
  exception, ``/http/{status}`` a Starlette ``HTTPException``, ``/http-json-detail`` and
  ``/http-list-detail`` FastAPI's with a detail that is not a string, ``/needs-token`` the ``401`` of
  ``OAuth2PasswordBearer``, ``/only-get`` gives a ``405`` to other methods, ``/signup`` validates a
  body with a password, ``/crash/{kind}`` raises unexpected exceptions full of secrets) and only the
  handlers of one exercise registered, so each exercise is checked before the next is written:
  ``domain`` (ex2), ``http`` (ex3), ``validation`` (ex4), ``unexpected`` (ex5) and ``registered``
  (the learner's own ``register_problem_handlers``).
- Test modules choose the mode with their ``app_kwargs`` fixture.
- The shop's customers get argon2id hashes made by the grader, and tokens are signed by the
  grader (``grader.checks.jwt``) with ``SECRET``: chapter 05's code is provided, so nothing here
  depends on an exercise of this chapter but the one under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from grader.checks import bookshop, expect
from grader.checks import jwt as forge
from grader.checks.bookshop import DOMAIN_STATUS, PASSWORDS, hash_of
from grader.checks.problems import describe, json_body, problem_issues

SECRET = forge.TEST_KEY  # the app's signing key in every check
PROBLEM_MEMBERS = ("type", "title", "status", "detail")

# Key lines (the second level of a hint) that more than one check shows.
PROBLEM_LINE = (
    "problem = Problem(type=type, title=title or HTTPStatus(status).phrase, status=status, detail=detail, **extensions)"
)
RESPONSE_LINE = (
    "return JSONResponse(problem.model_dump(), status_code=status, headers=dict(headers or {}), "
    "media_type=PROBLEM_JSON)"
)
PROBLEM_RESPONSE = f"{PROBLEM_LINE}\n{RESPONSE_LINE}"
# One entry per domain exception (the key line of a check that found one missing or wrong).
TABLE_ENTRIES = {
    "BookNotFound": 'ProblemType(404, f"{PROBLEMS}/book-not-found", "Book not found", "No book has this id.")',
    "CustomerNotFound": 'ProblemType(404, f"{PROBLEMS}/customer-not-found", "Customer not found", "...")',
    "OrderNotFound": 'ProblemType(404, f"{PROBLEMS}/order-not-found", "Order not found", "...")',
    "OutOfStock": 'ProblemType(409, f"{PROBLEMS}/out-of-stock", "Out of stock", "...")',
    "EmailTaken": 'ProblemType(409, f"{PROBLEMS}/email-taken", "Email taken", "...")',
    "InvalidCredentials": 'ProblemType(401, f"{PROBLEMS}/invalid-credentials", "Invalid credentials", "...", BEARER)',
    "InvalidToken": 'ProblemType(401, f"{PROBLEMS}/invalid-token", "Invalid token", "...", BEARER)',
    "NotAllowed": 'ProblemType(403, f"{PROBLEMS}/not-allowed", "Not allowed", "You may not do this.")',
}


def table_entry(name: str) -> str:
    return f"PROBLEM_TYPES[{name}] = {TABLE_ENTRIES.get(name, 'ProblemType(status, type, title, detail)')}"


DOMAIN_HANDLER = (
    "for cls in type(exc).__mro__:\n"
    "    if cls in PROBLEM_TYPES:\n"
    "        kind = PROBLEM_TYPES[cls]\n"
    "        return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)"
)
HTTP_HANDLER = (
    "detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase\n"
    "return problem_response(exc.status_code, detail, headers=exc.headers)"
)
VALIDATION_ERRORS = (
    'errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]'
)
UNEXPECTED_HANDLER = (
    'error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)\n'
    'return problem_response(500, "The server could not handle this request. The error was logged.")'
)

BOOKS = [(1, "Kindred", 999, 5, 1), (2, "Dawn", 899, 0, 1)]  # Dawn is sold out
# (id, name, email, is_admin): Hedy is an admin.
CUSTOMERS = [(1, "Ada", "ada@example.com", 0), (2, "Grace", "grace@example.com", 0), (3, "Hedy", "hedy@example.com", 1)]
ORDERS = [(1, 2)]  # order 1 is Grace's
LINES = [(1, 1, 1, 1)]


# -- the app under test (runs in the learner's process) -------------------------------------------------


async def build_app(ns, database_url, mode="full", secret=None):
    """Probe: the app under test; see the module's docstring for the modes."""
    from typing import Annotated

    from fastapi import Depends, FastAPI
    from fastapi import HTTPException as FastAPIHTTPException
    from fastapi.exceptions import RequestValidationError
    from fastapi.security import OAuth2PasswordBearer
    from pydantic import BaseModel, Field, field_validator
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from grader.checks.bookshop import DOMAIN_STATUS, auth_settings, create_tables

    def need(*names):
        for name in names:
            if name not in ns:
                raise NameError(f"name {name!r} is not defined (run every cell above the check, in order)")

    if mode == "full":
        need("Base", "make_engine", "Settings", "create_app")
        await create_tables(ns, database_url)
        settings = auth_settings(ns, database_url, secret)
        try:
            return ns["create_app"](settings)
        except NotImplementedError as exc:
            raise NotImplementedError(
                str(exc) or "create_app calls register_problem_handlers (exercise 5), which is not written yet"
            ) from None

    domain = {name: ns[name] for name in DOMAIN_STATUS if name in ns}
    app = FastAPI()

    @app.get("/raise/{name}")
    async def raise_domain(name: str, message: str = "", subclass: bool = False):
        exception_class = domain[name]
        if subclass:
            exception_class = type(f"Special{name}", (exception_class,), {})
        raise exception_class(message or f"{name} raised by the check")

    @app.get("/http/{status}")
    async def raise_http(status: int, detail: str | None = None, header: str | None = None):
        raise StarletteHTTPException(status, detail=detail, headers={"X-Check": header} if header else None)

    @app.get("/http-json-detail")
    async def raise_http_with_json_detail():
        raise FastAPIHTTPException(400, detail={"field": "page", "problem": "too large"})

    @app.get("/http-list-detail")
    async def raise_http_with_list_detail():
        raise FastAPIHTTPException(409, detail=["isbn", "already listed"])

    bearer = OAuth2PasswordBearer(tokenUrl="/token")

    @app.get("/needs-token")
    async def needs_token(token: Annotated[str, Depends(bearer)]):
        return {"token": token}

    @app.get("/only-get")
    async def only_get():
        return {"ok": True}

    class SignUp(BaseModel):
        name: str = Field(min_length=1)
        email: str
        password: str = Field(min_length=12)

        @field_validator("email")
        @classmethod
        def email_has_at(cls, value):
            if "@" not in value:
                raise ValueError("an email address needs an @")
            return value

    @app.post("/signup")
    async def signup(body: SignUp, page: int = 1):
        return {"ok": True}

    @app.get("/crash/{kind}")
    async def crash(kind: str):
        if kind == "sql":
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(database_url)
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT card_number, cvv FROM payment_secrets WHERE customer_id = 1"))
            finally:
                await engine.dispose()
        if kind == "dsn":
            raise ConnectionRefusedError(
                "could not connect to postgresql+asyncpg://bookshop:hunter2-db-password@db.internal:5432/bookshop"
            )
        if kind == "path":
            raise FileNotFoundError(2, "No such file or directory", "/srv/bookshop/config/secrets.toml")
        if kind == "key":
            return {}["hashed_password"]
        return {"total": 1 / 0}

    if mode == "domain":
        need("PROBLEM_TYPES", "domain_error_handler")
        for exception_class in ns["PROBLEM_TYPES"]:
            app.add_exception_handler(exception_class, ns["domain_error_handler"])
    elif mode == "http":
        need("http_error_handler")
        app.add_exception_handler(StarletteHTTPException, ns["http_error_handler"])
    elif mode == "validation":
        need("validation_error_handler")
        app.add_exception_handler(RequestValidationError, ns["validation_error_handler"])
    elif mode == "unexpected":
        need("unexpected_error_handler")
        app.add_exception_handler(Exception, ns["unexpected_error_handler"])
    elif mode == "registered":
        need("register_problem_handlers")
        try:
            ns["register_problem_handlers"](app)
        except NotImplementedError as exc:
            raise NotImplementedError(str(exc) or "register_problem_handlers (exercise 5) is not written yet") from None
    return app


@pytest.fixture
def app_probe():
    return build_app


# -- probes ------------------------------------------------------------------------------------------


async def problem_table_probe(ns):
    """Probe: PROBLEM_TYPES as plain data, by exception class name."""
    if "PROBLEM_TYPES" not in ns:
        raise NameError("name 'PROBLEM_TYPES' is not defined")
    table = {}
    for exception_class, kind in dict(ns["PROBLEM_TYPES"]).items():
        headers = getattr(kind, "headers", None)
        table[getattr(exception_class, "__name__", repr(exception_class))] = {
            "status": getattr(kind, "status", None),
            "type": getattr(kind, "type", None),
            "title": getattr(kind, "title", None),
            "detail": getattr(kind, "detail", None),
            "headers": {str(k): str(v) for k, v in dict(headers).items()} if headers else {},
        }
    return table


async def problem_response_probe(ns, args, kwargs):
    """Probe: ``problem_response(*args, **kwargs)`` as plain data."""
    if "problem_response" not in ns:
        raise NameError("name 'problem_response' is not defined")
    response = ns["problem_response"](*args, **kwargs)
    raw = getattr(response, "raw_headers", None)
    body = getattr(response, "body", None)
    return {
        "class": type(response).__name__,
        "status": getattr(response, "status_code", None),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in raw] if raw is not None else None,
        "body": bytes(body).decode("utf-8", errors="replace") if isinstance(body, bytes | bytearray) else None,
    }


# -- verdicts ------------------------------------------------------------------------------------------


def expect_problem(response: httpx.Response, label: str, status: int, hint: str, answer: str = "") -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with HTTP ``status``; its body, or a failed check. ``hint`` and
    ``answer`` are the two levels of the hint."""
    issues = problem_issues(response, status)
    expect(not issues, f"{label} answered {describe(response)}: {'; '.join(issues)}.", hint, answer)
    return json_body(response)


def expect_header(response: httpx.Response, label: str, name: str, expected: str, hint: str, answer: str = "") -> None:
    """The response carries header ``name`` with the value ``expected`` (compared without case); ``hint`` and
    ``answer`` are the two levels of the hint."""
    found = response.headers.get(name)
    expect(
        found is not None and found.lower() == expected.lower(),
        f"{label} answered {response.status_code} without the header `{name}: {expected}` "
        f"({'it has ' + repr(found) if found is not None else 'the header is missing'}).",
        hint,
        answer,
    )


def as_response(value: dict[str, Any]) -> httpx.Response:
    """What ``problem_response_probe`` returned, as an httpx response for the problem checker."""
    return httpx.Response(value["status"], headers=value["headers"], content=(value["body"] or "").encode())


@pytest.fixture
def problem_response_of(learner):
    """``await problem_response_of(404, "...", title=...)``: what the learner's problem_response returned."""

    async def call(*args: Any, **kwargs: Any) -> httpx.Response:
        arguments = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        expression = f"problem_response({arguments})"
        observed = await learner.probe(problem_response_probe, args=list(args), kwargs=kwargs)
        expect(
            observed.ok,
            f"`{expression}` raised {observed.describe_error()}.",
            "Build a Problem from the arguments and return a JSONResponse of it.",
            answer=PROBLEM_RESPONSE,
        )
        value = observed.value
        expect(
            isinstance(value["status"], int) and value["headers"] is not None and value["body"] is not None,
            f"`{expression}` returned a {value['class']}, expected a JSONResponse.",
            "Return a JSONResponse of the problem's `model_dump()`, with the status, the headers and the problem "
            "media type.",
            answer=RESPONSE_LINE,
        )
        return as_response(value)

    return call


@pytest.fixture
async def problem_table(learner) -> dict[str, dict[str, Any]]:
    """PROBLEM_TYPES as plain data: {exception name: {status, type, title, detail, headers}}."""
    observed = await learner.probe(problem_table_probe)
    expect(
        observed.ok,
        f"PROBLEM_TYPES could not be read: {observed.describe_error()}.",
        "PROBLEM_TYPES is a dict from exception class to ProblemType (exercise 2).",
    )
    return observed.value


# -- the shop ------------------------------------------------------------------------------------------


def token_for(customer_id: int, minutes: float = 15) -> str:
    """An access token the app must accept, signed by the grader with the app's key."""
    return forge.sign(forge.standard_claims(str(customer_id), at=datetime.now(UTC), minutes=minutes), SECRET)


class Shop:
    """The shop's rows and the customers' tokens and passwords, for checks of the whole app."""

    SECRET = SECRET
    CUSTOMERS = CUSTOMERS
    PASSWORDS = PASSWORDS

    def __init__(self, db) -> None:
        self.db = db

    def seed(self) -> None:
        customers = [
            (customer_id, name, email, hash_of(PASSWORDS[customer_id]), is_admin)
            for customer_id, name, email, is_admin in CUSTOMERS
        ]
        bookshop.insert(
            self.db, authors=bookshop.SHOP_AUTHORS, books=BOOKS, customers=customers, orders=ORDERS, lines=LINES
        )

    @staticmethod
    def auth(customer_id: int) -> dict[str, str]:
        """The header that sends a valid token of customer ``customer_id``."""
        return forge.bearer(token_for(customer_id))

    @staticmethod
    def email(customer_id: int) -> str:
        return CUSTOMERS[customer_id - 1][2]


@pytest.fixture
def shop(db) -> Shop:
    return Shop(db)


class Contract:
    """The verdict helpers, for tests (test modules cannot import this file by name)."""

    DOMAIN_STATUS = DOMAIN_STATUS
    PROBLEM_MEMBERS = PROBLEM_MEMBERS
    PROBLEM_LINE = PROBLEM_LINE
    RESPONSE_LINE = RESPONSE_LINE
    PROBLEM_RESPONSE = PROBLEM_RESPONSE
    table_entry = staticmethod(table_entry)
    DOMAIN_HANDLER = DOMAIN_HANDLER
    HTTP_HANDLER = HTTP_HANDLER
    VALIDATION_ERRORS = VALIDATION_ERRORS
    UNEXPECTED_HANDLER = UNEXPECTED_HANDLER
    expect_problem = staticmethod(expect_problem)
    expect_header = staticmethod(expect_header)


@pytest.fixture
def contract() -> type[Contract]:
    return Contract
