"""Chapter 07, response models and PII: public and private schemas, strict inputs, nothing leaks."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("07-response-models", "07 · Response models and PII: send exactly what you meant to")
nb.md("""
**Questions**
- A route returns the `Customer` row it just loaded. Which of its columns reach the client?
- A registration arrives with `"is_admin": true` next to the name and the password. What should
  happen to that field: stored, dropped without a word, or refused?
- Customer 1 browses the list of customers. Whose email addresses may that page contain?
- A client sends a password that is too short. What does FastAPI's `422` answer repeat back, and
  where does that answer end up (logs, browser consoles, error trackers)?
- A route declares `response_model=CustomerOut` and returns a `JSONResponse`. Which of the two
  decides what the client gets?
- How do you *know* that no response of your API, success or error, contains a password hash?

**Objectives**
- Split each resource into **schemas by audience**: what a client may send (`CustomerIn`), what a
  customer sees of themselves (`CustomerOut`), what anyone may see (`CustomerPublic`). Never one
  schema for everything, never the ORM object itself.
- Refuse unknown input fields with `ConfigDict(extra="forbid")` on every input model, so a body
  cannot set `is_admin`, an `id` or another customer's id (**mass assignment**).
- Declare a response model on every route (the return annotation, or `response_model=`), and never
  bypass it by returning a `Response` you built yourself.
- Answer `422` and `409` without repeating what the request contained.
- Scan every response of your app for passwords, hashes and other customers' emails.

This chapter continues the bookshop API. Its first cells carry the reference code of chapters 01 to
05 (models, the unit of work, the services, argon2 passwords, JWT access tokens,
`get_current_customer`, the catalogue and the login route), so you can start here even if chapter 05
is not finished. You write the schemas and the routes that face customers. Each exercise states
its **contract**; the checks hold you to exactly that, and the hidden ones scan every answer your
app gives for data it must not give away.
""")
nb.provided(
    "setup",
    """
import json
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import FastAPIError, RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload

from grader.notebook import check

# This chapter's databases are files in a fresh temporary folder: nothing is left in your copy.
DB_DIR = Path(tempfile.mkdtemp(prefix="bookshop-"))
# After a MissingGreenlet error one of aiosqlite's coroutines is never awaited; hide that one warning.
warnings.filterwarnings("ignore", message=r"coroutine '(Connection|Cursor)\\.\\w+' was never awaited")
""",
)
nb.md("""
## Provided: the reference code of chapters 01 to 05

