"""Chapter 05, JWT authentication: argon2 hashes, pinned-algorithm tokens, a current-customer dependency."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("05-jwt-auth", "05 · JWT authentication: who is asking, and may they?")
nb.md("""
**Questions**
- A database of customers leaks. What must the `hashed_password` column hold so that the leak does
  not hand out the passwords too?
- A JSON Web Token is three pieces of base64 separated by dots. Who can read it, and who can
  write one that your API believes?
- Why is the `alg` field of a token's header the last thing to trust?
- PyJWT decodes a token that has no expiry time. Should it?
- A login form answers differently for "no such email" and "wrong password". What does an attacker
  learn from that, and from how long each answer takes?
- Customer 1 asks for `GET /orders/7`, which belongs to customer 2. `403` or `404`?

**Objectives**
- Store passwords as **argon2id** hashes with `pwdlib` and verify them; never store or compare the
  password itself.
- Refuse a signing key that is too short or printed in a tutorial, in the settings.
- Create and decode access tokens with PyJWT the way RFC 8725 asks: one **pinned** algorithm,
  required `exp` and `sub`, times compared with the app's clock.
- Log customers in with the OAuth2 password flow (`POST /auth/token`) and answer an unknown email
  exactly like a wrong password: same status, same body, same work.
- Write the `get_current_customer` dependency: every bad token is a `401` with
  `WWW-Authenticate: Bearer`, and customers see only their own orders.

This chapter continues the bookshop API. Its first cells carry the reference code of chapters 01 to
04 (engine, sessions, models, repositories, the unit of work, the order service, the catalogue), now
with customers who have an email and a password hash, so you can start here even if chapter 04 is
not finished. Each exercise states its **contract**; the checks hold you to exactly that. The checks
never wait for a token to expire: they move the app's clock instead.
""")
nb.provided(
    "setup",
    """
import base64
import hashlib
import hmac
import json
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
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
## Provided: the reference code of chapters 01 to 04

Engine and sessions (foreign keys on, objects readable after commit) and the models. New in the
models: a `Customer` has a unique `email`, a `hashed_password` and an `is_admin` flag (`False`
unless set). Every relationship stays `lazy="raise"`.
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
## Provided: schemas and domain exceptions

What clients send and get back, and the exceptions services raise. New here: `CustomerIn` (a
registration), `CustomerOut` (what anyone may see of a customer: never the hash), `Token` (a login's
answer), and the exceptions of this chapter: `EmailTaken`, `InvalidCredentials`, `InvalidToken`.
`NotAllowed` is for later chapters (an action the caller may not take). An order no longer names
its customer in the body: the customer is whoever the token says.
""")
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
nb.md("""
## Provided: repositories, the unit of work and the services of chapters 03 and 04

