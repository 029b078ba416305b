"""Chapter 09's project files: what each ``%%writefile`` cell of the capstone writes.

Kept apart from the notebook's prose (``ch09_capstone.py``) so that each file reads as the module it
becomes. Exercise files carry nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers;
every marker sits where the released stub (``raise NotImplementedError()``) is still valid Python.
"""

# -- provided: core ------------------------------------------------------------------------------

CONFIG = r'''
"""The bookshop's settings: these defaults, or BOOKSHOP_* environment variables."""

import secrets

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keys printed in tutorials (FastAPI's among them): anyone who read the page can sign tokens with them.
TUTORIAL_KEYS = {
    "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    "your-secret-key",
    "secret",
    "changeme",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)
    jwt_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)

    @field_validator("jwt_secret")
    @classmethod
    def strong_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret in TUTORIAL_KEYS:
            raise ValueError("this key was printed in a tutorial: generate one with secrets.token_urlsafe(32)")
        if len(secret.encode()) < 32:
            raise ValueError("an HS256 key needs at least 32 bytes")
        return value
'''

EXCEPTIONS = r'''
"""The bookshop's domain exceptions: what a service raises when a rule of the shop is not met.

Plain Python on purpose: services raise them without knowing about HTTP, and core/errors.py decides,
in one place, which response each one becomes.
"""


class DomainError(Exception):
    """Base of every rule the bookshop enforces; its message is safe to show to the client."""


class CustomerNotFound(DomainError):
    """No customer has this id."""


class BookNotFound(DomainError):
    """No book has this id."""


class OrderNotFound(DomainError):
    """No order with this id belongs to the caller."""


class OutOfStock(DomainError):
    """Fewer copies of a book are in stock than an order line asks for."""


class EmailTaken(DomainError):
    """A customer with this email address exists already."""


class InvalidCredentials(DomainError):
    """Wrong email or password (the client is never told which)."""


class InvalidToken(DomainError):
    """A missing, malformed, forged or expired access token, or the token of a customer who is gone."""


class NotAllowed(DomainError):
    """The caller is known, but may not do this."""
'''

SECURITY = r'''
"""Passwords (argon2id) and access tokens (JWT): plain functions, no web framework in sight."""

from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash

from app.core.config import Settings
from app.core.exceptions import InvalidToken

password_hash = PasswordHash.recommended()  # argon2id
TOKEN_REFUSED = "the access token is missing, invalid or expired"


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return password_hash.verify(password, hashed)


@cache
def dummy_hash() -> str:
    """A hash that no password matches: checking an unknown email against it takes as long as a real check."""
    return password_hash.hash("not the password of any customer")


def create_access_token(settings: Settings, subject: str, now: datetime) -> str:
    expires = now + timedelta(minutes=settings.access_token_minutes)
    claims = {"sub": subject, "iat": now, "nbf": now, "exp": expires}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)


def decode_access_token(settings: Settings, token: str, now: datetime) -> dict:
    """The token's claims, with its time window checked against `now`; InvalidToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],  # pinned: never the algorithm the token names itself
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise InvalidToken(TOKEN_REFUSED) from None
    moment = now.timestamp()
    expires, not_before = claims["exp"], claims.get("nbf", moment)
    if not isinstance(expires, int | float) or not isinstance(not_before, int | float):
        raise InvalidToken(TOKEN_REFUSED)
    if expires <= moment or not_before > moment:
        raise InvalidToken(TOKEN_REFUSED)
    return claims


class Clock:
    """The current time, timezone-aware UTC. A dependency, so that tests can move time without sleeping."""

    def now(self) -> datetime:
        return datetime.now(UTC)
'''

# -- exercise 1: core/database.py ------------------------------------------------------------------

DATABASE = r'''
"""Where the app meets its database: the engine and the session factory, nothing else."""

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    """An async engine; every SQLite connection it opens enforces foreign keys."""
    engine = create_async_engine(url)
    ### BEGIN SOLUTION

    @event.listens_for(engine.sync_engine, "connect")
    def enable_foreign_keys(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    ### END SOLUTION
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    ### BEGIN SOLUTION
    return async_sessionmaker(engine, expire_on_commit=False)
    ### END SOLUTION
'''

# -- exercise 2: core/errors.py --------------------------------------------------------------------

