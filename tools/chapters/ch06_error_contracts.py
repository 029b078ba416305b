"""Chapter 06, error contracts: domain exceptions mapped in one place to RFC 9457 problem details."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("06-error-contracts", "06 · Error contracts: every failure in one shape")
nb.md("""
**Questions**
- Your API fails in five ways: an unknown URL, a wrong method, a body that does not validate, a
  book that does not exist, a bug. How many different response shapes does a client see today?
- A registration form is refused because the name is missing. What does the `422` send back, and
  who reads it on its way?
- A database query fails in production. What may the client learn from the `500`, and what must
  stay in the server's log?
- FastAPI has its own `HTTPException`, a subclass of Starlette's. Which one do you register a handler
  on, and what slips through with the other?
- Where does "book 7 does not exist" turn into `404`: in the service, in each route, or in one table?

**Objectives**
- Answer every error with an RFC 9457 **problem details** object: `application/problem+json`, with
  `type`, `title`, `status` (equal to the HTTP status) and `detail`.
- Let services raise **domain exceptions** and map them to problems in **one place**: a table from
  exception class to status, type and title, and one handler that reads it. Routes catch nothing.
- Take over FastAPI's own errors (unknown route, wrong method, `401` from a security dependency)
  by handling **Starlette's** `HTTPException`, keeping the `Allow` and `WWW-Authenticate` headers.
- Turn validation errors into a `422` problem that lists the failing locations and never echoes
  what was submitted.
- Shape the `500` of an unexpected exception: the client gets a generic problem, the log gets the
  traceback. No class names, SQL, file paths or connection strings in the response.
- Document the problem responses in the OpenAPI schema.

This chapter continues the bookshop API. Its first cells carry the reference code of chapters 01 to
05 (models, the unit of work and the services, settings, password hashing, tokens,
`get_current_customer`), so you can start here even if chapter 05 is not finished. Each exercise
states its **contract**; the checks hold you to exactly that.
""")
nb.provided(
    "setup",
    '''
import logging
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.notebook import check

# This chapter's databases are files in a fresh temporary folder: nothing is left in your copy.
DB_DIR = Path(tempfile.mkdtemp(prefix="bookshop-"))
# After a MissingGreenlet error one of aiosqlite's coroutines is never awaited; hide that one warning.
warnings.filterwarnings("ignore", message=r"coroutine '(Connection|Cursor)\\.\\w+' was never awaited")


class ServerLog(logging.Handler):
    """The server's log, kept in a list here (a real server writes it to a file or a log service)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


server_log = ServerLog()
error_log = logging.getLogger("bookshop.errors")
error_log.handlers = [server_log]
error_log.propagate = False  # into server_log.lines only, not onto the notebook's output
''',
)
nb.md("""
## Provided: the reference code of chapters 01 to 05

The models (a `Customer` has a unique `email`, a `hashed_password` and `is_admin`), the schemas,
the domain exceptions, the repositories, the unit of work and the services. Every relationship is
`lazy="raise"`. Run these cells; you do not need to change them.
""")
nb.provided(
    "models",
    '''
def make_engine(url: str) -> AsyncEngine:
    """An async engine; every SQLite connection it opens enforces foreign keys."""
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def enable_foreign_keys(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no MissingGreenlet)."""
    return async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


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


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    quantity: Mapped[int]
    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
    book: Mapped[Book] = relationship(lazy="raise")


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table of Base.metadata that does not exist yet."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
''',
)
nb.provided(
    "schemas-and-errors",
    '''
class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\\s]+@[^@\\s]+$")
    password: str = Field(min_length=8, max_length=128)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class OrderLineIn(BaseModel):
    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(BaseModel):
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


class CustomerNotFound(Exception):
    """No customer has this id."""


class BookNotFound(Exception):
    """No book has this id."""


class OrderNotFound(Exception):
    """No order has this id, or it is not the caller's."""


class OutOfStock(Exception):
    """Fewer copies of a book are in stock than an order line asks for."""


class EmailTaken(Exception):
    """A customer with this email already exists."""


class InvalidCredentials(Exception):
    """The email or the password is wrong (which one is never said)."""


class InvalidToken(Exception):
    """An access token that is malformed, forged, expired or not yet valid."""


class NotAllowed(Exception):
    """The caller is known but may not do this (used from chapter 06 on)."""
''',
)
nb.provided(
    "unit-of-work",
    '''