The unit of work of chapter 03 with one more repository method or two (customers by email, a
customer's orders), the all-or-nothing `place_order`, and the catalogue services of chapter 04.
Read `OrderRepository.get`: it finds an order **by id only**, whoever it belongs to. Exercise 6
decides what a customer may see.
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
## Passwords: store a slow, salted hash

A password hash is a one-way function: from the stored value nobody can compute the password, but
anyone can hash a guess and compare. So the hash must be **slow** (every guess costs an attacker
real time and memory) and **salted** (a random value mixed into each hash, so that two customers
with the same password get different hashes and a precomputed table of common passwords is
useless). `hashlib.sha256(password)` is neither: a graphics card computes billions of them a
second. **Argon2** won the Password Hashing Competition, and its **argon2id** variant is the first
choice of OWASP and of RFC 9106: slow, salted, and each guess needs 64 MiB of memory as well, which
makes graphics cards and custom chips little faster than a server.

`pwdlib` wraps it: `PasswordHash.recommended()` hashes with argon2id and verifies a password against
a stored hash. The stored string says how it was made: algorithm, version, cost parameters, salt,
hash. Run this and compare the two hashes of the same password:
""")
nb.code("""
demo_hasher = PasswordHash.recommended()
first = demo_hasher.hash("correct horse battery staple")
second = demo_hasher.hash("correct horse battery staple")
print(first)
print(second)
print("same password, same hash?", first == second)
print("verify right:", demo_hasher.verify("correct horse battery staple", first))
print("verify wrong:", demo_hasher.verify("Tr0ub4dor&3", first))
print("sha256, for contrast:", hashlib.sha256(b"correct horse battery staple").hexdigest())
""")
nb.md("""
`$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`: 64 MiB of memory, 3 passes, 4 lanes, then the salt
and the hash, each base64. Verifying re-hashes the candidate with the stored salt and parameters
and compares in constant time. Each call takes a noticeable fraction of a second on purpose.

## Exercise 1 (fill in the blanks): hash and verify

**Contract**:
- `password_hash` is `PasswordHash.recommended()` (argon2id).
- `hash_password(password: str) -> str` returns a new argon2id hash (a string starting with
  `$argon2id$`); two calls with the same password give two different hashes.
- `verify_password(password: str, hashed: str) -> bool` is `True` exactly when `password` is the
  one `hashed` was made from.
- `DUMMY_HASH` is the hash of some random password, computed once. Exercise 4 verifies against it
  when a login names an email nobody has (why, is explained there).
""")
nb.solution(
    "ex1-solution",
    """
# pwdlib's recommended hasher (argon2id):
### BEGIN SOLUTION
password_hash = PasswordHash.recommended()
### END SOLUTION


def hash_password(password: str) -> str:
    ### BEGIN SOLUTION
    return password_hash.hash(password)
    ### END SOLUTION


def verify_password(password: str, hashed: str) -> bool:
    ### BEGIN SOLUTION
    return password_hash.verify(password, hashed)
    ### END SOLUTION


# DUMMY_HASH: the hash of a random password, computed once.
### BEGIN SOLUTION
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
### END SOLUTION
""",
)
nb.check("ex1", 3)
nb.md("""
<details><summary>Hint</summary>

`password_hash.hash(password)` and `password_hash.verify(password, hashed)` do all the work; the salt
and the parameters travel inside the stored string. Do not add your own salt or pepper to the
password, and do not compare hashes with `==`: a new hash of the same password is a different
string. `DUMMY_HASH = hash_password(secrets.token_urlsafe(16))`.
</details>

## Exercise 2 (fill in the blanks): a signing key nobody else has

An access token is signed with HMAC-SHA256 and a secret key: whoever has the key can write tokens
your API believes, for any customer. Two ways to lose that key before you ever deploy:
- **Too short.** RFC 7518 asks for a key at least as long as the hash: 256 bits, **32 bytes**, for
  HS256. A short key can be found by brute force from one token (every customer holds one).
- **Copied from a tutorial.** FastAPI's documentation prints a key
  (`09d25e09...e8d3e7`) that is 64 hex characters, long enough, and public. Projects ship with
  it, and with `"secret"` or `"changeme"`, more often than you would think; scanners try them all.

So the settings refuse both, and when no key is configured they generate a random one (tokens
then last until the process restarts, which is fine for development; production sets
`BOOKSHOP_JWT_SECRET`). The key is a `SecretStr`: printing the settings shows `**********`.

**Contract** (`Settings` is given except for the validator):
- `Settings(jwt_secret=...)` raises pydantic's `ValidationError` when the key is shorter than 32
  bytes (UTF-8) or, ignoring case and surrounding spaces, one of `TUTORIAL_KEYS`.
- Without `jwt_secret`, each `Settings()` generates its own key with `secrets.token_urlsafe(32)`.
- `jwt_algorithm` is `"HS256"` and `access_token_minutes` is `15`.
""")
nb.solution(
    "ex2-solution",
    '''
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
        # Refuse keys shorter than 32 bytes, then keys from TUTORIAL_KEYS; say why in the message.
        ### BEGIN SOLUTION
        if len(key.encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes; generate one with secrets.token_urlsafe(32)")
        if key.strip().lower() in TUTORIAL_KEYS:
            raise ValueError("jwt_secret is a key printed in a tutorial: anyone can sign tokens with it")
        ### END SOLUTION
        return value
''',
)
nb.check("ex2", 3)
nb.md("""
<details><summary>Hint</summary>

Inside the validator, `key` is the plain string. `len(key.encode())` counts bytes (an `é` is two);
`key.strip().lower() in TUTORIAL_KEYS` finds a tutorial key; `raise ValueError("...")` makes
pydantic raise a `ValidationError` that names the field. The message must not repeat the key.
</details>

## Provided: the clock, the dependencies and the app

A token's expiry is a comparison with *now*. If *now* is `datetime.now()` inside your code, testing
expiry means sleeping for fifteen minutes. So *now* comes from a dependency, `get_clock`, which
returns a `Clock`; tests override it with a clock they can move. `create_app` includes the
catalogue of chapter 04 and your `router` (exercise 6).
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


def create_app(settings: Settings) -> FastAPI:
    """One app, with its own engine and session factory on app.state, the catalogue and `router`."""
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.include_router(catalogue)
    app.include_router(router)  # the router of exercise 6
    return app
''',
)
nb.md("""
## Worked example: a JWT, taken apart by hand

A JSON Web Token (RFC 7519) is `header.payload.signature`, each part base64url-encoded (the URL-safe
alphabet, `=` padding dropped). The header names the signing algorithm; the payload holds the
**claims**: `sub` (subject: whom the token is about), `exp` (expires at, in seconds since 1970),
`iat` (issued at), `nbf` (not before). Anyone can read them: a JWT is **signed, not encrypted**.
""")
nb.code("""
def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


demo_key = secrets.token_urlsafe(32)
issued = datetime.now(UTC)
demo_claims = {"sub": "42", "iat": issued, "exp": issued + timedelta(minutes=15)}
demo_token = jwt.encode(demo_claims, demo_key, algorithm="HS256")
header, payload, signature = demo_token.split(".")
print(demo_token)
print("header: ", json.loads(b64url_decode(header)))
print("payload:", json.loads(b64url_decode(payload)))

# The signature is HMAC-SHA256 over "header.payload" with the key: only the key's holder can compute it.
expected = hmac.new(demo_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
print("signature checks out:", hmac.compare_digest(b64url_encode(expected), signature))
""")
nb.md("""
Now the attack. The header says which algorithm checks the signature, and the JWT standards define
one called `none` (RFC 7518, an "unsecured JWT"): no signature at all. A verifier that **believes
the header** lets anyone in. Below, a hand-written verifier that does just that, and a token forged
without any key: customer 1, valid for a year.
""")
nb.code("""
def naive_verify(token: str, key: str) -> dict:
    header, payload, signature = token.split(".")
    algorithm = json.loads(b64url_decode(header))["alg"]  # the token chooses how it is checked!
    if algorithm == "HS256":
        expected = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(b64url_encode(expected), signature):
            raise ValueError("bad signature")
    elif algorithm != "none":
        raise ValueError(f"unknown algorithm {algorithm}")
    return json.loads(b64url_decode(payload))


forged_header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
forged_payload = b64url_encode(json.dumps({"sub": "1", "exp": int(issued.timestamp()) + 365 * 86400}).encode())
forged = f"{forged_header}.{forged_payload}."
print("naive verifier:", naive_verify(forged, demo_key))
try:
    jwt.decode(forged, demo_key, algorithms=["HS256"])
except jwt.InvalidTokenError as exc:
    print("PyJWT, algorithm pinned to HS256:", type(exc).__name__, "-", exc)
""")
nb.md("""
The fix is RFC 8725's first rule: **the verifier decides the algorithm**, never the token. PyJWT
makes you pass `algorithms=[...]`; pass exactly the one you sign with, from your settings. Never
`jwt.get_unverified_header(token)["alg"]`, and never a list of every algorithm PyJWT knows: with
several, a token can pick the weakest (and with public-key algorithms, mixing them up lets an
attacker sign with your public key).

### Predict, then run

PyJWT checks the signature and, **if the token has one**, the `exp` claim. Below, a correctly
signed token without `exp`. Does `jwt.decode` accept it? Decide, then run.
""")
nb.code("""
forever = jwt.encode({"sub": "42"}, demo_key, algorithm="HS256")
try:
    print("accepted:", jwt.decode(forever, demo_key, algorithms=["HS256"]))
except jwt.InvalidTokenError as exc:
    print("refused:", exc)

try:
    jwt.decode(forever, demo_key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
except jwt.InvalidTokenError as exc:
    print("with require:", type(exc).__name__, "-", exc)
""")
nb.md("""
Accepted: a token without `exp` is valid **forever**, and a leaked one can never be taken back.
PyJWT treats `exp` as optional because RFC 7519 does; your API must not. `options={"require":
["exp", "sub"]}` refuses a token that lacks either.

One more thing PyJWT cannot do for us: it compares `exp` and `nbf` with the computer's clock, and
ours comes from `get_clock`. So `decode_access_token` lets PyJWT check the signature, the algorithm
and that the claims are present, and compares the times with `now` itself:
`options={"require": ["exp", "sub"], "verify_exp": False, "verify_nbf": False, "verify_iat": False}`.

## Exercise 3 (guided): create and decode access tokens

**Contract**:
- `create_access_token(settings, subject: str, now: datetime) -> str` signs, with
  `settings.jwt_secret` and `settings.jwt_algorithm`, the claims `sub=subject`, `iat=now` and
  `exp=now + settings.access_token_minutes` minutes.
- `decode_access_token(settings, token: str, now: datetime) -> dict` returns the claims of a token
  this app could have issued and raises `InvalidToken` (the domain exception, never one of PyJWT's,
  never anything else) for every other token, which includes:
  - a signature that does not match (a changed payload, another key, `alg: none`);
  - an algorithm other than `settings.jwt_algorithm`, even with a valid signature (`HS512`);
  - no `exp`, no `sub`, a `sub` that is not a string, an `exp` or `nbf` that is not a number;
  - `exp <= now` (expired) or `nbf > now` (not valid yet), comparing with the `now` argument.
""")
nb.solution(
    "ex3-solution",
    '''
def create_access_token(settings: Settings, subject: str, now: datetime) -> str:
    ### BEGIN SOLUTION
    claims = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=settings.access_token_minutes)}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)
    ### END SOLUTION