ERRORS = r'''
"""Every error leaves the app as RFC 9457 problem details (application/problem+json): chapter 06, as a module."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.exceptions import (
    BookNotFound,
    CustomerNotFound,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    NotAllowed,
    OrderNotFound,
    OutOfStock,
)

PROBLEM_JSON = "application/problem+json"
PROBLEMS = "https://bookshop.example/problems"
BEARER = {"WWW-Authenticate": "Bearer"}
# What the client must not see goes to this log. Where the log goes is the deployment's choice
# (logging.basicConfig, uvicorn's --log-config); until one is made, nothing is printed.
error_log = logging.getLogger("app.errors")
error_log.addHandler(logging.NullHandler())


class Problem(BaseModel):
    """An RFC 9457 problem details object: the members this API always sends, plus any extensions."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str


@dataclass(frozen=True)
class ProblemType:
    """How the API answers one kind of domain exception, every time."""

    status: int
    type: str
    title: str
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


# The one place where a domain exception becomes a response. The detail is written for clients: an
# exception's own message is for the log.
PROBLEM_TYPES: dict[type[Exception], ProblemType] = {
    CustomerNotFound: ProblemType(
        404, f"{PROBLEMS}/customer-not-found", "Customer not found", "No customer has this id."
    ),
    BookNotFound: ProblemType(404, f"{PROBLEMS}/book-not-found", "Book not found", "No book has this id."),
    OrderNotFound: ProblemType(
        404, f"{PROBLEMS}/order-not-found", "Order not found", "You have no order with this id."
    ),
    OutOfStock: ProblemType(
        409, f"{PROBLEMS}/out-of-stock", "Out of stock", "A book in this order has fewer copies in stock than ordered."
    ),
    EmailTaken: ProblemType(
        409, f"{PROBLEMS}/email-taken", "Email taken", "A customer with this email address already exists."
    ),
    InvalidCredentials: ProblemType(
        401, f"{PROBLEMS}/invalid-credentials", "Invalid credentials", "Incorrect email or password.", BEARER
    ),
    InvalidToken: ProblemType(
        401, f"{PROBLEMS}/invalid-token", "Invalid token", "Could not validate credentials.", BEARER
    ),
    NotAllowed: ProblemType(403, f"{PROBLEMS}/not-allowed", "Not allowed", "You may not do this."),
}


def problem_response(
    status: int,
    detail: str,
    *,
    type: str = "about:blank",
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response; the title defaults to the status phrase."""
    ### BEGIN SOLUTION
    problem = Problem(type=type, title=title or HTTPStatus(status).phrase, status=status, detail=detail, **extensions)
    return JSONResponse(problem.model_dump(), status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)
    ### END SOLUTION


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The problem PROBLEM_TYPES gives for the class of `exc`, or for its nearest parent class."""
    ### BEGIN SOLUTION
    for cls in type(exc).__mro__:
        if cls in PROBLEM_TYPES:
            kind = PROBLEM_TYPES[cls]
            return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)
    raise exc  # not a domain exception: unexpected_error_handler answers it
    ### END SOLUTION


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """An HTTPException (Starlette's, or FastAPI's subclass) as an about:blank problem, its headers kept."""
    ### BEGIN SOLUTION
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=exc.headers)
    ### END SOLUTION


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 422 problem listing where the request is invalid, without echoing what was sent."""
    ### BEGIN SOLUTION
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    count = len(errors)
    detail = "1 part of the request is not valid." if count == 1 else f"{count} parts of the request are not valid."
    return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors)
    ### END SOLUTION


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an outage: the details go to the log, the client gets a generic 500 problem."""
    ### BEGIN SOLUTION
    error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "The server could not handle this request. The error was logged.")
    ### END SOLUTION


def register_problem_handlers(app: FastAPI) -> None:
    """Every error of `app` answered with a problem: the one place where exceptions become HTTP."""
    ### BEGIN SOLUTION
    for exception_class in PROBLEM_TYPES:
        app.add_exception_handler(exception_class, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
    ### END SOLUTION
'''

# -- provided: models ------------------------------------------------------------------------------

MODELS_BASE = r'''
"""The declarative base every model of the bookshop shares."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints: a migration can only drop or change a constraint it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
'''

MODELS_CATALOGUE = r'''
"""Authors and their books."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise")


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    stock: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books", lazy="raise")
'''

# -- exercise 3: models ----------------------------------------------------------------------------

