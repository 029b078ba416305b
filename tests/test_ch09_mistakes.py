"""Chapter 09's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, rewrites one file cell (a ``%%writefile`` cell, by grade_id) so
that it makes exactly one known mistake, grades it like a real submission (sandboxed learner process,
visible and hidden tests) and asserts that precisely the expected checks fail, the first of them with a
message that names the mistake, and every other check passes. A last case writes correct answers
differently from the solution: nothing may fail it. The cases are graded in one ``grader grade --jobs 2``
batch, then checked one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from support import (
    VARIANTS_CASE,
    assert_diagnosed,
    assert_full_marks,
    graded_mistakes,
    solution_cell,
)

from grader.models import SubmissionResult

CHAPTER = "09-capstone"


def edited(grade_id: str, *changes: tuple[str, str]) -> str:
    """The solution's cell with each (old, new) replaced; every ``old`` must be there."""
    source = solution_cell(CHAPTER, grade_id)
    for old, new in changes:
        assert old in source, f"{grade_id} no longer contains {old!r}"
        source = source.replace(old, new)
    return source


@dataclass(frozen=True)
class Mistake:
    cell: str  # grade_id of the file cell that is rewritten
    source: str  # the mistaken cell
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other failing checks: fragments


ROUTER_COMMITS = edited(
    "ex6-orders",
    (
        "from fastapi import APIRouter\n",
        "from fastapi import APIRouter\nfrom sqlalchemy.ext.asyncio import AsyncSession\n",
    ),
    (
        "    return OrderOut.model_validate(await orders.place_order(uow, customer.id, lines))",
        "    order = await orders.place_order(uow, customer.id, lines)\n"
        "    session: AsyncSession = uow.sessionmaker()  # uow.session is None once the service's block is over\n"
        "    await session.commit()  # to be sure it is stored\n"
        "    await session.close()\n"
        "    return OrderOut.model_validate(order)",
    ),
)

ROUTER_DECIDES = edited(
    "ex6-orders",
    ("from fastapi import APIRouter\n", "from fastapi import APIRouter, HTTPException\n"),
    (
        "    return OrderOut.model_validate(await orders.get_order(uow, customer.id, order_id))",
        "    order = await orders.get_order(uow, customer.id, order_id)\n"
        "    if order.customer_id != customer.id:\n"
        "        raise HTTPException(status_code=404, detail='not your order')\n"
        "    return OrderOut.model_validate(order)",
    ),
)

SERVICE_RAISES_HTTP = edited(
    "ex5-orders",
    ("from app.core.exceptions import", "from fastapi import HTTPException\n\nfrom app.core.exceptions import"),
    (
        '                raise OutOfStock(f"fewer than {quantity} copies of book {book_id} are in stock")',
        '                raise HTTPException(status_code=409, detail="out of stock")',
    ),
)

MIGRATION_WITHOUT_UNIQUE_EMAIL = edited(
    "ex7-initial", ('        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),\n', "")
)

MIGRATION_WITHOUT_IS_ADMIN = edited(
    "ex7-initial", ('        sa.Column("is_admin", sa.Boolean(), nullable=False),\n', "")
)

DOWNGRADE_LEAVES_TABLES = edited(
    "ex7-initial",
    ('    op.drop_table("books")\n    op.drop_table("customers")\n    op.drop_table("authors")\n', ""),
)

ENV_WITHOUT_METADATA = edited("ex7-env", ("target_metadata = Base.metadata", "target_metadata = None"))

DOMAIN_ERRORS_AS_PLAIN_JSON = edited(
    "ex2-errors",
    (
        "            return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, "
        "headers=kind.headers)",
        '            return JSONResponse({"detail": kind.detail}, status_code=kind.status, headers=dict(kind.headers))',
    ),
)

REFRESH_PER_ORDER = edited(
    "ex4-orders",
    (
        "            .where(Order.customer_id == customer_id)\n"
        "            .options(selectinload(Order.lines))\n"
        "            .order_by(Order.id)",
        "            .where(Order.customer_id == customer_id)\n            .order_by(Order.id)",
    ),
    (
        "        return list(await self.session.scalars(statement))\n",
        "        found = list(await self.session.scalars(statement))\n"
        "        for order in found:\n"
        '            await self.session.refresh(order, ["lines"])\n'
        "        return found\n",
    ),
)

