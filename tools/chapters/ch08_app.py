"""Chapter 08's reference bookshop: the provided cells of the notebook, one string per cell.

``ch08_testing.py`` puts them into the notebook and writes their concatenation to
``solutions/08-testing/checks/reference_app.py``, the source the checks run the learner's tests
against and seed their bugs into (each mutant is a text replacement in it).
"""

IMPORTS = """
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload
from starlette.exceptions import HTTPException as StarletteHTTPException
"""

DATA = '''
class Settings(BaseSettings):
    """The bookshop's configuration: these defaults, or BOOKSHOP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)
    jwt_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)), min_length=32)
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 15


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
'''

SECURITY = '''
class Clock:
    """The time, always timezone-aware UTC. Tests override `get_clock` to move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def get_clock() -> Clock:
    return Clock()


password_hash = PasswordHash.recommended()  # argon2id, about a tenth of a second per hash


def get_password_hash() -> PasswordHash:
    """The hasher requests use. Tests override it with a cheap one: same code path, a fraction of the time."""
    return password_hash


def hash_password(password: str, hasher: PasswordHash = password_hash) -> str:
    return hasher.hash(password)


def verify_password(password: str, hashed: str, hasher: PasswordHash = password_hash) -> bool:
    return hasher.verify(password, hashed)


@cache
def dummy_hash(hasher: PasswordHash) -> str:
    """A hash to verify against when the email is unknown: the same work, so the same time."""
    return hasher.hash(secrets.token_urlsafe(16))


def create_access_token(settings: Settings, subject: str, now: datetime) -> str:
    claims = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=settings.access_token_minutes)}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)


def decode_access_token(settings: Settings, token: str, now: datetime) -> dict[str, Any]:
    """The claims of a token this app signed that has not expired at `now`; else InvalidToken."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            # PyJWT would compare exp with the computer's clock; the app's clock decides instead.
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(str(exc)) from None
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now.timestamp():
        raise InvalidToken("the token has expired")
    return claims
'''

SERVICES = '''
class BookshopError(Exception):
    """A refusal the client can do something about; the API turns each kind into a problem (RFC 9457)."""


class CustomerNotFound(BookshopError):
    pass


class BookNotFound(BookshopError):
    pass


class OrderNotFound(BookshopError):
    pass


class OutOfStock(BookshopError):
    pass


class EmailTaken(BookshopError):
    pass


class InvalidCredentials(BookshopError):
    pass


class InvalidToken(BookshopError):
    pass


class NotAllowed(BookshopError):
    pass


class UnitOfWork:
    """One business transaction: `async with uow:` ... `await uow.commit()`; nothing else is kept."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self.sessionmaker()
        return self

    async def commit(self) -> None:
        await self.session.commit()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                await self.session.rollback()
        finally:
            await self.session.close()


async def register_customer(uow: UnitOfWork, *, name: str, email: str, password: str, hasher: PasswordHash) -> Customer:
    async with uow:
        if await uow.session.scalar(select(Customer.id).where(Customer.email == email)) is not None:
            raise EmailTaken(f"{email} already has an account")
        customer = Customer(name=name, email=email, hashed_password=hash_password(password, hasher))
        uow.session.add(customer)
        await uow.commit()
        return customer


async def authenticate(uow: UnitOfWork, *, email: str, password: str, hasher: PasswordHash) -> Customer:
    """The customer with this email and password; else InvalidCredentials, the same for both mistakes."""
    async with uow:
        customer = await uow.session.scalar(select(Customer).where(Customer.email == email))
    if customer is None:
        verify_password(password, dummy_hash(hasher), hasher)
        raise InvalidCredentials("wrong email or password")
    if not verify_password(password, customer.hashed_password, hasher):
        raise InvalidCredentials("wrong email or password")
    return customer


async def get_customer(uow: UnitOfWork, customer_id: int) -> Customer:
    async with uow:
        customer = await uow.session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(f"customer {customer_id} not found")
    return customer


async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).options(selectinload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def list_books(session: AsyncSession, *, limit: int, offset: int) -> list[Book]:
    statement = select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def get_book(session: AsyncSession, book_id: int) -> Book:
    book = await session.scalar(select(Book).options(joinedload(Book.author)).where(Book.id == book_id))
    if book is None:
        raise BookNotFound(f"book {book_id} not found")
    return book


async def place_order(uow: UnitOfWork, *, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    """Every line's copies taken and the order stored, or (on any refusal) nothing at all."""
    async with uow:
        order = Order(customer_id=customer_id, lines=[])
        uow.session.add(order)
        for book_id, quantity in lines:
            if await uow.session.get(Book, book_id) is None:
                raise BookNotFound(f"book {book_id} not found")
            taken = await uow.session.execute(
                update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)
            )
            if taken.rowcount != 1:
                raise OutOfStock(f"fewer than {quantity} copies of book {book_id} in stock")
            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
        await uow.commit()
        return order


async def list_orders(session: AsyncSession, *, customer_id: int) -> list[Order]:
    statement = select(Order).options(selectinload(Order.lines)).where(Order.customer_id == customer_id)
    return list(await session.scalars(statement.order_by(Order.id)))


async def get_order(session: AsyncSession, *, customer_id: int, order_id: int) -> Order:
    """The customer's own order; another customer's is OrderNotFound too, so ids reveal nothing."""
    statement = select(Order).options(selectinload(Order.lines)).where(Order.id == order_id)
    order = await session.scalar(statement.where(Order.customer_id == customer_id))
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    return order
'''