class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, customer_id: int) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def get_by_email(self, email: str) -> Customer | None:
        return await self.session.scalar(select(Customer).where(Customer.email == email))

    def add(self, customer: Customer) -> None:
        self.session.add(customer)


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, book_id: int) -> Book | None:
        return await self.session.get(Book, book_id)

    async def take_stock(self, book_id: int, quantity: int) -> bool:
        """Take `quantity` copies in one UPDATE; True if it changed the book's row."""
        statement = (
            update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)
        )
        result = await self.session.execute(statement)
        return result.rowcount == 1


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        self.session.add(order)

    async def get(self, order_id: int) -> Order | None:
        """The order with this id and its lines, whoever it belongs to, or None."""
        statement = select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
        return await self.session.scalar(statement)

    async def list_for_customer(self, customer_id: int) -> list[Order]:
        """A customer's orders with their lines, oldest first."""
        statement = (
            select(Order).where(Order.customer_id == customer_id).options(selectinload(Order.lines)).order_by(Order.id)
        )
        return list(await self.session.scalars(statement))


class UnitOfWork:
    """One business transaction: `async with uow:` ... `await uow.commit()`; nothing else is kept."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self.sessionmaker()
        self.customers = CustomerRepository(self.session)
        self.books = BookRepository(self.session)
        self.orders = OrderRepository(self.session)
        return self

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                await self.rollback()
        finally:
            await self.session.close()


async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    """Take the stock of every line and store the order, or raise and change nothing."""
    async with uow:
        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(customer_id)
        order = Order(customer_id=customer_id, lines=[])
        for book_id, quantity in lines:
            if await uow.books.get(book_id) is None:
                raise BookNotFound(book_id)
            if not await uow.books.take_stock(book_id, quantity):
                raise OutOfStock(book_id)
            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
        uow.orders.add(order)
        await uow.commit()
        return order


async def list_orders(uow: UnitOfWork, customer_id: int) -> list[Order]:
    """The customer's own orders, with their lines."""
    async with uow:
        return await uow.orders.list_for_customer(customer_id)


async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).options(selectinload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def list_books(session: AsyncSession, *, limit: int, offset: int) -> list[Book]:
    statement = select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def get_book(session: AsyncSession, book_id: int) -> Book:
    book = await session.scalar(select(Book).where(Book.id == book_id).options(joinedload(Book.author)))
    if book is None:
        raise BookNotFound(book_id)
    return book
''',
)
nb.md("""
Chapter 05's code: settings with a signing key, argon2id password hashes, access tokens, the
registration and login services, the dependencies, and `get_current_customer`, which answers every
bad token with `credentials_error()`: an `HTTPException` `401` carrying `WWW-Authenticate: Bearer`.
""")
nb.provided(
    "security",
    '''
password_hash = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return password_hash.verify(password, hashed)


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# Keys printed in documentation and tutorials (a few of many): never sign with these.
TUTORIAL_KEYS = frozenset(
    {
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",  # FastAPI's JWT tutorial
        "a-string-secret-at-least-256-bits-long",  # jwt.io's debugger
        "your-256-bit-secret",  # jwt.io's debugger, earlier
        "secret",
        "changeme",
        "changethis",
        "your-secret-key",
        "your_secret_key",
        "supersecret",
        "super-secret-key",
        "secret-key",
        "mysecretkey",
    }
)


class Settings(BaseSettings):
    """The bookshop's configuration: these defaults, or BOOKSHOP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)
    jwt_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)

    @field_validator("jwt_secret")
    @classmethod
    def strong_secret(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if len(key.encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes; generate one with secrets.token_urlsafe(32)")
        if key.strip().lower() in TUTORIAL_KEYS:
            raise ValueError("jwt_secret is a key printed in a tutorial: anyone can sign tokens with it")
        return value


def create_access_token(settings: Settings, subject: str, now: datetime) -> str:
    claims = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=settings.access_token_minutes)}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)


def _timestamp(claims: dict[str, Any], name: str) -> float:
    """A numeric date claim (seconds since 1970), or InvalidToken."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the {name} claim is not a number")
    return value


def decode_access_token(settings: Settings, token: str, now: datetime) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(str(exc)) from None
    moment = now.timestamp()
    if _timestamp(claims, "exp") <= moment:
        raise InvalidToken("the token has expired")
    if "nbf" in claims and _timestamp(claims, "nbf") > moment:
        raise InvalidToken("the token is not valid yet")
    return claims
''',
)
nb.provided(
    "dependencies-and-services",
    '''
class Clock:
    """The time, always timezone-aware UTC. Tests override `get_clock` to move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def get_clock() -> Clock:
    return Clock()


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_settings(request: Request) -> Settings:
    """The settings of the app that is handling this request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, for read-only routes."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_uow(request: Request) -> UnitOfWork:
    """A new, not yet entered unit of work; the service enters it and commits."""
    return UnitOfWork(request.app.state.sessionmaker)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


class Page(BaseModel):
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page:
    size = settings.page_size if page_size is None else page_size
    return Page(limit=size, offset=(page - 1) * size)


PageDep = Annotated[Page, Depends(get_page)]


async def register_customer(uow: UnitOfWork, name: str, email: str, password: str) -> Customer:
    async with uow:
        if await uow.customers.get_by_email(email) is not None:
            raise EmailTaken(email)
        customer = Customer(name=name, email=email, hashed_password=hash_password(password), is_admin=False)
        uow.customers.add(customer)
        try:
            await uow.commit()
        except IntegrityError:  # another registration with this email committed first
            raise EmailTaken(email) from None
        return customer


