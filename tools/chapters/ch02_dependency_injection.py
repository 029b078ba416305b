"""Chapter 02, dependency injection: an app factory, settings and session dependencies, thin routes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("02-dependency-injection", "02 · Dependency injection: one app, many databases")
nb.md("""
**Questions**
- Where should a route get its database session and its settings from?
- How does a test point an app at its own database without touching the app's code?
- Why is `app.dependency_overrides[SessionDep] = ...` silently ignored?
- What happens to an exception raised in a route that uses a `yield` dependency?

**Objectives**
- Write `Settings` (pydantic-settings) and a `get_settings` dependency that reads the settings of
  the app handling the request.
- Write a `yield` dependency `get_session` that opens one session per request, closes it, and lets
  errors through.
- Name dependencies once with `Annotated` aliases (`SettingsDep`, `SessionDep`).
- Keep business rules in service functions and routes thin.
- Build the app in a factory, `create_app(settings)`, so that two apps share nothing.
- Point an app at another database with `app.dependency_overrides`, keyed on the right object.

This chapter continues the bookshop API. Its first cells carry the reference code of chapter 01
(engine, sessions, models), so you can start here even if chapter 01 is not finished. Each exercise
states its **contract**; the checks hold you to exactly that.
""")
nb.provided(
    "setup",
    """
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grader.notebook import check
""",
)
nb.md("""
## Provided: the reference code of chapter 01

An engine whose SQLite connections enforce foreign keys, a session factory that keeps objects
readable after commit, and the `Author`/`Book` models with `lazy="raise"` relationships. Run it;
you do not need to change it.
""")
nb.provided(
    "chapter-01",
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


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table of Base.metadata that does not exist yet."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
''',
)
nb.md("""
## Provided: request and response schemas

What clients send (`...In`) and what they get back (`...Out`). `from_attributes=True` lets a schema
read a model object: `AuthorOut.model_validate(author)`. Chapter 07 is about schemas; here they are
given.
""")
nb.provided(
    "schemas",
    """
class AuthorIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class BookIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0)
    stock: int = Field(default=0, ge=0)
    author_id: int


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    price_cents: int
    stock: int
    author_id: int
""",
)
nb.md("""
## Worked example: a dependency, an alias, an override

A *dependency* is a function FastAPI calls for you, once per request, before your route runs; the
route declares what it needs and receives the result. `Annotated[str, Depends(get_greeting)]` says
"a `str`, produced by `get_greeting`". Giving that type a name, an **alias**, saves repeating it on
every route.
""")
nb.code("""
def get_greeting() -> str:
    return "Hello"


GreetingDep = Annotated[str, Depends(get_greeting)]

demo = FastAPI()


@demo.get("/hello/{name}")
async def hello(name: str, greeting: GreetingDep) -> dict[str, str]:
    return {"message": f"{greeting}, {name}!"}


async def ask(app: FastAPI, url: str) -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(url)
        return response.status_code, response.json() if response.status_code < 500 else {}


await ask(demo, "/hello/Ada")
""")
nb.md("""
Tests replace a dependency with `app.dependency_overrides[original] = replacement`: FastAPI then
calls `replacement` wherever a route depends on `original`. The dictionary is looked up **by the
original function object**.

### Predict, then run

The next cell overrides twice: first keyed on the alias `GreetingDep`, then on the function
`get_greeting`. What does each `print` show: `Hello, Ada!` or `Hi, Ada!`? Decide before you run it.
""")
nb.code("""
demo.dependency_overrides[GreetingDep] = lambda: "Hi"
print(await ask(demo, "/hello/Ada"))

demo.dependency_overrides[get_greeting] = lambda: "Hi"
print(await ask(demo, "/hello/Ada"))

demo.dependency_overrides.clear()
""")
nb.md("""
The first override changes nothing, and nothing warns you: `GreetingDep` is a type, not the
dependency; FastAPI looks for the function `get_greeting` in the dictionary. The same silent miss
happens when you key on a *copy* of the function, for example after re-running the cell that
defines it: the routes still hold the old function object.

### A `yield` dependency: setup, the route, teardown

A dependency that `yield`s runs its code up to `yield` before the route, hands the yielded value to
the route, and runs the rest after the route finished. If the route raises, the exception is thrown
into the dependency *at the `yield`*. Predict the order of the printed lines and the status code.
""")
nb.code("""
async def get_resource() -> AsyncIterator[str]:
    print("setup")
    try:
        yield "a resource"
    finally:
        print("teardown")