MODELS_CUSTOMERS = r'''
"""Customers: who may log in and place orders."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Customer(Base):
    __tablename__ = "customers"

    # id (primary key), name, email (unique), hashed_password, is_admin (default False)
    ### BEGIN SOLUTION
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)
    ### END SOLUTION
'''

MODELS_ORDERS = r'''
"""Orders and their lines: one line per book, with the quantity ordered."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.catalogue import Book


class Order(Base):
    __tablename__ = "orders"

    # id, customer_id (a foreign key to customers.id), lines
    ### BEGIN SOLUTION
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")
    ### END SOLUTION


class OrderLine(Base):
    __tablename__ = "order_lines"

    # id, order_id (to orders.id), book_id (to books.id), quantity, order, book
    ### BEGIN SOLUTION
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    quantity: Mapped[int]
    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
    book: Mapped[Book] = relationship(lazy="raise")
    ### END SOLUTION
'''

MODELS_PACKAGE = r'''
"""Every model of the bookshop: importing this package puts every table on Base.metadata."""

# Import Base and every model from its module; list them in __all__.
### BEGIN SOLUTION
from app.models.base import Base
from app.models.catalogue import Author, Book
from app.models.customers import Customer
from app.models.orders import Order, OrderLine

__all__ = ["Author", "Base", "Book", "Customer", "Order", "OrderLine"]
### END SOLUTION
'''

# -- provided: schemas -----------------------------------------------------------------------------

SCHEMAS_CATALOGUE = r'''
"""What the catalogue routes answer."""

from pydantic import BaseModel, ConfigDict


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    price_cents: int
    stock: int
    author_id: int


class AuthorWithBooks(AuthorOut):
    books: list[BookOut]


class BookWithAuthor(BookOut):
    author: AuthorOut
'''

SCHEMAS_CUSTOMERS = r'''
"""What a customer sends to register, what the API shows of a customer, and the login answer."""

from pydantic import BaseModel, ConfigDict, Field

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # `is_admin` in the body is refused, not ignored

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=8, max_length=128)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
'''

SCHEMAS_ORDERS = r'''
"""What a customer sends to order, and what the API answers about orders."""

from pydantic import BaseModel, ConfigDict, Field


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the customer comes from the token, never from the body

    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    book_id: int
    quantity: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    lines: list[OrderLineOut]
'''

# -- provided: the catalogue's repositories -------------------------------------------------------

REPOSITORIES_CATALOGUE = r'''
"""Authors and books: queries that load what the responses read, and the atomic stock update."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from app.models import Author, Book


class AuthorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, *, limit: int, offset: int) -> list[Author]:
        """Authors ordered by id, each with their books (two statements, whatever the page size)."""
        statement = select(Author).options(selectinload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
        return list(await self.session.scalars(statement))


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, book_id: int) -> Book | None:
        """The book with its author, or None."""
        statement = select(Book).options(joinedload(Book.author)).where(Book.id == book_id)
        return await self.session.scalar(statement)

    async def page(self, *, limit: int, offset: int) -> list[Book]:
        """Books ordered by id, each with its author (one statement)."""
        statement = select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(limit).offset(offset)
        return list(await self.session.scalars(statement))

    async def take_stock(self, book_id: int, quantity: int) -> bool:
        """Take `quantity` copies in one conditional UPDATE; True if there were enough."""
        statement = (
            update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)
        )
        result = await self.session.execute(statement)
        return result.rowcount == 1
'''

# -- exercise 4: repositories and the unit of work -----------------------------------------------

REPOSITORIES_CUSTOMERS = r'''
"""Customers: by id, by email, and new ones."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, customer_id: int) -> Customer | None:
        ### BEGIN SOLUTION
        return await self.session.get(Customer, customer_id)
        ### END SOLUTION

    async def get_by_email(self, email: str) -> Customer | None:
        ### BEGIN SOLUTION
        return await self.session.scalar(select(Customer).where(Customer.email == email))
        ### END SOLUTION

    def add(self, customer: Customer) -> None:
        ### BEGIN SOLUTION
        self.session.add(customer)
        ### END SOLUTION
'''