async def authenticate(uow: UnitOfWork, email: str, password: str) -> Customer:
    async with uow:
        customer = await uow.customers.get_by_email(email)
    hashed = customer.hashed_password if customer is not None else DUMMY_HASH
    password_ok = verify_password(password, hashed)
    if customer is None or not password_ok:
        raise InvalidCredentials("incorrect email or password")
    return customer


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


def credentials_error() -> HTTPException:
    return HTTPException(
        status_code=401, detail="Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_customer(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep, clock: ClockDep, uow: UowDep
) -> Customer:
    try:
        claims = decode_access_token(settings, token, clock.now())
        customer_id = int(claims["sub"])
    except (InvalidToken, ValueError):
        raise credentials_error() from None
    async with uow:
        customer = await uow.customers.get(customer_id)
    if customer is None:
        raise credentials_error()
    return customer


CurrentCustomer = Annotated[Customer, Depends(get_current_customer)]


async def get_order(uow: UnitOfWork, customer_id: int, order_id: int) -> Order:
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(order_id)  # someone else's order does not exist, as far as the caller knows
    return order
''',
)
nb.md("""
## Provided: what is new in this chapter

`get_customer` is a new service, for `GET /customers/{customer_id}`: an admin may read any customer,
a customer only themselves. It raises `NotAllowed` for anyone else, **before** looking the customer
up: the answer is the same `403` whether or not the id exists, so it tells nobody which ids are
taken. (Orders are different: another customer's order answers `404`, as chapter 05 explained,
because even the fact that an order exists is private.)
""")
nb.provided(
    "get-customer",
    '''