@demo.get("/missing")
async def missing(resource: Annotated[str, Depends(get_resource)]) -> dict:
    print("route")
    raise HTTPException(status_code=404, detail="nothing here")


await ask(demo, "/missing")
""")
nb.md("""
`setup`, `route`, `teardown`, then `404`. `finally` cleans up and lets the exception continue, so
FastAPI still turns the `HTTPException` into a 404. An `except Exception:` around the `yield` that
does not `raise` again **swallows** the error: FastAPI then has no response to send and the client
gets a 500 instead of your 404, whatever the route meant.

## The plan for the bookshop

```
request ──> route (thin) ──> service (business rules) ──> AsyncSession ──> database
               ▲                                               ▲
          SettingsDep                                      SessionDep
               └──── read from request.app.state, filled by create_app(settings)
```

- `create_app(settings)` builds **one** engine and session factory for **one** app and keeps them on
  `app.state`. Nothing lives at module level, so two apps (a test's and yours) never share a database.
- `get_settings` and `get_session` read `request.app.state`: each request gets what *its* app was
  built with, and a test can still replace either one with `dependency_overrides`.
- Routes translate HTTP to function calls and back; services hold the rules.

## Exercise 1 (fill in the blanks): settings and `get_settings`

**Contract**
- `Settings(BaseSettings)` with `env_prefix="BOOKSHOP_"` (given) and two fields:
  `database_url: str`, default `"sqlite+aiosqlite:///bookshop.sqlite"`, and
  `page_size: int`, default `20`, at least 1 and at most 100.
  So `BOOKSHOP_PAGE_SIZE=5` in the environment gives `Settings().page_size == 5`.
- `get_settings(request: Request) -> Settings` returns `request.app.state.settings`, the settings of
  the app that handles the request (`create_app` will put them there in exercise 5).
- `SettingsDep` is `Annotated[Settings, Depends(get_settings)]`.
""")
nb.solution(
    "ex1-solution",
    '''
class Settings(BaseSettings):
    """The bookshop's configuration: these defaults, or BOOKSHOP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    ### BEGIN SOLUTION
    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)
    ### END SOLUTION


def get_settings(request: Request) -> Settings:
    """The settings of the app that is handling this request."""
    ### BEGIN SOLUTION
    return request.app.state.settings
    ### END SOLUTION


### BEGIN SOLUTION
SettingsDep = Annotated[Settings, Depends(get_settings)]
### END SOLUTION
''',
)
nb.check("ex1", 4)
nb.md("""
<details><summary>Hint</summary>

`page_size: int = Field(default=20, ge=1, le=100)` declares a default and bounds at once. A route
or dependency can ask for the `Request` by declaring a parameter of that type; `request.app` is the
app handling it. Do **not** write `settings = Settings()` at module level and return that: it is
read once, at import time, and ignores the settings each app was built with.
</details>

## Exercise 2 (fill in the blanks): `get_session`, a `yield` dependency

**Contract**
- `async def get_session(request: Request) -> AsyncIterator[AsyncSession]` opens a session from
  `request.app.state.sessionmaker`, yields it to the route, and closes it when the request is over,
  also when the route raised. It never swallows an exception: an `HTTPException(404)` raised in the
  route still answers 404, and your own exception handlers still see their exceptions.
- `SessionDep` is `Annotated[AsyncSession, Depends(get_session)]`.
""")
nb.solution(
    "ex2-solution",
    '''
async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, from the session factory of the app handling it."""
    ### BEGIN SOLUTION
    async with request.app.state.sessionmaker() as session:
        yield session
    ### END SOLUTION


### BEGIN SOLUTION
SessionDep = Annotated[AsyncSession, Depends(get_session)]
### END SOLUTION
''',
)
nb.check("ex2", 5)
nb.md("""
<details><summary>Hint</summary>

`async with sessionmaker() as session: yield session` is the whole body: leaving the `async with`
closes the session (rolling back anything not committed) whether the route succeeded or raised,
and re-raises the route's exception. If you write `try`/`except` around the `yield`, end the
`except` block with `raise`.
</details>

## Exercise 3: services hold the business rules

A service function receives a session and plain values, applies the rules, and returns model
objects. It knows nothing about HTTP: it raises *domain* exceptions, and the route decides which
status code they become. That keeps the rules testable without an app, and reusable from a CLI or
a background job.

**Contract** (the exceptions are given)
- `async def create_author(session, name: str) -> Author` adds the author, commits, returns it.
- `async def get_author(session, author_id: int) -> Author` returns the author, or raises
  `AuthorNotFound`.