REPOSITORIES_ORDERS = r'''
"""Orders, always seen through the customer who placed them."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.models import Order


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        ### BEGIN SOLUTION
        self.session.add(order)
        ### END SOLUTION

    async def get_for_customer(self, order_id: int, customer_id: int) -> Order | None:
        """The order with its lines, if it belongs to this customer; None otherwise."""
        ### BEGIN SOLUTION
        statement = (
            select(Order)
            .where(Order.id == order_id, Order.customer_id == customer_id)
            .options(selectinload(Order.lines))
        )
        return await self.session.scalar(statement)
        ### END SOLUTION

    async def page_for_customer(self, customer_id: int, *, limit: int, offset: int) -> list[Order]:
        """This customer's orders ordered by id, each with its lines (two statements)."""
        ### BEGIN SOLUTION
        statement = (
            select(Order)
            .where(Order.customer_id == customer_id)
            .options(selectinload(Order.lines))
            .order_by(Order.id)
            .limit(limit)
            .offset(offset)
        )
        return list(await self.session.scalars(statement))
        ### END SOLUTION
'''

UNIT_OF_WORK = r'''
"""One business transaction: `async with uow:` ... `await uow.commit()`; nothing else is kept."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.catalogue import AuthorRepository, BookRepository
from app.repositories.customers import CustomerRepository
from app.repositories.orders import OrderRepository


class UnitOfWork:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __aenter__(self) -> "UnitOfWork":
        # A new session, the four repositories on it; return the unit of work itself.
        ### BEGIN SOLUTION
        self.session = self.sessionmaker()
        self.authors = AuthorRepository(self.session)
        self.books = BookRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.orders = OrderRepository(self.session)
        return self
        ### END SOLUTION

    async def commit(self) -> None:
        ### BEGIN SOLUTION
        await self.session.commit()
        ### END SOLUTION

    async def rollback(self) -> None:
        ### BEGIN SOLUTION
        await self.session.rollback()
        ### END SOLUTION

    async def __aexit__(self, exc_type, exc, tb) -> None:
        # Roll back if the block raised, always close the session, let every exception continue.
        ### BEGIN SOLUTION
        try:
            if exc_type is not None:
                await self.rollback()
        finally:
            await self.session.close()  # discards what was not committed; loaded objects stay readable
        ### END SOLUTION
'''

# -- exercise 5: services --------------------------------------------------------------------------

SERVICES_CATALOGUE = r'''
"""The catalogue: pages of authors and books, one book."""

from app.core.exceptions import BookNotFound
from app.models import Author, Book
from app.repositories.unit_of_work import UnitOfWork

### BEGIN SOLUTION


async def list_authors(uow: UnitOfWork, *, limit: int, offset: int) -> list[Author]:
    async with uow:
        return await uow.authors.page(limit=limit, offset=offset)


async def list_books(uow: UnitOfWork, *, limit: int, offset: int) -> list[Book]:
    async with uow:
        return await uow.books.page(limit=limit, offset=offset)


async def get_book(uow: UnitOfWork, book_id: int) -> Book:
    async with uow:
        book = await uow.books.get(book_id)
    if book is None:
        raise BookNotFound(f"there is no book {book_id}")
    return book


### END SOLUTION
'''

SERVICES_CUSTOMERS = r'''
"""Customers: registering, logging in, and who the bearer of a token is."""

import asyncio
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.core.config import Settings
from app.core.exceptions import EmailTaken, InvalidCredentials, InvalidToken
from app.core.security import (
    TOKEN_REFUSED,
    create_access_token,
    decode_access_token,
    dummy_hash,
    hash_password,
    verify_password,
)
from app.models import Customer
from app.repositories.unit_of_work import UnitOfWork

### BEGIN SOLUTION


async def register_customer(uow: UnitOfWork, name: str, email: str, password: str) -> Customer:
    # argon2 takes tens of milliseconds of CPU on purpose: off the event loop, so other requests go on.
    hashed = await asyncio.to_thread(hash_password, password)
    async with uow:
        if await uow.customers.get_by_email(email) is not None:
            raise EmailTaken("a customer with this email address exists already")
        customer = Customer(name=name, email=email, hashed_password=hashed, is_admin=False)
        uow.customers.add(customer)
        try:
            await uow.commit()
        except IntegrityError:  # another registration with this email committed first
            raise EmailTaken("a customer with this email address exists already") from None
    return customer


async def authenticate(uow: UnitOfWork, email: str, password: str) -> Customer:
    async with uow:
        customer = await uow.customers.get_by_email(email)
    hashed = customer.hashed_password if customer is not None else dummy_hash()
    matches = await asyncio.to_thread(verify_password, password, hashed)
    if customer is None or not matches:
        raise InvalidCredentials("wrong email or password")
    return customer


async def log_in(uow: UnitOfWork, settings: Settings, *, email: str, password: str, now: datetime) -> str:
    customer = await authenticate(uow, email, password)
    return create_access_token(settings, str(customer.id), now)


async def current_customer(uow: UnitOfWork, settings: Settings, token: str, now: datetime) -> Customer:
    claims = decode_access_token(settings, token, now)
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidToken(TOKEN_REFUSED)
    async with uow:
        customer = await uow.customers.get(int(subject))
    if customer is None:
        raise InvalidToken(TOKEN_REFUSED)
    return customer


### END SOLUTION
'''