async def get_customer(uow: UnitOfWork, caller: Customer, customer_id: int) -> Customer:
    """The customer `customer_id`, if `caller` may read it: an admin reads anyone, a customer themselves."""
    if not caller.is_admin and caller.id != customer_id:
        raise NotAllowed(f"customer {caller.id} may not read customer {customer_id}")
    async with uow:
        customer = await uow.customers.get(customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    return customer
''',
)
nb.md("""
## Worked example: what FastAPI answers when things go wrong

A small app with three routes, each failing in its own way: one raises an `HTTPException`, one
takes a registration body, one has a bug. Then five requests: an unknown URL, a wrong method, a
`404` from the route, a registration without a name, and the bug. `raise_app_exceptions=False`
makes httpx hand back the `500` response a real server would send, instead of raising the bug
into this cell.
""")
nb.code("""
demo = FastAPI()


@demo.get("/books/{book_id}")
async def demo_book(book_id: int):
    raise HTTPException(status_code=404, detail=f"book {book_id} not found")


@demo.post("/customers")
async def demo_register(body: CustomerIn):
    return {"id": 1}


@demo.get("/bug")
async def demo_bug():
    return {"total": 1 / 0}


async def show(app: FastAPI, method: str, url: str, **kwargs: Any) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, url, **kwargs)
    extra = {k: v for k, v in response.headers.items() if k in ("allow", "www-authenticate")}
    print(f"{method} {url}: {response.status_code} {response.headers['content-type']} {extra or ''}")
    print("   ", response.text)


await show(demo, "GET", "/nowhere")
await show(demo, "DELETE", "/books/7")
await show(demo, "GET", "/books/7")
await show(demo, "POST", "/customers", json={"email": "ada@example.com", "password": "my secret password"})
await show(demo, "GET", "/bug")
""")
nb.md("""
Four shapes for five failures: `{"detail": "..."}` with a string, `{"detail": [...]}` with a list,
plain text for the `500`, and whatever each route chose to write. A client has to guess which
shape it got. Worse:

- The `422` **echoes the input**: the `input` of a missing field is the whole body, so the response
  carries `"password": "my secret password"`. Responses are logged by proxies, kept by browsers'
  developer tools, pasted into bug reports.
- Every route that raises `HTTPException` decides its own message and status. "Book not found"
  is written once per route that can meet a missing book, and they drift apart.
- The `500` is safe here only because nobody shaped it yet. The first handler written in a hurry
  is often `{"detail": str(exc)}`, which sends SQL, file paths and class names to every client.

## RFC 9457: problem details

RFC 9457 (which replaced RFC 7807) defines one JSON shape for errors, served with the media type
**`application/problem+json`**:

```json
{
  "type": "https://bookshop.example/problems/out-of-stock",
  "title": "Out of stock",
  "status": 409,
  "detail": "A book in this order has fewer copies in stock than ordered."
}
```

- `type`: a URI that identifies the **kind** of problem; clients branch on it. `"about:blank"`
  (the default) means "nothing more than the HTTP status", and then `title` is the status phrase.
- `title`: a short summary of the kind, the same every time for a `type`.
- `status`: the HTTP status code, repeated in the body (it must be **the same** as the response's,
  or a client that reads one of them is lied to).
- `detail`: an explanation of **this** occurrence, for a human.
- Any other member is an **extension**, e.g. `errors` for a validation problem.

RFC 9457 makes every member optional; this API always sends the four above. `Problem` below is
their pydantic model (`extra="allow"` keeps extension members). `problem_responses(...)` documents
problem responses in the OpenAPI schema; exercise 6 explains it.
""")
nb.provided(
    "problem-model",
    '''
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem details object: the members this API always sends, plus any extensions."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of problem responses, for `responses=` on a route or a router."""
    content = {PROBLEM_JSON: {"schema": Problem.model_json_schema()}}
    return {status: {"description": HTTPStatus(status).phrase, "content": content} for status in statuses}
''',
)
nb.md("""
## Exercise 1 (fill in the blanks): a problem response

**Contract**: `problem_response(status, detail, *, type="about:blank", title=None, headers=None,
**extensions) -> JSONResponse` returns a response with
- the HTTP status `status` and the content type `application/problem+json` (`PROBLEM_JSON`);
- the body `{"type": type, "title": ..., "status": status, "detail": detail, **extensions}`, where
  the title is `title`, or the status phrase (`HTTPStatus(status).phrase`, e.g. `"Not Found"`) when
  `title` is `None`;
- the headers in `headers`, if any.
""")
nb.solution(
    "ex1-solution",
    '''
def problem_response(
    status: int,
    detail: str,
    *,
    type: str = "about:blank",
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    # 1. problem = Problem(type=..., title=..., status=..., detail=..., **extensions)
    # 2. return JSONResponse(problem.model_dump(), status_code=..., headers=..., media_type=...)
    ### BEGIN SOLUTION
    problem = Problem(type=type, title=title or HTTPStatus(status).phrase, status=status, detail=detail, **extensions)
    return JSONResponse(problem.model_dump(), status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)
    ### END SOLUTION
''',
)
nb.check("ex1", 3)
nb.md("""
<details><summary>Hint</summary>

- `HTTPStatus(404).phrase` is `"Not Found"`; `title or HTTPStatus(status).phrase` picks it when no
  title was given.
- `JSONResponse(content, status_code=..., headers=..., media_type=PROBLEM_JSON)`: without
  `media_type` the response says `application/json`, and a client that dispatches on the content
  type never sees a problem.
- `Problem(..., **extensions)` keeps the extension members (the model has `extra="allow"`), and
  `model_dump()` returns them with the others.
</details>

## Domain exceptions, mapped in one place

Services speak the domain's language: `place_order` raises `OutOfStock`, `authenticate` raises
`InvalidCredentials`. They know nothing of HTTP, so they work the same from a route, a script or a
test. Until now each **route** caught them and raised an `HTTPException`: seven routes, seven
`try`/`except` blocks, and the same `BookNotFound` answered with a different message by each.

Instead, one **table** says, for each domain exception, how the API answers it, and one
**exception handler** reads the table. Routes catch nothing; a new route gets the right errors for
free, and the error contract is one screen of code that a reviewer can read.

The `detail` comes from the table too, not from the exception: an exception's message is written
for developers. Chapter 05's `decode_access_token` raises `InvalidToken` with PyJWT's reason
("Signature verification failed"), which would tell an attacker what to fix in a forged token, and
`register_customer` raises `EmailTaken(email)`.

## Exercise 2 (fill in the blanks): the table and its handler

**Contract**:
- `PROBLEM_TYPES` maps each of the eight domain exceptions to a `ProblemType(status, type, title,
  detail, headers)`: `CustomerNotFound`, `BookNotFound` and `OrderNotFound` to `404`; `OutOfStock`
  and `EmailTaken` to `409`; `InvalidCredentials` and `InvalidToken` to `401` with the header
  `WWW-Authenticate: Bearer` (`BEARER`); `NotAllowed` to `403`. Each has its own `type` under
  `PROBLEMS` (not `about:blank`), a title, and a detail sentence meant for clients.
- `async def domain_error_handler(request, exc) -> JSONResponse` answers `exc` with the problem of
  its class in the table, or of the nearest parent class that is in it (a subclass of
  `BookNotFound` is answered like `BookNotFound`): that `status`, `type`, `title`, `detail` and
  `headers`. The detail is the table's, never the exception's message.
""")
nb.solution(
    "ex2-solution",
    '''
PROBLEMS = "https://bookshop.example/problems"
BEARER = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class ProblemType:
    """How the API answers one kind of domain exception, every time."""

    status: int
    type: str
    title: str
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


PROBLEM_TYPES: dict[type[Exception], ProblemType] = {
    BookNotFound: ProblemType(404, f"{PROBLEMS}/book-not-found", "Book not found", "No book has this id."),
}
# Add the seven others: PROBLEM_TYPES[OutOfStock] = ProblemType(409, ...), and so on.
### BEGIN SOLUTION
PROBLEM_TYPES[CustomerNotFound] = ProblemType(
    404, f"{PROBLEMS}/customer-not-found", "Customer not found", "No customer has this id."
)
PROBLEM_TYPES[OrderNotFound] = ProblemType(
    404, f"{PROBLEMS}/order-not-found", "Order not found", "You have no order with this id."
)
PROBLEM_TYPES[OutOfStock] = ProblemType(
    409, f"{PROBLEMS}/out-of-stock", "Out of stock", "A book in this order has fewer copies in stock than ordered."
)
PROBLEM_TYPES[EmailTaken] = ProblemType(
    409, f"{PROBLEMS}/email-taken", "Email taken", "A customer with this email address already exists."
)
PROBLEM_TYPES[InvalidCredentials] = ProblemType(
    401, f"{PROBLEMS}/invalid-credentials", "Invalid credentials", "Incorrect email or password.", BEARER
)
PROBLEM_TYPES[InvalidToken] = ProblemType(
    401, f"{PROBLEMS}/invalid-token", "Invalid token", "Could not validate credentials.", BEARER
)
PROBLEM_TYPES[NotAllowed] = ProblemType(403, f"{PROBLEMS}/not-allowed", "Not allowed", "You may not do this.")
### END SOLUTION


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The problem that PROBLEM_TYPES gives for the class of `exc`, or for its nearest parent class."""
    # type(exc).__mro__ is the class, then its parents, nearest first.
    ### BEGIN SOLUTION
    for cls in type(exc).__mro__:
        if cls in PROBLEM_TYPES:
            kind = PROBLEM_TYPES[cls]
            return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)
    raise exc  # not a domain exception: the 500 handler of exercise 5 answers it
    ### END SOLUTION
''',
)
nb.check("ex2", 5)
nb.md("""
<details><summary>Hint</summary>

- `PROBLEM_TYPES[InvalidToken] = ProblemType(401, f"{PROBLEMS}/invalid-token", "Invalid token",
  "Could not validate credentials.", BEARER)`: the `401`s carry `BEARER` as their headers.
- `PROBLEM_TYPES[type(exc)]` fails for a subclass: walk `type(exc).__mro__` and take the first class
  that is in the table.
- Build the response with `problem_response(kind.status, kind.detail, type=kind.type,
  title=kind.title, headers=kind.headers)`. `str(exc)` is for the log, not for the client.
</details>

## Predict, then run: which `HTTPException`?

FastAPI's `HTTPException` is a **subclass** of Starlette's (it adds nothing you need here). When
an exception is raised, the app looks for a handler by walking the **raised** exception's class and
its parents (its MRO). The routing itself (unknown URL, wrong method) is Starlette's, and raises
Starlette's class.

Below, a handler registered on **FastAPI's** class turns errors into a marker. Of the three
requests, a `404` raised by a route with FastAPI's `HTTPException`, an unknown URL and a wrong
method: which get the marker? Decide, then run.
""")
nb.code("""
print("FastAPI's is a subclass of Starlette's:", issubclass(HTTPException, StarletteHTTPException))


async def marker(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"handled": True, "status": exc.status_code}, status_code=exc.status_code)


wrong_class = FastAPI()
wrong_class.add_exception_handler(HTTPException, marker)  # FastAPI's class
wrong_class.add_api_route("/books/{book_id}", demo_book, methods=["GET"])
for method, url in [("GET", "/books/7"), ("GET", "/nowhere"), ("DELETE", "/books/7")]:
    await show(wrong_class, method, url)
""")
nb.md("""
Only the route's own `404` was handled. The unknown URL and the wrong method raised **Starlette's**
`HTTPException`, whose MRO does not contain FastAPI's subclass, so the handler never saw them and
FastAPI's default answered `{"detail": "Not Found"}` as plain JSON. Register on
`starlette.exceptions.HTTPException` (imported here as `StarletteHTTPException`): it catches both
classes.

Notice also the `allow: GET` header of the `405`, and chapter 05's `401`s, which carry
`WWW-Authenticate: Bearer`. Both are part of the HTTP contract (RFC 9110 requires `Allow` on a
`405`, RFC 6750 the `WWW-Authenticate` on a bearer `401`): the exception carries them in
`exc.headers`, and a handler that builds a new response must copy them over.

## Exercise 3 (guided): HTTP errors as problems

**Contract**: `async def http_error_handler(request, exc: StarletteHTTPException) -> JSONResponse`
answers with a problem of type `about:blank`:
- the status `exc.status_code`, and the title its status phrase;
- the detail `exc.detail` when it is a string, else the status phrase;
- the headers of `exc.headers` (e.g. `Allow`, `WWW-Authenticate`), all of them.
""")
nb.solution(
    "ex3-solution",
    '''
async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """An HTTPException (Starlette's, or FastAPI's subclass) as an about:blank problem, its headers kept."""
    ### BEGIN SOLUTION
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=exc.headers)
    ### END SOLUTION
''',
)
nb.check("ex3", 3)
nb.md("""
<details><summary>Hint</summary>

One line does it: `problem_response(exc.status_code, detail, headers=exc.headers)`. `exc.headers`
is `None` for most exceptions, which `problem_response` accepts. Do not build the headers yourself
(`{"WWW-Authenticate": "Bearer"} if exc.status_code == 401`): a `405` then loses its `Allow`, and
any other header an exception carries is lost too. FastAPI's `HTTPException` accepts any JSON value
as its detail (a dict, a list): those get the status phrase.
</details>

## Validation errors: say where, never what

`RequestValidationError` is what FastAPI raises when the path, the query, the headers or the body do
not fit the route's parameters. `exc.errors()` lists one dict per failure:
""")
nb.code("""
try:
    CustomerIn.model_validate({"email": "ada@example.com", "password": "my secret password"})
except Exception as exc:
    for error in exc.errors():
        print(error)
""")
nb.md("""
`loc` says **where** (`("name",)`; FastAPI adds the part of the request: `("body", "name")`),
`msg` and `type` say **what** is wrong. `input` is what was submitted there, for a missing field
the whole enclosing object, password included, and `ctx` can hold the exception a validator raised
(not even JSON). A client needs `loc` and `msg` to show the error next to the right field; it
never needs its own input back.

## Exercise 4 (guided): the `422` problem

**Contract**: `async def validation_error_handler(request, exc: RequestValidationError) ->
JSONResponse` answers `422` with a problem of type `f"{PROBLEMS}/invalid-request"`, title
`"Invalid request"`, a detail that says how many errors there are, and an extension member
`errors`: a list with, for each of `exc.errors()` in order, exactly
`{"loc": [...], "msg": ..., "type": ...}` (`loc` as a list). Nothing else of the errors: no
`input`, no `ctx`, no `url`.
""")
nb.solution(
    "ex4-solution",
    '''
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 422 problem listing where the request is invalid, without echoing what was sent."""
    # For each error of exc.errors(): {"loc": list(error["loc"]), "msg": ..., "type": ...}.
    ### BEGIN SOLUTION
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    count = len(errors)
    detail = "1 part of the request is not valid." if count == 1 else f"{count} parts of the request are not valid."
    return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors)
    ### END SOLUTION