Engine and sessions (foreign keys on, objects readable after commit) and the models. A `Customer`
has a unique `email`, a `hashed_password` (argon2id) and an `is_admin` flag: the two columns this
chapter is about. Every relationship stays `lazy="raise"`.
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
nb.md("""
## Provided: the catalogue's schemas, the token, and the domain exceptions

The catalogue's schemas of chapter 04 and the login answer of chapter 05 are given. The schemas of
customers and orders are yours to write (exercises 1 and 2).
""")
nb.provided(
    "schemas-and-errors",
    '''
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


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


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
    """The caller is known but may not do this."""
''',
)
nb.md("""
## Provided: passwords, settings and tokens (chapter 05)

Argon2id hashes with `pwdlib`, settings that refuse a weak signing key, and access tokens with a
pinned algorithm and required `exp` and `sub`.
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
nb.md("""
## Provided: repositories, the unit of work and the services

Chapters 03 to 05, plus three small services for this chapter's routes: `list_customers` and
`get_customer` for the customer directory, and `update_customer` for a customer editing their own
profile. Read `update_customer` closely: it writes **every** key of `changes` onto the customer, as
generic update helpers do. It trusts its caller completely: whatever reaches `changes` is stored,
`is_admin` included. Exercise 1 makes sure that only the fields you allow can get there.
""")
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


async def get_order(uow: UnitOfWork, customer_id: int, order_id: int) -> Order:
    """The customer's order with its lines; OrderNotFound if it does not exist or is someone else's."""
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(order_id)
    return order


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


async def update_customer(uow: UnitOfWork, customer_id: int, changes: dict[str, Any]) -> Customer:
    """Write every key of `changes` onto the customer and commit; EmailTaken if the new email is in use.

    Whatever `changes` holds is stored: the caller decides which fields a request may change."""
    async with uow:
        customer = await uow.customers.get(customer_id)
        if customer is None:
            raise CustomerNotFound(customer_id)
        email = changes.get("email")
        if email is not None and email != customer.email and await uow.customers.get_by_email(email) is not None:
            raise EmailTaken(email)
        for field, value in changes.items():
            setattr(customer, field, value)
        try:
            await uow.commit()
        except IntegrityError as exc:
            if "UNIQUE" not in str(exc):  # only a duplicate email is EmailTaken; anything else is a bug
                raise
            raise EmailTaken(email) from None
        return customer


async def list_customers(session: AsyncSession, *, limit: int, offset: int) -> list[Customer]:
    statement = select(Customer).order_by(Customer.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    return customer


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
## Provided: the dependencies, the catalogue, the login route and the app

The clock, settings, session and unit-of-work dependencies, pages, and chapter 05's
`get_current_customer` (`CurrentCustomer`). Two routers are given: `catalogue` (authors and books)
and `auth` (`POST /auth/token`). `create_app` includes them and your `router` (exercises 4 and 5),
and registers your `validation_error_handler` (exercise 3) for every `422`.
""")
nb.provided(
    "app",
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

catalogue = APIRouter()


@catalogue.get("/authors")
async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await list_authors(session, limit=page.limit, offset=page.offset)
    return [AuthorWithBooks.model_validate(author) for author in authors]


@catalogue.get("/books")
async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:
    books = await list_books(session, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]


@catalogue.get("/books/{book_id}")
async def read_book(book_id: int, session: SessionDep) -> BookWithAuthor:
    try:
        book = await get_book(session, book_id)
    except BookNotFound:
        raise HTTPException(status_code=404, detail=f"book {book_id} not found") from None
    return BookWithAuthor.model_validate(book)


auth = APIRouter()


@auth.post("/auth/token")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, settings: SettingsDep, clock: ClockDep
) -> Token:
    try:
        customer = await authenticate(uow, form.username, form.password)
    except InvalidCredentials:
        raise HTTPException(
            status_code=401, detail="Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
        ) from None
    return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))


def create_app(settings: Settings) -> FastAPI:
    """One app with its own engine and sessions, the catalogue, the login route and your `router`."""
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # exercise 3
    app.include_router(catalogue)
    app.include_router(auth)
    app.include_router(router)  # exercises 4 and 5
    return app