SERVICES_ORDERS = r'''
"""Orders: all or nothing, and only ever the caller's own."""

from app.core.exceptions import BookNotFound, CustomerNotFound, OrderNotFound, OutOfStock
from app.models import Order, OrderLine
from app.repositories.unit_of_work import UnitOfWork

### BEGIN SOLUTION


async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    async with uow:
        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(f"there is no customer {customer_id}")
        order = Order(customer_id=customer_id, lines=[])
        for book_id, quantity in lines:
            if await uow.books.get(book_id) is None:
                raise BookNotFound(f"there is no book {book_id}")
            if not await uow.books.take_stock(book_id, quantity):
                raise OutOfStock(f"fewer than {quantity} copies of book {book_id} are in stock")
            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
        uow.orders.add(order)
        await uow.commit()
    return order


async def list_orders(uow: UnitOfWork, customer_id: int, *, limit: int, offset: int) -> list[Order]:
    async with uow:
        return await uow.orders.page_for_customer(customer_id, limit=limit, offset=offset)


async def get_order(uow: UnitOfWork, customer_id: int, order_id: int) -> Order:
    async with uow:
        order = await uow.orders.get_for_customer(order_id, customer_id)
    if order is None:
        raise OrderNotFound(f"you have no order {order_id}")
    return order


### END SOLUTION
'''

# -- provided: the dependencies ----------------------------------------------------------------------

DEPENDENCIES = r'''
"""What routes declare they need: settings, a unit of work, the clock, a page, the current customer."""

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from app.core.config import Settings
from app.core.exceptions import InvalidToken
from app.core.security import TOKEN_REFUSED, Clock
from app.models import Customer
from app.repositories.unit_of_work import UnitOfWork
from app.services.customers import current_customer


def get_settings(request: Request) -> Settings:
    """The settings of the app that handles this request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_uow(request: Request) -> UnitOfWork:
    """A new, not yet entered unit of work: the service enters it, commits, and closes it."""
    return UnitOfWork(request.app.state.sessionmaker)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def get_clock() -> Clock:
    return Clock()


ClockDep = Annotated[Clock, Depends(get_clock)]


class Page(BaseModel):
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page:
    size = page_size or settings.page_size
    return Page(limit=size, offset=(page - 1) * size)


PageDep = Annotated[Page, Depends(get_page)]

# auto_error=False: a missing token and `Bearer ` with nothing after it take the same path as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_current_customer(
    token: Annotated[str | None, Depends(oauth2_scheme)], uow: UowDep, settings: SettingsDep, clock: ClockDep
) -> Customer:
    if not token:
        raise InvalidToken(TOKEN_REFUSED)
    return await current_customer(uow, settings, token, clock.now())


CurrentCustomer = Annotated[Customer, Depends(get_current_customer)]
'''

# -- exercise 6: routers and the app -------------------------------------------------------------

ROUTER_AUTH = r'''
"""POST /auth/token: the OAuth2 password flow (the form's `username` is the email)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from app.dependencies import ClockDep, SettingsDep, UowDep
from app.schemas.customers import Token
from app.services import customers

### BEGIN SOLUTION
router = APIRouter(tags=["auth"])


@router.post("/auth/token")
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, settings: SettingsDep, clock: ClockDep
) -> Token:
    token = await customers.log_in(uow, settings, email=form.username, password=form.password, now=clock.now())
    return Token(access_token=token)


### END SOLUTION
'''

ROUTER_CUSTOMERS = r'''
"""POST /customers (register) and GET /customers/me."""

from fastapi import APIRouter

from app.dependencies import CurrentCustomer, UowDep
from app.schemas.customers import CustomerIn, CustomerOut
from app.services import customers

### BEGIN SOLUTION
router = APIRouter(tags=["customers"])


@router.post("/customers", status_code=201)
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    customer = await customers.register_customer(uow, body.name, body.email, body.password)
    return CustomerOut.model_validate(customer)


@router.get("/customers/me")
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


### END SOLUTION
'''