''',
)
nb.check("ex4", 3)
nb.md("""
<details><summary>Hint</summary>

- Build each entry from scratch: `{"loc": list(error["loc"]), "msg": error["msg"], "type":
  error["type"]}`. Copying the error dict and deleting `input` still lets `ctx` through (and with it
  a `ValueError` object that JSON cannot encode: your handler would crash into a `500`).
- `problem_response(422, detail, type=..., title=..., errors=errors)`: `errors` becomes an extension
  member.
</details>

## The `500`: a handler for `Exception`

An exception no handler claims reaches Starlette's outermost middleware, `ServerErrorMiddleware`,
which answers the plain-text `500` you saw. A handler registered for `Exception` is the one
FastAPI hands to that middleware: it shapes the `500` response (and the exception is then raised
again, for the server to log; with `raise_app_exceptions=False` httpx keeps it out of your cell).

What goes where:
- **The client** gets a generic problem: `500`, a fixed detail. Nothing from the exception: its
  message can hold SQL (`[SQL: SELECT ... FROM customers ...]`), file paths, a connection string
  with a password, and its class name tells an attacker which library failed.
- **The log** gets everything: the request, the exception, the traceback.
  `error_log.error("...", exc_info=exc)` writes them (here into `server_log.lines`).

## Exercise 5 (guided): the `500`, and all the handlers in one place

**Contract**:
- `async def unexpected_error_handler(request, exc: Exception) -> JSONResponse` logs the exception
  with its traceback to `error_log` (`exc_info=exc`) and answers a `500` problem of type
  `about:blank`, whose detail is a fixed sentence. The response contains nothing of the exception:
  not its message, not its class name, no traceback, SQL, file path or connection string.
- `register_problem_handlers(app)` registers every handler of this chapter on `app`:
  `domain_error_handler` for each exception class in `PROBLEM_TYPES`, `http_error_handler` for
  **Starlette's** `HTTPException`, `validation_error_handler` for `RequestValidationError`,
  `unexpected_error_handler` for `Exception`. (`create_app` calls it.)
""")
nb.solution(
    "ex5-solution",
    '''
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
''',
)
nb.check("ex5", 6)
nb.md("""
<details><summary>Hint</summary>

- `app.add_exception_handler(SomeClass, handler)` for each: a loop over `PROBLEM_TYPES` for the
  domain exceptions, then `StarletteHTTPException`, `RequestValidationError` and `Exception`.
- `HTTPException` in this notebook is **FastAPI's**; registering on it leaves the `404` of an
  unknown URL and the `405` as plain JSON (the predict cell above).
- `problem_response(500, "...")` with a sentence you wrote. `str(exc)`, `repr(exc)`,
  `type(exc).__name__` and `traceback.format_exc()` belong in the log only.
</details>

## Provided: the catalogue and the app

The catalogue of chapter 04, now without a `try`/`except`: `get_book` raises `BookNotFound`, and your
handlers answer it. Each route documents its problem responses with `problem_responses`;
`create_app` registers your handlers (exercise 5) and includes your `router` (exercise 6).
""")
nb.provided(
    "app",
    '''