def _timestamp(claims: dict[str, Any], name: str) -> float:
    """A numeric date claim (seconds since 1970), or InvalidToken."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the {name} claim is not a number")
    return value


def decode_access_token(settings: Settings, token: str, now: datetime) -> dict[str, Any]:
    # 1. jwt.decode with the key, algorithms=[the one from the settings] (never from the token),
    #    and options that require exp and sub; PyJWT's errors become InvalidToken.
    # 2. Compare exp (and nbf, when present) with `now`.
    ### BEGIN SOLUTION
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
    ### END SOLUTION
''',
)
nb.check("ex3", 7)
nb.md("""
<details><summary>Hint</summary>

- PyJWT turns `datetime` values of `iat`, `exp` and `nbf` into seconds since 1970 when it encodes.
- `jwt.InvalidTokenError` is the parent of every "this token is bad" error PyJWT raises
  (`InvalidSignatureError`, `InvalidAlgorithmError`, `MissingRequiredClaimError`, `DecodeError`
  for a malformed or empty token, ...): catch it and `raise InvalidToken(str(exc)) from None`.
- `algorithms=[settings.jwt_algorithm]`: a list with one entry.
- `now.timestamp()` is a number you can compare with `claims["exp"]`; `_timestamp` (given) refuses
  a claim that is not a number instead of crashing with a `TypeError` (a 500 later).