ROUTER_CATALOGUE = r'''
"""GET /authors, GET /books and GET /books/{book_id}."""

from fastapi import APIRouter

from app.dependencies import PageDep, UowDep
from app.schemas.catalogue import AuthorWithBooks, BookWithAuthor
from app.services import catalogue

### BEGIN SOLUTION
router = APIRouter(tags=["catalogue"])


@router.get("/authors")
async def read_authors(uow: UowDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await catalogue.list_authors(uow, limit=page.limit, offset=page.offset)
    return [AuthorWithBooks.model_validate(author) for author in authors]


@router.get("/books")
async def read_books(uow: UowDep, page: PageDep) -> list[BookWithAuthor]:
    books = await catalogue.list_books(uow, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]


@router.get("/books/{book_id}")
async def read_book(book_id: int, uow: UowDep) -> BookWithAuthor:
    return BookWithAuthor.model_validate(await catalogue.get_book(uow, book_id))


### END SOLUTION
'''

ROUTER_ORDERS = r'''
"""POST /orders, GET /orders and GET /orders/{order_id}: the caller's own orders only."""

from fastapi import APIRouter

from app.dependencies import CurrentCustomer, PageDep, UowDep
from app.schemas.orders import OrderIn, OrderOut
from app.services import orders

### BEGIN SOLUTION
router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201)
async def place_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    return OrderOut.model_validate(await orders.place_order(uow, customer.id, lines))


@router.get("/orders")
async def read_orders(customer: CurrentCustomer, uow: UowDep, page: PageDep) -> list[OrderOut]:
    found = await orders.list_orders(uow, customer.id, limit=page.limit, offset=page.offset)
    return [OrderOut.model_validate(order) for order in found]


@router.get("/orders/{order_id}")
async def read_order(order_id: int, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    return OrderOut.model_validate(await orders.get_order(uow, customer.id, order_id))


### END SOLUTION
'''

MAIN = r'''
"""The bookshop's ASGI app: `uvicorn app.main:app` serves it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.config import Settings
from app.core.database import make_engine, make_sessionmaker
from app.core.errors import register_problem_handlers
from app.routers import auth, catalogue, customers, orders

### BEGIN SOLUTION


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    register_problem_handlers(app)
    for module in (auth, customers, catalogue, orders):
        app.include_router(module.router)
    return app


app = create_app()
### END SOLUTION
'''

# -- exercise 7: migrations ------------------------------------------------------------------------

ALEMBIC_INI = r"""
# Alembic's configuration: run `alembic upgrade head` in this folder.
# The database URL is not here: migrations/env.py takes it from the app's settings (BOOKSHOP_DATABASE_URL).

[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = os

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

SCRIPT_MAKO = r'''
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

ENV = r'''
"""Alembic's environment: runs the migrations on the bookshop's async engine."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings
from app.models import Base

config = context.config
# Logging from alembic.ini for the command line; code that calls Alembic (a notebook, a test) may say no.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# What the models describe: `alembic revision --autogenerate` compares the database with it.
### BEGIN SOLUTION
target_metadata = Base.metadata
### END SOLUTION


def database_url() -> str:
    """The URL set on Alembic's config (`sqlalchemy.url`: tests and tools set it), else the app's settings."""
    ### BEGIN SOLUTION
    return config.get_main_option("sqlalchemy.url") or Settings().database_url
    ### END SOLUTION


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: write the SQL instead of running it."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so later migrations rebuild tables instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """An async engine (no pool: this runs once), one connection, the migrations run on it."""
    ### BEGIN SOLUTION
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()
    ### END SOLUTION


def run_migrations_online() -> None:
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

INITIAL_MIGRATION = r'''
"""The bookshop's first schema: authors, books, customers, orders and order lines.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

### BEGIN SOLUTION


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("hashed_password", sa.String(length=200), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
    )
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], name=op.f("fk_books_author_id_authors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], name=op.f("fk_order_lines_book_id_books")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )


def downgrade() -> None:
    # Children before parents: a table is dropped only when nothing refers to it any more.
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.drop_table("books")
    op.drop_table("customers")
    op.drop_table("authors")


### END SOLUTION
'''