''',
)
nb.md("""
## Worked example: the row goes out whole

The quickest route to write returns what the service returned: the `Customer` row. FastAPI refuses
`-> Customer` as a return annotation (an ORM class is not something pydantic can describe), and the
error message suggests `response_model=None`. That makes the error go away. Here is what it does to
the answer.
""")
nb.code("""
demo_engine = make_engine(f"sqlite+aiosqlite:///{DB_DIR / 'demo.sqlite'}")
demo_sessions = make_sessionmaker(demo_engine)
await create_schema(demo_engine)
ada = await register_customer(UnitOfWork(demo_sessions), "Ada", "ada@example.com", "Ada's analytical engine")
grace = await register_customer(UnitOfWork(demo_sessions), "Grace", "grace@example.com", "Grace found the moth")

demo = FastAPI()

try:

    @demo.get("/refused/customers/{customer_id}")
    async def refused(customer_id: int) -> Customer:
        ...

except FastAPIError as exc:
    print("-> Customer:", str(exc)[:90], "...")


@demo.get("/leaky/customers/{customer_id}", response_model=None)
async def leaky_customer(customer_id: int):
    async with demo_sessions() as session:
        return await session.get(Customer, customer_id)


demo_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo), base_url="http://demo")
print((await demo_client.get(f"/leaky/customers/{grace.id}")).json())
""")
nb.md("""
Every column went out: the argon2 hash of Grace's password and her `is_admin` flag, to anyone who
asks for customer 2. With no response model FastAPI runs `jsonable_encoder` on whatever the route
returned, and for an ORM object that means every loaded column, today's and the ones added next
year (a `reset_token`, a `date_of_birth`). A hash is not the password, but it is what an attacker
needs to guess it offline, at their own pace; and whether a customer is an admin tells them whom to
target.

The fix is a **response model**: a schema that lists the fields a client may see. FastAPI
validates the return value with it and serialises *only its fields*. With `from_attributes=True`
the schema reads them from an ORM object. Returning a dict with more keys, or the whole row, gives
the same answer: the schema is a filter, not a suggestion.
""")
nb.code("""
class DemoCustomerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


@demo.get("/public/customers/{customer_id}")
async def public_customer(customer_id: int) -> DemoCustomerPublic:
    async with demo_sessions() as session:
        return DemoCustomerPublic.model_validate(await session.get(Customer, customer_id))


@demo.get("/filtered/customers/{customer_id}", response_model=DemoCustomerPublic)
async def filtered_customer(customer_id: int):
    async with demo_sessions() as session:
        customer = await session.get(Customer, customer_id)
    return {"id": customer.id, "name": customer.name, "hashed_password": customer.hashed_password}


for url in (f"/public/customers/{grace.id}", f"/filtered/customers/{grace.id}"):
    print(url, (await demo_client.get(url)).json())
""")
nb.md("""
### Predict, then run

Two more routes. The first declares the same response model and returns a `JSONResponse` it built
itself, a common way to set a status code or a header. The second is a registration with one
schema for everything (name, email, password and `is_admin`, "for convenience"), sent a password
that is too short. For each request, write down the status and which keys of the answer you expect
(is Grace's hash there? is `"hunter2"`?), then run the cell.
""")
nb.code("""
@demo.get("/bypass/customers/{customer_id}", response_model=DemoCustomerPublic)
async def bypass_customer(customer_id: int):
    async with demo_sessions() as session:
        customer = await session.get(Customer, customer_id)
    return JSONResponse(jsonable_encoder(customer), headers={"Cache-Control": "no-store"})


class DemoCustomerSchema(BaseModel):
    name: str
    email: str
    password: str = Field(min_length=8)
    is_admin: bool = False


@demo.post("/signup", status_code=201, response_model=DemoCustomerPublic)
async def signup(body: DemoCustomerSchema):
    fields = body.model_dump(exclude={"password"})
    customer = Customer(**fields, hashed_password=hash_password(body.password))
    async with demo_sessions() as session:
        session.add(customer)
        await session.commit()
    return customer


bypass = await demo_client.get(f"/bypass/customers/{grace.id}")
print("bypass:", bypass.status_code, bypass.json())
short = await demo_client.post("/signup", json={"name": "Eve", "email": "eve@example.com", "password": "hunter2"})
print("short password:", short.status_code, short.json())
""")
nb.md("""
- **A `Response` is sent as it is.** FastAPI applies the response model to the *value* a route
  returns; a `JSONResponse` (or any `Response`) skips validation and serialisation altogether, so
  the declared model filtered nothing and the hash went out. Set a status with `status_code=` on the
  decorator and headers on an injected `response: Response` parameter, and return data.
- **The default `422` repeats the input.** Each error carries an `input` field with the value that
  failed, here the password. Error bodies are logged by proxies, shown in browser consoles, stored
  by error trackers: a password in one is a password in all of them.

### Mass assignment

The same signup with a long enough password, and one more field:
""")
nb.code("""
eve = await demo_client.post(
    "/signup", json={"name": "Eve", "email": "eve@example.com", "password": "a long enough password", "is_admin": True}
)
print(eve.status_code, eve.json())
async with demo_sessions() as session:
    stored = await session.scalar(select(Customer).where(Customer.email == "eve@example.com"))
print("Eve is an admin:", stored.is_admin)
""")
nb.md("""
Eve made herself an admin. The schema declared `is_admin` (one schema for reading and writing),
and `Customer(**fields)` copied every field onto the row. That is **mass assignment** (OWASP API
Security's "broken object property level authorization"): the client chose a field the server never
meant it to set. Removing `is_admin` from the schema is not enough on its own. Pydantic's default,
`extra="ignore"`, drops unknown fields without a word, so the client never learns that its
request was not what it thought; and `extra="allow"` *keeps* them, straight into `model_dump()`. The
rule for input models is **`extra="forbid"`**: a field the schema does not declare is a `422`.

Schemas come in families, one per audience:

| schema | who sends or sees it | fields |
|---|---|---|
| `CustomerIn` | a client registering | name, email, password (never stored as is) |
| `CustomerUpdate` | a customer editing their profile | name, email, both optional |
| `CustomerOut` | the customer themselves | id, name, email |
| `CustomerPublic` | anyone else | id, name |

The hash and `is_admin` are in none of them: they never cross the API.
""")
nb.code("""
await demo_client.aclose()
await demo_engine.dispose()
""")
nb.md("""
## Exercise 1 (fill in the blanks): input models that refuse what they do not know

**Contract**:
- `InputModel(BaseModel)` is the base of every request body; its `model_config` forbids unknown
  fields: validating a body with any field the model does not declare raises `ValidationError`
  (error type `extra_forbidden`), so FastAPI answers `422`.
- `CustomerIn(InputModel)`: `name`, `email`, `password`, exactly as given.
- `CustomerUpdate(InputModel)`: `name` and `email`, both optional (`None` by default) with the same
  constraints as in `CustomerIn`. A field left out, or sent as `null`, means "leave it as it is".
- `OrderLineIn(InputModel)` and `OrderIn(InputModel)`: as given.
- No input model declares `id`, `is_admin`, `hashed_password` or `customer_id`.
""")
nb.solution(
    "ex1-solution",
    '''