</details>

## Exercise 4 (guided): register and log in

Two ways a login leaks which emails have accounts:
- **What it says.** "No such email" and "wrong password" are two different answers; an attacker
  tries a list of emails and keeps those that got the second one. Raise the same
  `InvalidCredentials` for both, with the same message, and the route gives the same `401`.
- **How long it takes.** Verifying an argon2 hash takes about a tenth of a second. A login that returns
  at once for an unknown email, and after a tenth of a second for a known one, answers the same
  question by its timing. So for an unknown email, verify the password against `DUMMY_HASH`
  anyway, and throw the result away.

**Contract**:
- `register_customer(uow, name: str, email: str, password: str) -> Customer` stores a new customer
  with `hash_password(password)` as `hashed_password` (never the password) and `is_admin=False`,
  commits, and returns it (with its `id`); raises `EmailTaken` if a customer has that email.
- `authenticate(uow, email: str, password: str) -> Customer` returns the customer with that email
  when `verify_password` accepts the password, and raises `InvalidCredentials` otherwise: with the
  **same message** for an unknown email and a wrong password, and after calling `verify_password`
  exactly once in both cases (for an unknown email, against `DUMMY_HASH`).
""")
nb.solution(
    "ex4-solution",
    """
async def register_customer(uow: UnitOfWork, name: str, email: str, password: str) -> Customer:
    async with uow:
        # EmailTaken if the email is in use; else add a Customer with the hash, commit, return it.
        ### BEGIN SOLUTION
        if await uow.customers.get_by_email(email) is not None:
            raise EmailTaken(email)
        customer = Customer(name=name, email=email, hashed_password=hash_password(password), is_admin=False)
        uow.customers.add(customer)
        try:
            await uow.commit()
        except IntegrityError:  # another registration with this email committed first
            raise EmailTaken(email) from None
        return customer
        ### END SOLUTION