- `async def create_book(session, *, title: str, price_cents: int, stock: int, author_id: int) -> Book`
  raises `AuthorNotFound` when there is no such author and `DuplicateBook` when this author already
  has a book with exactly this title (another author may use the same title); otherwise adds the
  book, commits and returns it. Nothing is written when it raises.
- `async def list_books(session, *, limit: int) -> list[Book]` returns at most `limit` books,
  ordered by id.
""")
nb.solution(
    "ex3-solution",
    '''
class AuthorNotFound(Exception):
    """No author has this id."""


class DuplicateBook(Exception):
    """This author already has a book with this title."""


async def create_author(session: AsyncSession, name: str) -> Author:
    ### BEGIN SOLUTION
    author = Author(name=name)
    session.add(author)
    await session.commit()
    return author
    ### END SOLUTION


async def get_author(session: AsyncSession, author_id: int) -> Author:
    ### BEGIN SOLUTION
    author = await session.get(Author, author_id)
    if author is None:
        raise AuthorNotFound(author_id)
    return author
    ### END SOLUTION


async def create_book(session: AsyncSession, *, title: str, price_cents: int, stock: int, author_id: int) -> Book:
    ### BEGIN SOLUTION
    await get_author(session, author_id)
    same_title = select(Book.id).where(Book.author_id == author_id, Book.title == title)
    if await session.scalar(same_title) is not None:
        raise DuplicateBook(title)
    book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)
    session.add(book)
    await session.commit()
    return book
    ### END SOLUTION


async def list_books(session: AsyncSession, *, limit: int) -> list[Book]:
    ### BEGIN SOLUTION
    books = await session.scalars(select(Book).order_by(Book.id).limit(limit))
    return list(books)
    ### END SOLUTION
''',
)
nb.check("ex3", 6)
nb.md("""
<details><summary>Hint</summary>

`await session.get(Author, author_id)` returns `None` for an unknown id. For the duplicate rule,
`await session.scalar(select(Book.id).where(Book.author_id == ..., Book.title == ...))` is `None`
when there is no such book. Check both rules *before* `session.add`, so nothing is written when
one fails. Raise `AuthorNotFound`, not `HTTPException`: the service does not speak HTTP.
</details>

## Exercise 4: thin routes

**Contract**: a module-level `router = APIRouter()` with four routes. Each takes its session from
`SessionDep` (and its settings from `SettingsDep`), calls one service and converts the result:
- `POST /authors` with an `AuthorIn` body: `201` and the `AuthorOut`.
- `GET /authors/{author_id}`: `200` and the `AuthorOut`; `404` if `AuthorNotFound`.
- `POST /books` with a `BookIn` body: `201` and the `BookOut`; `404` if `AuthorNotFound`,
  `409` if `DuplicateBook`.
- `GET /books`: `200` and a list of `BookOut`, at most `settings.page_size` books, ordered by id.

No route opens a session, creates an engine or reads `Settings()` itself: everything comes in
through the dependencies, which is what lets a test (or `create_app`) decide the database.
The first route is written for you.
""")
nb.solution(
    "ex4-solution",
    """
router = APIRouter()


@router.post("/authors", status_code=201)
async def post_author(body: AuthorIn, session: SessionDep) -> AuthorOut:
    author = await create_author(session, body.name)
    return AuthorOut.model_validate(author)


### BEGIN SOLUTION
@router.get("/authors/{author_id}")
async def read_author(author_id: int, session: SessionDep) -> AuthorOut:
    try:
        author = await get_author(session, author_id)
    except AuthorNotFound:
        raise HTTPException(status_code=404, detail=f"author {author_id} not found") from None
    return AuthorOut.model_validate(author)


@router.post("/books", status_code=201)
async def post_book(body: BookIn, session: SessionDep) -> BookOut:
    try:
        book = await create_book(session, **body.model_dump())
    except AuthorNotFound:
        raise HTTPException(status_code=404, detail=f"author {body.author_id} not found") from None
    except DuplicateBook:
        raise HTTPException(status_code=409, detail="this author already has a book with this title") from None
    return BookOut.model_validate(book)


@router.get("/books")
async def read_books(session: SessionDep, settings: SettingsDep) -> list[BookOut]:
    books = await list_books(session, limit=settings.page_size)
    return [BookOut.model_validate(book) for book in books]
### END SOLUTION
""",
)
nb.check("ex4", 7)
nb.md("""
<details><summary>Hint</summary>