EMAIL_PATTERN = r"^[^@\\s]+@[^@\\s]+$"


class InputModel(BaseModel):
    """The base of every request body: a field it does not declare is an error, never silently dropped."""

    ### BEGIN SOLUTION
    model_config = ConfigDict(extra="forbid")
    ### END SOLUTION


class CustomerIn(InputModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=8, max_length=128)


class CustomerUpdate(InputModel):
    ### BEGIN SOLUTION
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    ### END SOLUTION


class OrderLineIn(InputModel):
    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(InputModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
''',
)
nb.check("ex1", 4)
nb.md("""
<details><summary>Hint</summary>

`model_config = ConfigDict(extra="forbid")` in `InputModel`; subclasses inherit it. For
`CustomerUpdate`, `name: str | None = Field(default=None, min_length=1, max_length=200)`: the
constraints apply when a string is sent. Do not add `is_admin: bool = False` "to be safe": a
declared field is an accepted field.
</details>

## Exercise 2 (fill in the blanks): output schemas, one per audience

**Contract** (each with `model_config = ConfigDict(from_attributes=True)`, so it reads ORM objects):
- `CustomerPublic`: exactly `id: int` and `name: str`. What any signed-in customer may see of
  another.
- `CustomerOut`: exactly `id`, `name` and `email: str`. What a customer sees of themselves.
- `OrderLineOut`: exactly `book_id: int` and `quantity: int`.
- `OrderOut`: exactly `id: int`, `customer_id: int` and `lines: list[OrderLineOut]`.

"Exactly" covers what a schema serialises, not only what it declares: built from an object or a
dict with more attributes (a hash, `is_admin`), its `model_dump()` has these keys and no other.
""")
nb.solution(
    "ex2-solution",
    '''
class CustomerPublic(BaseModel):
    """What anyone may see of a customer."""

    model_config = ConfigDict(from_attributes=True)

    ### BEGIN SOLUTION
    id: int
    name: str
    ### END SOLUTION


class CustomerOut(CustomerPublic):
    """What a customer sees of themselves."""

    ### BEGIN SOLUTION
    email: str
    ### END SOLUTION


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ### BEGIN SOLUTION
    book_id: int
    quantity: int
    ### END SOLUTION


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ### BEGIN SOLUTION
    id: int
    customer_id: int
    lines: list[OrderLineOut]
    ### END SOLUTION
''',
)
nb.check("ex2", 4)
nb.md("""
<details><summary>Hint</summary>

`CustomerOut(CustomerPublic)` inherits `id` and `name` and the config; add `email`. Leave `extra`
at its default on output schemas: `extra="allow"` would keep every unknown key of a dict you
validate (a `hashed_password`) and serialise it. Declaring the hash "to fill it from the row" is the
leak itself: `from_attributes` reads exactly the fields you declare, so declare only public ones.
</details>

## Exercise 3 (guided): a 422 that repeats nothing

FastAPI answers a request that fails validation with `422` and the list of errors, each with
`input` (the value that failed) and often `ctx`. Replace that answer with one that says *where* and
*why*, and never *what*.

**Contract**: `async def validation_error_handler(request, exc: RequestValidationError) ->
JSONResponse` returns status `422` and the body `{"detail": [...]}`, one entry per error of
`exc.errors()` in the same order, each with exactly the keys `loc` (a list), `msg` and `type` copied
from the error. Nothing else: no `input`, no `ctx`, no part of the request body. (`create_app`
registers it for `RequestValidationError`.)
""")
nb.solution(
    "ex3-solution",
    '''
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with where and why each field was refused, never the values that were sent."""
    # errors = [{"loc": ..., "msg": ..., "type": ...} for error in exc.errors()]
    ### BEGIN SOLUTION
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": errors})
    ### END SOLUTION
''',
)
nb.check("ex3", 4)
nb.md("""
<details><summary>Hint</summary>

Each item of `exc.errors()` is a dict; `error["loc"]` is a tuple such as `("body", "password")`.
Build new dicts with the three keys instead of deleting keys from the old ones (a key you did not
think of would stay). `JSONResponse(status_code=422, content=...)` is right here: an exception
handler is not a route and has no response model. Do not pass `exc.errors()` through
`jsonable_encoder`: that is FastAPI's default, `input` included.
</details>

## Exercise 4 (guided): the customer's own routes

**Contract**: a module-level `router = APIRouter()` with three routes. Each declares its response
model (return annotation or `response_model=`) and returns data, never a `Response`:
- `POST /customers` (body `CustomerIn`): `register_customer(...)`, then `201` and the
  `CustomerOut`. A body with any other field (`is_admin`) is a `422` and stores nothing. For
  `EmailTaken`: `409` with a fixed message, e.g. `{"detail": "this email is already registered"}`,
  which repeats nothing of the request and says nothing about the customer who has that email.
- `GET /customers/me`: the caller's `CustomerOut` (`CurrentCustomer`). Given: the pattern for the
  other two.
- `PATCH /customers/me` (body `CustomerUpdate`): `update_customer(uow, caller.id, changes)` with only
  the fields sent and not `null` (`body.model_dump(exclude_none=True)`); `200` and the updated
  `CustomerOut`. `is_admin`, `id`, `hashed_password` or any other field in the body is a `422` and
  changes nothing. `EmailTaken` is a `409` under the same rule as above.
""")
nb.solution(
    "ex4-solution",
    """
router = APIRouter()

EMAIL_TAKEN = "this email is already registered"


@router.get("/customers/me")
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


@router.post("/customers", status_code=201)
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    # register_customer(...); EmailTaken becomes a 409 with EMAIL_TAKEN; return the new CustomerOut.
    ### BEGIN SOLUTION
    try:
        customer = await register_customer(uow, body.name, body.email, body.password)
    except EmailTaken:
        # Fixed text: no email, no name, nothing about the account that has it.
        raise HTTPException(status_code=409, detail=EMAIL_TAKEN) from None
    return CustomerOut.model_validate(customer)
    ### END SOLUTION


### BEGIN SOLUTION
@router.patch("/customers/me")
async def update_me(body: CustomerUpdate, customer: CurrentCustomer, uow: UowDep) -> CustomerOut:
    try:
        updated = await update_customer(uow, customer.id, body.model_dump(exclude_none=True))
    except EmailTaken:
        raise HTTPException(status_code=409, detail=EMAIL_TAKEN) from None
    return CustomerOut.model_validate(updated)
### END SOLUTION
""",
)
nb.check("ex4", 10)
nb.md("""
<details><summary>Hint</summary>

- `-> CustomerOut` on each route, and `return CustomerOut.model_validate(customer)`.
- In `PATCH`, the body's model does the whitelisting: with `extra="forbid"`, `model_dump()` can only
  hold `name` and `email`. `exclude_none=True` leaves out what was not sent (or sent as `null`);
  without it, `name=None` would reach the database.
- `detail=f"{body.email} is already registered"` repeats the request, and "registered by Grace"
  tells the caller whose address it is. Keep the text fixed.
</details>

## Exercise 5 (write it yourself): the directory and the orders

**Contract**: five more routes on the same `router`, each with its response model. All of them
need a valid token (`CurrentCustomer`). (If you run exercise 4's cell again, run this one again too:
it adds routes to that router.)
- `GET /customers`: one page (`PageDep`) of every customer, ordered by id, as
  `list[CustomerPublic]`: a directory shows names, never emails.
- `GET /customers/{customer_id}`: that customer's `CustomerPublic`; `404` if there is none.
- `POST /orders` (body `OrderIn`): `place_order` **for the caller**; `201` and the `OrderOut`. `404`
  for `BookNotFound`, `409` for `OutOfStock`. A body with any other field (a `customer_id`) is a
  `422` and orders nothing.
- `GET /orders`: the caller's own orders, `list[OrderOut]`.
- `GET /orders/{order_id}`: the caller's order as `OrderOut`; `404` for an order that does not exist
  **or is another customer's**.
""")
nb.solution(
    "ex5-solution",
    """
### BEGIN SOLUTION
@router.get("/customers")
async def read_customers(caller: CurrentCustomer, session: SessionDep, page: PageDep) -> list[CustomerPublic]:
    customers = await list_customers(session, limit=page.limit, offset=page.offset)
    return [CustomerPublic.model_validate(customer) for customer in customers]


@router.get("/customers/{customer_id}")
async def read_customer(customer_id: int, caller: CurrentCustomer, session: SessionDep) -> CustomerPublic:
    try:
        customer = await get_customer(session, customer_id)
    except CustomerNotFound:
        raise HTTPException(status_code=404, detail=f"customer {customer_id} not found") from None
    return CustomerPublic.model_validate(customer)


@router.post("/orders", status_code=201)
async def post_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    try:
        order = await place_order(uow, customer.id, lines)
    except CustomerNotFound:  # deleted between the token check and the order
        raise credentials_error() from None
    except BookNotFound as exc:
        raise HTTPException(status_code=404, detail=f"book {exc} not found") from None
    except OutOfStock as exc:
        raise HTTPException(status_code=409, detail=f"book {exc} is out of stock") from None
    return OrderOut.model_validate(order)


@router.get("/orders")
async def read_orders(customer: CurrentCustomer, uow: UowDep) -> list[OrderOut]:
    return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]