API = '''
class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", max_length=320)
    password: str = Field(min_length=8, max_length=200)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


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


# -- errors: RFC 9457 problem details, from one place ----------------------------------------------

STATUS_OF = {
    CustomerNotFound: 404,
    BookNotFound: 404,
    OrderNotFound: 404,
    OutOfStock: 409,
    EmailTaken: 409,
    InvalidCredentials: 401,
    InvalidToken: 401,
    NotAllowed: 403,
}


def problem(status: int, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, **extra}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


async def bookshop_error(request: Request, exc: BookshopError) -> JSONResponse:
    status = STATUS_OF[type(exc)]
    return problem(status, str(exc), {"WWW-Authenticate": "Bearer"} if status == 401 else None)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, str(exc.detail), exc.headers)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Not FastAPI's default body: it echoes the `input`, a submitted password included.
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return problem(422, "the request is not valid", errors=errors)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Nothing about the exception leaves the server: its class and message stay in the logs.
    return problem(500)


# -- dependencies -----------------------------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, for read-only routes."""
    async with request.app.state.sessionmaker() as session:
        yield session


def get_uow(request: Request) -> UnitOfWork:
    """A new, not yet entered unit of work; the service enters it and commits."""
    return UnitOfWork(request.app.state.sessionmaker)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
ClockDep = Annotated[Clock, Depends(get_clock)]
HasherDep = Annotated[PasswordHash, Depends(get_password_hash)]
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


async def get_current_customer(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep, clock: ClockDep, uow: UowDep
) -> Customer:
    claims = decode_access_token(settings, token, clock.now())
    if not claims["sub"].isdigit():
        raise InvalidToken("the token names no customer")
    try:
        return await get_customer(uow, int(claims["sub"]))
    except CustomerNotFound:
        raise InvalidToken("the token's customer does not exist") from None


CurrentCustomer = Annotated[Customer, Depends(get_current_customer)]


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

# -- routes -----------------------------------------------------------------------------------------

router = APIRouter()


@router.post("/customers", status_code=201)
async def register(body: CustomerIn, uow: UowDep, hasher: HasherDep) -> CustomerOut:
    customer = await register_customer(uow, name=body.name, email=body.email, password=body.password, hasher=hasher)
    return CustomerOut.model_validate(customer)


@router.post("/auth/token")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    uow: UowDep,
    hasher: HasherDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Token:
    customer = await authenticate(uow, email=form.username, password=form.password, hasher=hasher)
    return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))


@router.get("/customers/me")
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


@router.get("/authors")
async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await list_authors(session, limit=page.limit, offset=page.offset)
    return [AuthorWithBooks.model_validate(author) for author in authors]


@router.get("/books")
async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:
    books = await list_books(session, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]


@router.get("/books/{book_id}")
async def read_book(book_id: int, session: SessionDep) -> BookWithAuthor:
    return BookWithAuthor.model_validate(await get_book(session, book_id))


@router.post("/orders", status_code=201)
async def create_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    return OrderOut.model_validate(await place_order(uow, customer_id=customer.id, lines=lines))


@router.get("/orders")
async def read_orders(customer: CurrentCustomer, session: SessionDep) -> list[OrderOut]:
    return [OrderOut.model_validate(order) for order in await list_orders(session, customer_id=customer.id)]


@router.get("/orders/{order_id}")
async def read_order(order_id: int, customer: CurrentCustomer, session: SessionDep) -> OrderOut:
    return OrderOut.model_validate(await get_order(session, customer_id=customer.id, order_id=order_id))


def create_app(settings: Settings) -> FastAPI:
    """One app, with its own engine and session factory on app.state."""
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.add_exception_handler(BookshopError, bookshop_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
    app.include_router(router)
    return app
'''