catalogue = APIRouter(responses=problem_responses(500))


@catalogue.get("/authors", responses=problem_responses(422))
async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await list_authors(session, limit=page.limit, offset=page.offset)
    return [AuthorWithBooks.model_validate(author) for author in authors]


@catalogue.get("/books", responses=problem_responses(422))
async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:
    books = await list_books(session, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]


@catalogue.get("/books/{book_id}", responses=problem_responses(404, 422))
async def read_book(book_id: int, session: SessionDep) -> BookWithAuthor:
    return BookWithAuthor.model_validate(await get_book(session, book_id))  # BookNotFound: your handler


def create_app(settings: Settings) -> FastAPI:
    """One app, with its own engine and session factory on app.state, its problem handlers and routes."""
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    register_problem_handlers(app)  # exercise 5
    app.include_router(catalogue)
    app.include_router(router)  # exercise 6
    return app
''',
)
nb.md("""
## Documenting problems in OpenAPI

FastAPI documents each route's success response from its return annotation, and adds a `422`
with its own `HTTPValidationError` schema. Errors you raise are invisible unless you declare them
with `responses=`. The obvious declaration, `{"model": Problem}`, puts the schema under the route's
own media type, `application/json`, which is not what the API sends:
""")
nb.code("""
docs = FastAPI()


@docs.get("/a/{book_id}", responses={404: {"model": Problem}})
async def documented_with_model(book_id: int) -> BookOut: ...


@docs.get("/b/{book_id}", responses=problem_responses(404, 422))
async def documented_as_problems(book_id: int) -> BookOut: ...


for path in ("/a/{book_id}", "/b/{book_id}"):
    for status, response in docs.openapi()["paths"][path]["get"]["responses"].items():
        schemas = {media: entry.get("schema", {}) for media, entry in response["content"].items()}
        print(path, status, {media: schema.get("$ref") or schema.get("title") for media, schema in schemas.items()})
""")
nb.md("""
`problem_responses(404, 422)` describes each status under `application/problem+json`, with the
`Problem` schema inline, and replaces FastAPI's default `422`. On a router,
`APIRouter(responses=problem_responses(500))` documents a status for all its routes.

## Exercise 6 (write it yourself): routes that catch nothing

Rewrite chapter 05's routes for the new contract: each calls its service and returns the result.
No `try`, no `except`, no `HTTPException`: every domain exception goes up to the handlers.

**Contract**: a module-level `router`, documenting `500` for every route
(`APIRouter(responses=problem_responses(500))`), with these routes (the first is given):

| route | does | problems it documents |
|---|---|---|
| `POST /customers` (body `CustomerIn`) | `register_customer`; `201`, `CustomerOut` | 409, 422 |
| `POST /auth/token` (`OAuth2PasswordRequestForm`) | `authenticate`; a `Token`, as in chapter 05 | 401, 422 |
| `GET /customers/me` | the caller's `CustomerOut` | 401 |
| `GET /customers/{customer_id}` | `get_customer(uow, caller, customer_id)`; `CustomerOut` | 401, 403, 404, 422 |
| `POST /orders` (body `OrderIn`) | `place_order` for the caller; `201`, `OrderOut` | 401, 404, 409, 422 |
| `GET /orders` | the caller's orders (`list_orders`); `list[OrderOut]` | 401 |
| `GET /orders/{order_id}` | `get_order(uow, caller.id, order_id)`; `OrderOut` | 401, 404, 422 |

Every route but the first two takes the caller from `CurrentCustomer`. No route function refers to
`HTTPException` or to a domain exception.
""")
nb.solution(
    "ex6-solution",
    '''