async def authenticate(uow: UnitOfWork, email: str, password: str) -> Customer:
    async with uow:
        customer = await uow.customers.get_by_email(email)
    # One verify_password call whatever happened; the same InvalidCredentials for both failures.
    ### BEGIN SOLUTION
    hashed = customer.hashed_password if customer is not None else DUMMY_HASH
    password_ok = verify_password(password, hashed)
    if customer is None or not password_ok:
        raise InvalidCredentials("incorrect email or password")
    return customer
    ### END SOLUTION
""",
)
nb.check("ex4", 5)
nb.md("""
<details><summary>Hint</summary>

- `Customer(name=..., email=..., hashed_password=hash_password(password), is_admin=False)`, then
  `uow.customers.add(customer)` and `await uow.commit()`. Two registrations racing for one email
  both pass the `get_by_email` check; the unique constraint stops the second at commit with an
  `IntegrityError`, which is also `EmailTaken`.
- In `authenticate`, choose the hash first (`customer.hashed_password`, or `DUMMY_HASH` when
  `customer is None`), verify once, then decide. An `if customer is None: raise ...` before the
  verification is the timing leak.
</details>

## Exercise 5 (guided): who is asking

`OAuth2PasswordBearer(tokenUrl="/auth/token")` is a dependency that reads the
`Authorization: Bearer <token>` header and returns the token, and answers `401` itself when the
header is missing. It also tells the OpenAPI page where to log in (the *Authorize* button). Two
traps:
- **`Authorization: Bearer ` with nothing after it** gets through as the empty string `""`. It is
  not "no token, so a guest": it is a bad token, like any other.
- **A valid token of a customer who no longer exists** (deleted, after the token was issued) must
  not act for them: look the customer up on every request.

Every refusal is the same `401`: the status, the header `WWW-Authenticate: Bearer` (RFC 6750: it
tells the client which scheme to retry with) and one body, whatever was wrong with the token.
Telling an attacker *why* a forged token failed only helps them forge the next.

**Contract**:
- `oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")`.
- `credentials_error() -> HTTPException` returns a new `HTTPException(status_code=401,
  detail="Could not validate credentials", headers={"WWW-Authenticate": "Bearer"})`.