CELLS = {"app-imports": IMPORTS, "app-data": DATA, "app-security": SECURITY, "app-services": SERVICES, "app-api": API}


def reference_source() -> str:
    """The provided cells as one module, as the checks run it."""
    header = (
        "# The reference bookshop of chapter 08: the notebook's provided app cells, in order.\n"
        "# Generated by tools/chapters/ch08_testing.py; the checks run your tests against this code.\n"
    )
    return header + "\n\n".join(source.strip() + "\n" for source in CELLS.values())


# The fixtures the learners' tests use: a provided cell after the app, not part of the reference source
# (the checks swap the app under these fixtures; the fixtures stay).
TESTKIT = '''
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func

from grader.checks.suite import run_my_tests
from grader.notebook import check

# Argon2 with the smallest work factors: the same code path at a thousandth of the cost. Tests only.
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
TEST_SECRET = "a-signing-key-for-the-tests-only-" + "0" * 16


def bearer(token: str) -> dict[str, str]:
    """The header that carries an access token: `client.get(url, headers=bearer(token))`."""
    return {"Authorization": f"Bearer {token}"}


class FrozenClock(Clock):
    """A clock that stands still until a test moves it: `clock.advance(minutes=15)`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class Shop:
    """Test data written straight into the app's database: no HTTP, no password hashing cost."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def add_customer(
        self, name: str = "Ada Lovelace", email: str = "ada@example.com", password: str = "correct horse battery"
    ) -> Customer:
        async with self.sessionmaker() as session:
            customer = Customer(name=name, email=email, hashed_password=hash_password(password, FAST_HASHER))
            session.add(customer)
            await session.commit()
            return customer

    async def add_book(
        self, title: str = "Kindred", *, stock: int = 5, price_cents: int = 999, author: str = "Octavia E. Butler"
    ) -> Book:
        """A book by `author` (an existing author of that name, else a new one)."""
        async with self.sessionmaker() as session:
            author_id = await session.scalar(select(Author.id).where(Author.name == author))
            if author_id is None:
                writer = Author(name=author)
                session.add(writer)
                await session.flush()
                author_id = writer.id
            book = Book(title=title, stock=stock, price_cents=price_cents, author_id=author_id)
            session.add(book)
            await session.commit()
            return book

    async def add_authors(self, count: int, books_each: int = 2) -> None:
        """`count` new authors with `books_each` books each."""
        async with self.sessionmaker() as session:
            for number in range(count):
                books = [Book(title=f"Book {k}", price_cents=500, stock=3) for k in range(books_each)]
                session.add(Author(name=f"Author {number}", books=books))
            await session.commit()

    async def stock(self, book_id: int) -> int | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(Book.stock).where(Book.id == book_id))

    async def count(self, model: type[Base]) -> int:
        """How many rows the table of `model` holds: `await shop.count(Order)`."""
        async with self.sessionmaker() as session:
            return await session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bookshop.sqlite'}"


@pytest.fixture
async def app(database_url: str, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    """The bookshop on a fresh database, its clock and password hasher replaced for tests."""
    application = create_app(Settings(database_url=database_url, jwt_secret=TEST_SECRET))

    @event.listens_for(application.state.engine.sync_engine, "connect")
    def no_waiting_for_the_disk(dbapi_connection, connection_record):
        # A test database need not survive a power cut: ten times faster without the disk syncs.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()

    application.dependency_overrides[get_clock] = lambda: clock
    application.dependency_overrides[get_password_hash] = lambda: FAST_HASHER
    await create_schema(application.state.engine)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP straight into the app, no server. A crash is a 500 response, as a real server answers."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL of every statement the app sends from now on; `statements.clear()` starts over."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    yield sent
    event.remove(app.state.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def shop(app: FastAPI) -> Shop:
    return Shop(app.state.sessionmaker)


@pytest.fixture
def token_for(app: FastAPI, clock: FrozenClock) -> Callable[[Customer], str]:
    """`token_for(customer)`: an access token for that customer, issued now by the test clock."""

    def token(customer: Customer) -> str:
        return create_access_token(app.state.settings, str(customer.id), clock.now())

    return token
'''