NO_FOREIGN_KEYS = edited(
    "ex1-database",
    (
        '    @event.listens_for(engine.sync_engine, "connect")\n'
        "    def enable_foreign_keys(dbapi_connection, connection_record):\n"
        "        cursor = dbapi_connection.cursor()\n"
        '        cursor.execute("PRAGMA foreign_keys=ON")\n'
        "        cursor.close()\n",
        "",
    ),
)

HANDLER_ON_FASTAPIS_CLASS = edited(
    "ex2-errors",
    ("from fastapi import FastAPI, Request\n", "from fastapi import FastAPI, HTTPException, Request\n"),
    (
        "    app.add_exception_handler(StarletteHTTPException, http_error_handler)",
        "    app.add_exception_handler(HTTPException, http_error_handler)",
    ),
)

UNKNOWN_EMAIL_TOLD_APART = edited(
    "ex5-customers",
    ("from app.core.exceptions import EmailTaken,", "from app.core.exceptions import CustomerNotFound, EmailTaken,"),
    (
        "    async with uow:\n        customer = await uow.customers.get_by_email(normalise_email(email))\n",
        "    async with uow:\n        customer = await uow.customers.get_by_email(normalise_email(email))\n"
        "    if customer is None:\n"
        '        raise CustomerNotFound("no customer has this email")\n',
    ),
)

EMAIL_NOT_UNIQUE_IN_MODEL = edited(
    "ex3-customers", ("mapped_column(String(320), unique=True)", "mapped_column(String(320))")
)

SESSIONS_EXPIRE_ON_COMMIT = edited(
    "ex1-database",
    ("    return async_sessionmaker(engine, expire_on_commit=False)", "    return async_sessionmaker(engine)"),
)

# FastAPI's errors passed on whole, "so the client knows everything": each keeps its `input`, the password too.
ECHOING_422 = edited(
    "ex2-errors",
    (
        '    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} '
        "for error in exc.errors()]",
        "    errors = jsonable_encoder(exc.errors())",
    ),
    (
        "from fastapi import FastAPI, Request\n",
        "from fastapi import FastAPI, Request\nfrom fastapi.encoders import jsonable_encoder\n",
    ),
)

# The 500 "helps whoever debugs the client": the exception's class and message.
LEAKY_500 = edited(
    "ex2-errors",
    (
        '    return problem_response(500, "The server could not handle this request. The error was logged.")',
        '    return problem_response(500, f"{type(exc).__name__}: {exc}")',
    ),
)

# The 500 handler answers well and logs nothing.
UNLOGGED_500 = edited(
    "ex2-errors",
    ('    error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)\n', ""),
)

# "A detail must be a string": a list detail is sent as its Python repr.
STRINGIFIED_DETAIL = edited(
    "ex2-errors",
    (
        "    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase\n",
        "    detail = str(exc.detail)\n",
    ),
)

LINES_LOAD_LAZILY = edited(
    "ex3-orders",
    (
        '    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")',
        '    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order")',
    ),
)

# The order is looked up by its id alone: anyone who guesses an id reads the order.
ORDER_BY_ID_ALONE = edited(
    "ex4-orders", (".where(Order.id == order_id, Order.customer_id == customer_id)", ".where(Order.id == order_id)")
)

# No guard in __aenter__: a second `async with uow:` replaces the open session.
UOW_OPENS_TWICE = edited(
    "ex4-unit-of-work",
    (
        "        if self.session is not None:\n"
        '            raise RuntimeError("this unit of work is already open: one `async with uow:` at a time")\n',
        "",
    ),
)

# "Nothing lost": the unit of work commits whenever its block ends without an error.
UOW_COMMITS_ON_EXIT = edited(
    "ex4-unit-of-work",
    (
        "            if exc_type is not None:\n                await self.rollback()\n",
        "            if exc_type is not None:\n                await self.rollback()\n"
        "            else:\n                await self.session.commit()\n",
    ),
)

# The token's customer is loaded and returned as it is: a deleted customer's token still opens the shop.
TOKEN_OF_NOBODY_ACCEPTED = edited(
    "ex5-customers",
    ("    if customer is None:\n        raise InvalidToken(TOKEN_REFUSED)\n    return customer", "    return customer"),
)