- `async def get_current_customer(token, settings, clock, uow) -> Customer`, a dependency (token
  from `oauth2_scheme`, then `SettingsDep`, `ClockDep`, `UowDep`): decodes the token with
  `decode_access_token(settings, token, clock.now())`, reads the customer id from `sub` and returns
  that customer. It raises `credentials_error()` for every `InvalidToken`, for a `sub` that is not a
  customer id, and when no customer has that id.
- `CurrentCustomer = Annotated[Customer, Depends(get_current_customer)]`.
""")
nb.solution(
    "ex5-solution",
    """
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


def credentials_error() -> HTTPException:
    ### BEGIN SOLUTION
    return HTTPException(
        status_code=401, detail="Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}
    )
    ### END SOLUTION


async def get_current_customer(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep, clock: ClockDep, uow: UowDep
) -> Customer:
    ### BEGIN SOLUTION
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
    ### END SOLUTION


CurrentCustomer = Annotated[Customer, Depends(get_current_customer)]
""",
)
nb.check("ex5", 14)
nb.md("""
<details><summary>Hint</summary>

- `decode_access_token` already refuses every bad token with `InvalidToken`, the empty string too
  (PyJWT: "Not enough segments"): catch it and `raise credentials_error() from None`. Do not test
  `if not token` and carry on without a customer.
- `int(claims["sub"])` raises `ValueError` for a `sub` like `"ada"`: the same 401.
- `async with uow: customer = await uow.customers.get(customer_id)`; `None` is the deleted
  customer: 401, not 404 (the token is what is wrong).
</details>

## Exercise 6 (write it yourself): the routes, and orders that stay private

Customer 1 asks for order 7, which is customer 2's. `403 Forbidden` would be honest, and would
also confirm that order 7 exists: ids are sequential, so anyone could count the shop's orders, or
find out whether a given order number is real. This API answers **`404`**, exactly as for an id
that does not exist: the caller cannot tell the two apart. (`403` is right when the resource is not
secret and the caller may see it but not change it; an order is secret.) Filter by owner in the
service, so that no route can forget it.

**Contract**:
- `async def get_order(uow, customer_id: int, order_id: int) -> Order`: the order with its lines
  when it belongs to `customer_id`; `OrderNotFound` when it does not exist **or is someone else's**.
- A module-level `router = APIRouter()` with:
  - `POST /customers` (body `CustomerIn`): `201` and the `CustomerOut`; `409` for `EmailTaken`.
  - `POST /auth/token` (an OAuth2 password form, `OAuth2PasswordRequestForm`: `username` is the
    email): `200` and `{"access_token": ..., "token_type": "bearer"}`, a token for
    `sub=str(customer.id)` made at `clock.now()`; for `InvalidCredentials` a `401` with
    `WWW-Authenticate: Bearer` and the same body for every failed login.
  - `GET /customers/me`: the caller's `CustomerOut`.
  - `POST /orders` (body `OrderIn`): places the order **for the caller**; `201` and the `OrderOut`;
    `404` for `BookNotFound`, `409` for `OutOfStock`.
  - `GET /orders`: the caller's own orders, `list[OrderOut]`.
  - `GET /orders/{order_id}`: the caller's order; `404` for another customer's order, exactly as for
    an unknown id.
  - Every route but the first two needs a valid token (`CurrentCustomer`).
""")
nb.solution(
    "ex6-solution",
    """
### BEGIN SOLUTION
async def get_order(uow: UnitOfWork, customer_id: int, order_id: int) -> Order:
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(order_id)  # someone else's order does not exist, as far as the caller knows
    return order


router = APIRouter()


@router.post("/customers", status_code=201)
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    try:
        customer = await register_customer(uow, body.name, body.email, body.password)
    except EmailTaken:
        raise HTTPException(status_code=409, detail="this email is already registered") from None
    return CustomerOut.model_validate(customer)


@router.post("/auth/token")
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