Catch the domain exception around the service call and raise
`HTTPException(status_code=404, detail=...)` from it. `BookIn`'s fields have the same names as
`create_book`'s keyword arguments, so `create_book(session, **body.model_dump())` works. For the
page size, add a `settings: SettingsDep` parameter and pass `limit=settings.page_size`; a value read
when the cell runs (`Settings().page_size`) ignores the app's settings.
</details>

## Exercise 5 (write it yourself): the app factory

**Contract**: `create_app(settings: Settings) -> FastAPI` returns a **new** app on every call, which
- builds its own engine with `make_engine(settings.database_url)` and its own session factory with
  `make_sessionmaker(engine)`;
- stores them as `app.state.settings`, `app.state.engine` and `app.state.sessionmaker`;
- includes `router`;
- has a lifespan that disposes the engine when the app shuts down (`await engine.dispose()`).

No module-level engine, session factory, settings or app: two apps built with different settings
must never see each other's data, settings or overrides.
""")
nb.solution(
    "ex5-solution",
    """
### BEGIN SOLUTION
def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.include_router(router)
    return app
### END SOLUTION
""",
)
nb.check("ex5", 6)
nb.md("""
<details><summary>Hint</summary>

Create everything *inside* `create_app`, including `app = FastAPI(...)`. A lifespan is an
`@asynccontextmanager` function taking the app: code before its `yield` runs at start-up, code after
it at shutdown; pass it as `FastAPI(lifespan=...)`. Building the engine does not connect yet, so
`create_app` stays cheap.
</details>

## Exercise 6 (write it yourself): point an app at a test database

This is what every test of a FastAPI app does: keep the app as it is and replace the one
dependency that decides the database.

**Contract**: `use_database(app: FastAPI, database_url: str) -> None` makes every route of `app`
that depends on `get_session` use sessions on `database_url` instead, by adding an entry to
`app.dependency_overrides`. It changes nothing else: not `app.state`, not other apps.
""")
nb.solution(
    "ex6-solution",
    """
### BEGIN SOLUTION
def use_database(app: FastAPI, database_url: str) -> None:
    sessionmaker = make_sessionmaker(make_engine(database_url))

    async def get_test_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    app.dependency_overrides[get_session] = get_test_session
### END SOLUTION
""",
)
nb.check("ex6", 2)
nb.md("""
<details><summary>Hint</summary>

The override is an async generator function like `get_session`, built around a session factory for
`database_url`. Key it on `get_session` itself: not on `SessionDep` (an alias, which FastAPI never
looks up) and not on a function you define again under the same name (the routes still hold the
original).
</details>

## Try it: the whole app on a scratch database

Build an app on a temporary file, create its tables, and call it. Change `page_size` and watch
`GET /books` follow.
""")
nb.code("""
scratch = Path(tempfile.mkdtemp(prefix="bookshop-"))
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{scratch / 'bookshop.sqlite'}", page_size=2))
await create_schema(bookshop.state.engine)

transport = httpx.ASGITransport(app=bookshop)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    author = (await client.post("/authors", json={"name": "Ursula K. Le Guin"})).json()
    for title in ("A Wizard of Earthsea", "The Left Hand of Darkness", "The Dispossessed"):
        await client.post("/books", json={"title": title, "price_cents": 1299, "author_id": author["id"]})
    again = {"title": "The Dispossessed", "price_cents": 1, "author_id": author["id"]}
    print((await client.post("/books", json=again)).status_code)
    print((await client.get("/authors/999")).status_code)
    print([book["title"] for book in (await client.get("/books")).json()])
await bookshop.state.engine.dispose()
""")
nb.md("""
## Key points
- A dependency is a function FastAPI calls per request; `Annotated[T, Depends(f)]` names it once,
  and routes declare what they need instead of building it.
- `app.dependency_overrides` is keyed by the **original function**: an `Annotated` alias or a
  re-defined copy as the key is silently ignored.
- A `yield` dependency cleans up after the route; `async with` (or `try`/`finally`) keeps cleanup
  and lets exceptions through. An `except` without `raise` turns your 404 into a 500.
- `create_app(settings)` builds everything per app and keeps it on `app.state`; dependencies read
  `request.app.state`. No module-level engine, session or settings, so apps and tests never share
  state.
- Routes are thin: parse, call a service, translate domain errors into status codes. Services hold
  the rules and raise domain exceptions, not `HTTPException`.
""")
print(nb.save())