# get_order looks the order up by its id in the session: anyone's order, for anyone.
GET_ORDER_OF_ANYONE = edited(
    "ex5-orders",
    (
        "from app.models import Order, OrderLine\n",
        "from sqlalchemy.orm import selectinload\n\nfrom app.models import Order, OrderLine\n",
    ),
    (
        "        order = await uow.orders.get_for_customer(order_id, customer_id)",
        "        order = await uow.session.get(Order, order_id, options=[selectinload(Order.lines)])",
    ),
)

# Each line is committed as soon as its stock is taken: a later line out of stock leaves the earlier ones taken.
COMMIT_PER_LINE = edited(
    "ex5-orders",
    (
        "            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))\n",
        "            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))\n"
        "            await uow.commit()\n",
    ),
)

# get_book hands back what the repository found, None included.
GET_BOOK_WITHOUT_NOT_FOUND = edited(
    "ex5-catalogue", ('    if book is None:\n        raise BookNotFound(f"there is no book {book_id}")\n', "")
)

# The registration takes a plain dict: no model refuses is_admin.
REGISTER_FROM_A_DICT = edited(
    "ex6-customers",
    (
        "async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:\n"
        "    customer = await customers.register_customer(uow, body.name, body.email, body.password)",
        "async def register(body: dict, uow: UowDep) -> CustomerOut:\n"
        '    customer = await customers.register_customer(uow, body["name"], body["email"], body["password"])',
    ),
)

PROBLEM_CHECKS_OVER_HTTP = (
    "test_domain_errors_are_problems",
    "test_uvicorn_serves_the_app",
    "test_auth_errors_are_problems",
    "test_order_errors_are_problems",
)