@router.get("/customers/me")
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


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
nb.check("ex6", 10)
nb.md("""
<details><summary>Hint</summary>

- `form: Annotated[OAuth2PasswordRequestForm, Depends()]` reads `username` and `password` from a
  form body (`application/x-www-form-urlencoded`), which is what OAuth2's password flow sends.
- Take the customer id from `CurrentCustomer`, never from the body or the query: an order body with
  a `customer_id` would let anyone order (or read) as anyone.
- In `get_order`: `order is None or order.customer_id != customer_id` is one case, `OrderNotFound`.
  An `if order.customer_id != customer.id: raise HTTPException(403)` in the route tells the
  caller that the order exists.
</details>

## Try it: register, log in, order, and try to cheat

The whole flow against a scratch database, then a look at what the attacks of this chapter get.
""")
nb.code("""
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{DB_DIR / 'bookshop.sqlite'}"))
await create_schema(bookshop.state.engine)
async with bookshop.state.sessionmaker() as session:
    session.add(Book(id=1, title="Kindred", price_cents=999, stock=3, author=Author(name="Octavia E. Butler")))
    await session.commit()

transport = httpx.ASGITransport(app=bookshop)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    for name in ("Ada", "Grace"):
        body = {"name": name, "email": f"{name.lower()}@example.com", "password": f"{name} has a long password"}
        print("register", name, (await client.post("/customers", json=body)).status_code)
    ada_form = {"username": "ada@example.com", "password": "Ada has a long password"}
    login = await client.post("/auth/token", data=ada_form)
    ada = {"Authorization": f"Bearer {login.json()['access_token']}"}
    print("login", login.status_code, login.json()["token_type"])
    print("me", (await client.get("/customers/me", headers=ada)).json())
    order = (await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=ada)).json()
    print("order", order)

    wrong = await client.post("/auth/token", data={"username": "ada@example.com", "password": "guess"})
    nobody = await client.post("/auth/token", data={"username": "nobody@example.com", "password": "guess"})
    print("wrong password:", wrong.status_code, wrong.json(), "| unknown email:", nobody.status_code, nobody.json())

    login = await client.post(
        "/auth/token", data={"username": "grace@example.com", "password": "Grace has a long password"}
    )
    grace = {"Authorization": f"Bearer {login.json()['access_token']}"}
    print("Grace reads Ada's order:", (await client.get(f"/orders/{order['id']}", headers=grace)).status_code)
    print("Grace's orders:", (await client.get("/orders", headers=grace)).json())

    claims = json.loads(b64url_decode(login.json()["access_token"].split(".")[1]))
    none_header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    as_ada = b64url_encode(json.dumps({**claims, "sub": "1"}).encode())
    for label, token in [("alg none", f"{none_header}.{as_ada}."), ("empty", ""), ("no token at all", None)]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = await client.get("/orders", headers=headers)
        print(f"{label:16}", response.status_code, response.headers.get("www-authenticate"), response.json())
await bookshop.state.engine.dispose()
""")
nb.md("""
## Key points
- Store **argon2id** hashes (`PasswordHash.recommended()`), never passwords, never a fast hash
  like SHA-256. The stored string carries its salt and cost; verify with `password_hash.verify`.
- The signing key comes from the settings, is at least **32 bytes**, is random
  (`secrets.token_urlsafe(32)`), and is not one that a tutorial printed. Keep it in a `SecretStr`.
- A JWT is signed, not encrypted: anyone reads the claims; only the key's holder can sign them.
- Decode with the algorithm **pinned** from your settings (`algorithms=[settings.jwt_algorithm]`),
  never taken from the token's header: that is how `alg: none` and algorithm confusion get in.
- Require `exp` and `sub` (`options={"require": ["exp", "sub"]}`): PyJWT accepts a token without
  `exp`, valid forever. Compare `exp` and `nbf` with an injectable clock so tests need no sleep.
- Every bad token is the same `401` with `WWW-Authenticate: Bearer`, the empty `Bearer ` token and
  the token of a deleted customer included. Look the customer up on every request.
- A failed login says the same thing, and does the same work, for an unknown email and a wrong
  password: verify against a dummy hash when there is no customer.
- Another customer's order is a `404`, like one that does not exist: filter by owner in the
  service, and take the owner from the token, never from the request body.
""")
print(nb.save())