@router.get("/orders/{order_id}")
async def read_order(order_id: int, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    try:
        order = await get_order(uow, customer.id, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None
    return OrderOut.model_validate(order)
### END SOLUTION
""",
)
nb.check("ex5", 10)
nb.md("""
<details><summary>Hint</summary>

- The directory is `list[CustomerPublic]`, not `list[CustomerOut]`: the schema decides whose data a
  page shows. Take the page from `PageDep` and pass `limit=page.limit, offset=page.offset`.
- `GET /customers/me` was added in exercise 4, before `GET /customers/{customer_id}`: FastAPI tries
  routes in order, so `me` never reaches the route that expects a number.
- The customer of an order comes from the token (`customer.id`), never from the body: `OrderIn`
  has no `customer_id`, and with `extra="forbid"` a body that sends one is refused.
</details>

## Exercise 6 (write it yourself): a leak finder

The checks of this chapter scan every answer of your app for data it must not send. Write a small
version of that scanner: you can use it in your own tests (chapter 08), on any JSON.

**Contract**: `find_leaks(value, forbidden: Iterable[str]) -> list[str]` walks `value`, any JSON
value (dicts, lists, strings, numbers, booleans, `None`), and returns the **path** of every place
that leaks:
- paths: `$` is `value` itself; the item of a dict under key `k` is `<path>.k`; the item at index
  `i` of a list is `<path>[i]`. Example: `$.items[0].email`.
- a string leaks when it contains one of `forbidden`, ignoring case (`"Grace@Example.com is taken"`
  contains `grace@example.com`), or contains `$argon2` or `$2b$` (argon2 and bcrypt hashes);
- a dict **key** leaks under the same rule: report the path of its item;
- numbers, booleans and `None` never leak;
- each path at most once, in the order of a depth-first walk (dicts in their order).
""")
nb.solution(
    "ex6-solution",
    """
### BEGIN SOLUTION
HASH_MARKERS = ("$argon2", "$2b$")


def leaks(text: str, forbidden: list[str]) -> bool:
    folded = text.casefold()
    return any(secret.casefold() in folded for secret in forbidden if secret) or any(
        marker in text for marker in HASH_MARKERS
    )


def find_leaks(value: Any, forbidden: Iterable[str]) -> list[str]:
    forbidden = list(forbidden)
    found: list[str] = []

    def walk(item: Any, path: str) -> None:
        if isinstance(item, dict):
            for key, child in item.items():
                here = f"{path}.{key}"
                if leaks(str(key), forbidden) and here not in found:
                    found.append(here)
                walk(child, here)
        elif isinstance(item, list):
            for index, child in enumerate(item):
                walk(child, f"{path}[{index}]")
        elif isinstance(item, str) and leaks(item, forbidden) and path not in found:
            found.append(path)

    walk(value, "$")
    return found
### END SOLUTION
""",
)
nb.check("ex6", 3)
nb.md("""
<details><summary>Hint</summary>

A recursive inner function `walk(item, path)`: dicts recurse with `f"{path}.{key}"`, lists with
`f"{path}[{index}]"`, strings are tested. Compare `text.casefold()` with each forbidden value's
`casefold()`. A key and its value can both leak: report the path once.
</details>

## Try it: audit your own app

Register three customers, log in as one, go through every route, and scan each answer with your
`find_leaks`: the other customers' emails and every password are forbidden. Then list what the
OpenAPI document (the contract clients read) says each route answers: a route without a schema is
where the next leak comes from.
""")
nb.code("""
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{DB_DIR / 'bookshop.sqlite'}"))
await create_schema(bookshop.state.engine)
async with bookshop.state.sessionmaker() as session:
    session.add(Book(id=1, title="Kindred", price_cents=999, stock=3, author=Author(name="Octavia E. Butler")))
    await session.commit()

people = {
    "Ada": ("ada@example.com", "Ada's analytical engine"),
    "Grace": ("grace@example.com", "Grace found the moth"),
    "Hedy": ("hedy@example.com", "Hedy hops frequencies"),
}
answers = []
transport = httpx.ASGITransport(app=bookshop)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    for name, (email, password) in people.items():
        await client.post("/customers", json={"name": name, "email": email, "password": password})
    login = await client.post("/auth/token", data={"username": "ada@example.com", "password": people["Ada"][1]})
    ada = {"Authorization": f"Bearer {login.json()['access_token']}"}
    taken = {"name": "Eve", "email": "grace@example.com", "password": "x" * 8}
    answers.append(("POST /customers (taken)", await client.post("/customers", json=taken)))
    short = {"name": "Eve", "email": "eve@example.com", "password": "hunter2"}
    answers.append(("POST /customers (short)", await client.post("/customers", json=short)))
    promote = {"name": "Ada L.", "is_admin": True}
    answers.append(("PATCH /customers/me", await client.patch("/customers/me", json=promote, headers=ada)))
    for url in ("/customers/me", "/customers", "/customers/2", "/books", "/authors"):
        answers.append((f"GET {url}", await client.get(url, headers=ada)))
    order = {"lines": [{"book_id": 1, "quantity": 1}]}
    answers.append(("POST /orders", await client.post("/orders", json=order, headers=ada)))
    answers.append(("GET /orders", await client.get("/orders", headers=ada)))

forbidden = [password for _, password in people.values()] + ["grace@example.com", "hedy@example.com"]
for label, response in answers:
    print(f"{label:26} {response.status_code}  leaks: {find_leaks(response.json(), forbidden) or 'none'}")
print()
for path, operations in bookshop.openapi()["paths"].items():
    for method, operation in operations.items():
        status, answer = next(iter(operation["responses"].items()))
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        item = schema.get("items", {}).get("$ref")
        declared = schema.get("$ref") or (item and f"list[{item}]") or "NONE: anything goes out"
        print(f"{method.upper():6} {path:28} {status}  {declared.replace('#/components/schemas/', '')}")
await bookshop.state.engine.dispose()
""")
nb.md("""
## Key points
- Never return ORM objects from routes without a response model: with `response_model=None` (or
  `-> dict`) every column goes out, the password hash included, and every column added later too.
- Write **schemas per audience**: `CustomerIn` (what a client sends), `CustomerOut` (what the
  customer sees of themselves), `CustomerPublic` (what others see). `from_attributes=True` reads
  only the fields you declare: declare only what may leave.
- Declare a response model on **every** route (`-> CustomerOut`, `-> list[CustomerPublic]`, or
  `response_model=`). It validates and filters: only declared keys leave.
- A `Response` you build yourself (`JSONResponse(...)`) skips the response model entirely. Use
  `status_code=` on the decorator and return data.
- Every input model forbids unknown fields (`ConfigDict(extra="forbid")`): `is_admin`, `id` or a
  `customer_id` in a body is a `422`, not a silent success and never a **mass assignment**.
  `extra="ignore"` hides the attempt; `extra="allow"` carries it into `model_dump()`.
- Error answers are responses too: a `422` without `input`, a `409` with a fixed text that repeats
  neither the request nor the other account.
- Test for leaks the way an attacker would look: exercise every route, then scan every answer
  (bodies and headers) for passwords, hashes and other customers' data.
""")
print(nb.save())