MISTAKES = {
    "an engine that does not enforce foreign keys": Mistake(
        "ex1-database",
        NO_FOREIGN_KEYS,
        ("test_foreign_keys_enforced",),
        ("accepted a row whose foreign key points at nothing", "PRAGMA foreign_keys=ON"),
    ),
    "the HTTP error handler registered on FastAPI's HTTPException": Mistake(
        "ex2-errors",
        HANDLER_ON_FASTAPIS_CLASS,
        (
            "test_http_errors_keep_status_detail_and_headers",
            "test_framework_errors_are_problems",
            "test_framework_errors_over_http",
        ),
        ("GET of an unknown route is not a problem details response", "starlette.exceptions.HTTPException"),
        {
            "test_framework_errors_are_problems": ("GET of an unknown route is not a problem details response",),
            "test_framework_errors_over_http": ("GET of an unknown route is not a problem details response",),
        },
    ),
    "authenticate tells an unknown email apart": Mistake(
        "ex5-customers",
        UNKNOWN_EMAIL_TOLD_APART,
        (
            "test_register_and_authenticate",
            "test_unknown_email_costs_a_verification",
            "test_auth_errors_are_problems",
        ),
        ("with an unknown email CustomerNotFound: expected InvalidCredentials for both",),
        {"test_auth_errors_are_problems": ("POST /auth/token with an unknown email answered 404", "expected 401")},
    ),
    "register_customer stores the email as typed": Mistake(
        "ex5-customers",
        edited("ex5-customers", ("    email = normalise_email(email)\n    async with uow:\n", "    async with uow:\n")),
        ("test_emails_are_normalised",),
        ("stored ['  Grace.Hopper@Example.COM ']", "two spellings of one address would be two accounts"),
    ),
    "authenticate verifies nothing for an unknown email": Mistake(
        "ex5-customers",
        edited(
            "ex5-customers",
            (
                "    hashed = customer.hashed_password if customer is not None else dummy_hash()\n"
                "    matches = await asyncio.to_thread(verify_password, password, hashed)\n"
                "    if customer is None or not matches:",
                "    if customer is None or not await asyncio.to_thread(\n"
                "        verify_password, password, customer.hashed_password\n"
                "    ):",
            ),
        ),
        ("test_unknown_email_costs_a_verification",),
        ("1 time(s) for a wrong password and 0 for an unknown email",),
    ),
    "a model without the unique email": Mistake(
        "ex3-customers",
        EMAIL_NOT_UNIQUE_IN_MODEL,
        ("test_models_describe_the_bookshop", "test_migration_matches_the_models"),
        ("The models do not describe the bookshop's schema: customers.email is not unique.",),
        {"test_migration_matches_the_models": ("customers.email is unique, expected not",)},
    ),
    "a router imports AsyncSession and commits": Mistake(
        "ex6-orders",
        ROUTER_COMMITS,
        ("test_routers_only_translate",),
        ("app/routers/orders.py line", "imports SQLAlchemy", "imports a session or an engine", "calls commit()"),
    ),
    "a route decides (an if on domain data, its own HTTPException)": Mistake(
        "ex6-orders",
        ROUTER_DECIDES,
        ("test_routers_only_translate",),
        ("decides something (a condition): `if order.customer_id != customer.id:", "handles or raises errors"),
    ),
    "a service raises HTTPException": Mistake(
        "ex5-orders",
        SERVICE_RAISES_HTTP,
        (
            "test_services_import_no_web_framework",
            "test_place_order_takes_every_line_or_none",
            "test_place_order_all_or_nothing",
        ),
        ("app/services/orders.py depends on the web framework: app.services.orders imports fastapi (line",),
        {"test_place_order_all_or_nothing": ("gave HTTPException, expected OutOfStock",)},
    ),
    "a migration without the unique email": Mistake(
        "ex7-initial",
        MIGRATION_WITHOUT_UNIQUE_EMAIL,
        ("test_upgrade_builds_the_schema", "test_migration_matches_the_models"),
        ("`alembic upgrade head` did not build the bookshop's schema: customers.email is not unique.",),
        {"test_migration_matches_the_models": ("customers.email is not unique",)},
    ),
    "a migration missing a column": Mistake(
        "ex7-initial",
        MIGRATION_WITHOUT_IS_ADMIN,
        ("test_upgrade_builds_the_schema", "test_migration_matches_the_models"),
        ("did not build the bookshop's schema: customers.is_admin is missing.",),
    ),
    "a downgrade that leaves tables": Mistake(
        "ex7-initial",
        DOWNGRADE_LEAVES_TABLES,
        ("test_downgrade_base_drops_every_table", "test_downgrade_removes_the_schema"),
        (
            "After the first `alembic upgrade head` and `alembic downgrade base`, the tables ['authors', 'books', "
            "'customers'] are left.",
        ),
        {"test_downgrade_removes_the_schema": ("the tables ['authors', 'books', 'customers'] are still there",)},
    ),
    "env.py without target_metadata": Mistake(
        "ex7-env",
        ENV_WITHOUT_METADATA,
        ("test_alembic_check_compares_with_the_models", "test_migration_matches_the_models"),
        (
            "With a table gift_cards that no model describes, `alembic check` (autogenerate) found nothing to compare "
            "with: env.py gives Alembic no target_metadata",
        ),
        {"test_migration_matches_the_models": ("found nothing to compare with",)},
    ),
    "domain errors as plain JSON instead of problem details": Mistake(
        "ex2-errors",
        DOMAIN_ERRORS_AS_PLAIN_JSON,
        PROBLEM_CHECKS_OVER_HTTP,
        ("A route raising CustomerNotFound is not a problem details response", "application/json"),
        {
            "test_uvicorn_serves_the_app": ("GET /books/999", "expected a 404 as problem details"),
            "test_auth_errors_are_problems": ("GET /customers/me without a token is not a problem details response",),
        },
    ),
    "a page of orders with a refresh per order (over the query budget)": Mistake(
        "ex4-orders",
        REFRESH_PER_ORDER,
        (
            "test_orders_page_costs_two_statements",
            "test_list_routes_keep_their_query_budgets",
            "test_repositories",
            "test_query_budgets",
        ),
        ("orders.page_for_customer(3, limit=60, offset=0) sent 7 statements with 3 orders and 121 with 60", "N+1"),
        {
            "test_list_routes_keep_their_query_budgets": ("GET /orders?page_size=50 sent", "N+1"),
            "test_repositories": (
                "orders.page_for_customer(1, limit=100, offset=0) sent 7 statements with 3 orders and 201 with 100",
            ),
            "test_query_budgets": ("GET /orders?page_size=100 sent 8 statements with 3 orders and 202 with 120", "N+1"),
        },
    ),
    "sessions that expire their objects at commit": Mistake(
        "ex1-database",
        SESSIONS_EXPIRE_ON_COMMIT,
        (
            "test_sessions_keep_objects_readable_after_commit",
            "test_objects_readable_after_commit",
            "test_place_order_takes_every_line_or_none",
            "test_place_order_all_or_nothing",
            "test_register_and_log_in",
            "test_browse_and_order",
            "test_another_customers_order_is_not_found",
            "test_order_errors_are_problems",
        ),
        ("(expire_on_commit=True)", "MissingGreenlet"),
    ),
    "the 422 passes FastAPI's errors on whole": Mistake(
        "ex2-errors",
        ECHOING_422,
        ("test_422_lists_loc_msg_type_and_echoes_nothing", "test_framework_errors_are_problems"),
        ("the submitted password came back", "never `input`"),
    ),
    "the 500 tells the exception": Mistake(
        "ex2-errors",
        LEAKY_500,
        (
            "test_500_shows_nothing_of_the_exception",
            "test_framework_errors_are_problems",
            "test_framework_errors_over_http",
        ),
        ("The 500 answer of a route raising LookupError shows server internals", "an exception class name"),
    ),
    "the 500 is not logged": Mistake(
        "ex2-errors",
        UNLOGGED_500,
        ("test_500_is_logged_with_its_traceback",),
        ("error_log recorded []: nothing with the exception and its traceback",),
    ),
    "a list detail sent as its repr": Mistake(
        "ex2-errors",
        STRINGIFIED_DETAIL,
        ("test_http_errors_keep_status_detail_and_headers",),
        ("answered the detail \"['isbn', 'already listed']\", expected the status phrase 'Conflict'",),
    ),
    "Order.lines without lazy='raise'": Mistake(
        "ex3-orders",
        LINES_LOAD_LAZILY,
        ("test_unloaded_relationships_raise", "test_relationships_raise"),
        ("Reading Order.lines of an object loaded without it gave StatementError", "MissingGreenlet", 'lazy="raise"'),
    ),
    "an order looked up by its id alone": Mistake(
        "ex4-orders",
        ORDER_BY_ID_ALONE,
        (
            "test_order_repository_returns_only_the_customers_orders",
            "test_repositories",
            "test_orders_are_seen_only_by_their_customer",
            "test_place_order_all_or_nothing",
            "test_another_customers_order_is_not_found",
            "test_order_errors_are_problems",
        ),
        ("orders.get_for_customer(4, 3) returned order 4, which is Joan's, to Hedy",),
    ),
    "a unit of work that opens twice": Mistake(
        "ex4-unit-of-work",
        UOW_OPENS_TWICE,
        ("test_unit_of_work_opens_once_at_a_time",),
        ("Entering a unit of work inside its own `async with` block went ahead",),
    ),
    "a unit of work that commits when its block ends": Mistake(
        "ex4-unit-of-work",
        UOW_COMMITS_ON_EXIT,
        ("test_unit_of_work_keeps_only_commits", "test_repositories_never_commit"),
        ("A customer added without commit() is in the database after the block",),
        {"test_repositories_never_commit": ("app/repositories/unit_of_work.py line", "in __aexit__")},
    ),
    "current_customer returns whatever the token's id finds": Mistake(
        "ex5-customers",
        TOKEN_OF_NOBODY_ACCEPTED,
        (
            "test_current_customer_refuses_bad_tokens",
            "test_current_customer_and_catalogue",
            "test_auth_errors_are_problems",
        ),
        ("current_customer with the token of customer 404, who does not exist gave None, expected InvalidToken",),
    ),
    "get_order reads anyone's order": Mistake(
        "ex5-orders",
        GET_ORDER_OF_ANYONE,
        (
            "test_orders_are_seen_only_by_their_customer",
            "test_place_order_all_or_nothing",
            "test_another_customers_order_is_not_found",
            "test_order_errors_are_problems",
        ),
        ("get_order for Joan (6) of Noor's order 1 gave {", "expected OrderNotFound"),
    ),
    "place_order commits each line": Mistake(
        "ex5-orders",
        COMMIT_PER_LINE,
        (
            "test_place_order_takes_every_line_or_none",
            "test_place_order_all_or_nothing",
            "test_order_errors_are_problems",
        ),
        ("place_order(uow, 5, [[4, 1], [5, 2]]) raised OutOfStock, yet the database changed", "Commit once"),
    ),
    "get_book returns None for a missing book": Mistake(
        "ex5-catalogue",
        GET_BOOK_WITHOUT_NOT_FOUND,
        (
            "test_catalogue_services_answer_books_and_pages",
            "test_current_customer_and_catalogue",
            "test_uvicorn_serves_the_app",
        ),
        ("get_book(uow, 77) gave None, expected BookNotFound",),
    ),
    "a registration body that is a dict": Mistake(
        "ex6-customers",
        REGISTER_FROM_A_DICT,
        ("test_registration_refuses_is_admin", "test_auth_errors_are_problems"),
        ("POST /customers with is_admin in the body answered 201", "mass assignment"),
    ),
}