router = APIRouter(responses=problem_responses(500))


@router.post("/customers", status_code=201, responses=problem_responses(409, 422))
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    """Given, as the pattern: call the service, return its result; its exceptions go to the handlers."""
    customer = await register_customer(uow, body.name, body.email, body.password)
    return CustomerOut.model_validate(customer)


### BEGIN SOLUTION
@router.post("/auth/token", responses=problem_responses(401, 422))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, settings: SettingsDep, clock: ClockDep
) -> Token:
    customer = await authenticate(uow, form.username, form.password)
    return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))


@router.get("/customers/me", responses=problem_responses(401))
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


@router.get("/customers/{customer_id}", responses=problem_responses(401, 403, 404, 422))
async def read_customer(customer_id: int, caller: CurrentCustomer, uow: UowDep) -> CustomerOut:
    return CustomerOut.model_validate(await get_customer(uow, caller, customer_id))


@router.post("/orders", status_code=201, responses=problem_responses(401, 404, 409, 422))
async def post_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    order = await place_order(uow, customer.id, [(line.book_id, line.quantity) for line in body.lines])
    return OrderOut.model_validate(order)


@router.get("/orders", responses=problem_responses(401))
async def read_orders(customer: CurrentCustomer, uow: UowDep) -> list[OrderOut]:
    return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]