# Correct answers written differently from the solution: none of the checks may fail them.
VARIANTS = {
    "ex4-orders": edited(
        "ex4-orders",
        (
            "        statement = (\n"
            "            select(Order)\n"
            "            .where(Order.id == order_id, Order.customer_id == customer_id)\n"
            "            .options(selectinload(Order.lines))\n"
            "        )\n"
            "        return await self.session.scalar(statement)",
            "        order = await self.session.get(Order, order_id, options=[selectinload(Order.lines)])\n"
            "        return order if order is not None and order.customer_id == customer_id else None",
        ),
    ),
    "ex6-catalogue": """
%%writefile {PROJECT}/app/routers/catalogue.py
from fastapi import APIRouter

from app.dependencies import PageDep, UowDep
from app.schemas.catalogue import AuthorWithBooks, BookWithAuthor
from app.services.catalogue import get_book, list_authors, list_books

router = APIRouter(tags=["catalogue"])


@router.get("/authors", response_model=list[AuthorWithBooks])
async def read_authors(uow: UowDep, page: PageDep):
    return await list_authors(uow, **page.model_dump())


@router.get("/books", response_model=list[BookWithAuthor])
async def read_books(uow: UowDep, page: PageDep):
    return await list_books(uow, limit=page.limit, offset=page.offset)


@router.get("/books/{book_id}", response_model=BookWithAuthor)
async def read_book(book_id: int, uow: UowDep):
    return await get_book(uow, book_id)
""",
    "ex6-orders": """
%%writefile {PROJECT}/app/routers/orders.py
from fastapi import APIRouter, status

from app import dependencies
from app.schemas.orders import OrderIn, OrderOut
from app.services import orders

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
async def place_order(body: OrderIn, customer: dependencies.CurrentCustomer, uow: dependencies.UowDep):
    return await orders.place_order(uow, customer.id, [(line.book_id, line.quantity) for line in body.lines])


@router.get("", response_model=list[OrderOut])
async def read_orders(customer: dependencies.CurrentCustomer, uow: dependencies.UowDep, page: dependencies.PageDep):
    return await orders.list_orders(uow, customer.id, limit=page.limit, offset=page.offset)


@router.get("/{order_id}", response_model=OrderOut)
async def read_order(order_id: int, customer: dependencies.CurrentCustomer, uow: dependencies.UowDep):
    return await orders.get_order(uow, customer.id, order_id)
""",
    "ex7-env": edited(
        "ex7-env",
        (
            "    engine = create_async_engine(database_url(), poolclass=pool.NullPool)\n"
            "    try:\n"
            "        async with engine.connect() as connection:\n"
            "            await connection.run_sync(do_run_migrations)\n"
            "    finally:\n"
            "        await engine.dispose()",
            '    section = config.get_section(config.config_ini_section, {}) | {"sqlalchemy.url": database_url()}\n'
            '    engine = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)\n'
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(do_run_migrations)\n"
            "    await engine.dispose()",
        ),
        (
            "from sqlalchemy.ext.asyncio import create_async_engine",
            "from sqlalchemy.ext.asyncio import async_engine_from_config",
        ),
    ),
    "ex7-initial": '''
%%writefile {PROJECT}/migrations/versions/0001_initial.py
"""first schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "authors", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text, nullable=False)
    )
    op.create_table(
        "books",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("price_cents", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id"), nullable=False),
        sa.UniqueConstraint("author_id", "title"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("hashed_password", sa.String(200), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    )
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("books.id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    for table, column in (("orders", "customer_id"), ("order_lines", "order_id"), ("order_lines", "book_id")):
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade():
    for table in ("order_lines", "orders", "customers", "books", "authors"):
        op.drop_table(table)
''',
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    cases = {case: {m.cell: m.source} for case, m in MISTAKES.items()}
    return graded_mistakes(request, tmp_path_factory, CHAPTER, cases, VARIANTS)


def test_valid_variants_get_full_marks(graded: dict[str, SubmissionResult]) -> None:
    assert_full_marks(graded[VARIANTS_CASE])


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    messages = {mistake.failing[0]: mistake.message, **mistake.also}
    assert_diagnosed(graded[case], {mistake.cell: mistake.source}, mistake.failing, messages)