@router.get("/orders/{order_id}", responses=problem_responses(401, 404, 422))
async def read_order(order_id: int, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    return OrderOut.model_validate(await get_order(uow, customer.id, order_id))
### END SOLUTION
''',
)
nb.check("ex6", 9)
nb.md("""
<details><summary>Hint</summary>

- Each route is one or two lines: call the service, convert the result
  (`CustomerOut.model_validate(...)`). If you catch anything, you are doing the handlers' job.
- Declare `GET /customers/me` **before** `GET /customers/{customer_id}`: routes match in order, and
  `me` is not an integer (a `422` on the `customer_id` path parameter).
- `responses=problem_responses(401, 404, 422)` on the decorator; the router's
  `responses=problem_responses(500)` adds the `500` to each.
- A `404` of type `about:blank` where the table has `.../order-not-found` means the route (or a
  helper) turned the domain exception into an `HTTPException` of its own.
</details>

## Try it: the bookshop's errors, all in one shape

Every kind of failure against a scratch database, and then the server's log.
""")
nb.code("""
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{DB_DIR / 'bookshop.sqlite'}"))
await create_schema(bookshop.state.engine)
async with bookshop.state.sessionmaker() as session:
    session.add(Book(id=1, title="Kindred", price_cents=999, stock=1, author=Author(name="Octavia E. Butler")))
    await session.commit()

transport = httpx.ASGITransport(app=bookshop, raise_app_exceptions=False)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    ada = {"name": "Ada", "email": "ada@example.com", "password": "Ada's analytical engine"}
    print((await client.post("/customers", json=ada)).status_code)
    login = await client.post("/auth/token", data={"username": ada["email"], "password": ada["password"]})
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    attempts = [
        ("POST", "/customers", {"json": ada}),
        ("POST", "/customers", {"json": {"email": "x@example.com", "password": "a secret password"}}),
        ("POST", "/auth/token", {"data": {"username": ada["email"], "password": "a guess"}}),
        ("GET", "/customers/me", {}),
        ("GET", "/customers/me", {"headers": {"Authorization": "Bearer forged"}}),
        ("GET", "/customers/2", {"headers": auth}),
        ("POST", "/orders", {"json": {"lines": [{"book_id": 1, "quantity": 5}]}, "headers": auth}),
        ("GET", "/books/99", {}),
        ("GET", "/books/abc", {}),
        ("GET", "/nowhere", {}),
        ("DELETE", "/books/1", {}),
    ]
    for method, url, kwargs in attempts:
        response = await client.request(method, url, **kwargs)
        headers = {k: v for k, v in response.headers.items() if k in ("allow", "www-authenticate")}
        print(f"{method} {url}: {response.status_code} {response.headers['content-type']} {headers or ''}")
        print("   ", response.json())

    async with bookshop.state.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE order_lines")
    crash = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=auth)
    print("after dropping a table:", crash.status_code, crash.json())
await bookshop.state.engine.dispose()
logged = server_log.lines[-1].splitlines()
print("\\nThe server's log:", *logged[:2], "   ...", *logged[-2:], sep="\\n")
""")
nb.md("""
## Key points
- One error shape for the whole API: RFC 9457 problem details, `application/problem+json`, with
  `type` (the kind, a URI; `about:blank` for plain HTTP errors), `title`, `status` (the same as the
  HTTP status) and `detail`; extensions such as `errors` for anything more.
- Services raise **domain exceptions**; **one table** maps each class to its status, type, title
  and detail, and one handler reads it (walking the MRO, so subclasses are covered). Routes catch
  nothing and build no `HTTPException`.
- Register the HTTP error handler on **`starlette.exceptions.HTTPException`**: FastAPI's subclass
  misses the `404` of an unknown route and the `405`. Copy `exc.headers`: `Allow` on a `405`,
  `WWW-Authenticate` on a `401`.
- A `422` says **where** (`loc`) and **what** (`msg`, `type`) for each error, and never echoes the
  input: FastAPI's default sends it back, a password included.
- A handler for `Exception` shapes the `500`: a generic problem for the client, the exception and
  its traceback for the log. Never `str(exc)`, `repr(exc)` or a class name in a response.
- Document problem responses (`responses=` on routes and routers) under `application/problem+json`:
  `{"model": Problem}` alone documents them as `application/json`.
""")
print(nb.save())
