"""Chapter 04, N+1 avoidance: nested lists in a constant number of statements, and pagination."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("04-n-plus-one", "04 · N+1 avoidance: nested lists in a constant number of queries")
nb.md("""
**Questions**
- Why does a list of authors with their books get slower with every author you add?
- How many SQL statements does one request send, and how do you count them?
- What do `selectinload` and `joinedload` send to the database, and when is each the better choice?
- Why does `author.books` raise here instead of quietly loading the books?
- How do you cut a list into pages so that no row shows up twice, or never?

**Objectives**
- Count the statements a piece of code sends with a `before_cursor_execute` listener.
- Recognise the N+1 pattern: a query per row in a loop, or a lazy load per row.
- Load collections with `selectinload` and many-to-one relationships with `joinedload`; know why
  `joinedload` on a collection needs `.unique()`.
- Serve nested data through response models in a **constant** number of statements, whatever the
  number of rows.
- Paginate with a stable order, a bounded page size and correct offsets.
- Aggregate in SQL (`GROUP BY`) instead of counting rows in Python.

This chapter continues the bookshop API with its read side: the catalogue lists. Its first cells
carry the reference code of chapters 01 and 02 (models, engine, sessions, settings, dependencies,
the app factory), so you can start here even if those chapters are not finished. Each exercise
states its **contract**; the checks hold you to exactly that, including how many statements each
request may send.
""")
nb.provided(
    "setup",
    """
import tempfile
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, lazyload, mapped_column, relationship, selectinload

from grader.notebook import check

# This chapter's databases are files in a fresh temporary folder: nothing is left in your copy.
DB_DIR = Path(tempfile.mkdtemp(prefix="bookshop-"))
# After a MissingGreenlet error one of aiosqlite's coroutines is never awaited; hide that one warning.
warnings.filterwarnings("ignore", message=r"coroutine '(Connection|Cursor)\\.\\w+' was never awaited")
""",
)
nb.md("""
## Provided: the reference code of chapters 01 and 02

Engine and sessions (foreign keys on, objects readable after commit), the `Author`/`Book` models
with `lazy="raise"` relationships, the settings, the `get_settings`/`get_session` dependencies and
the app factory. `create_app` includes the `router` you write in exercise 4. Run these cells; you do
not need to change them, and the checks rely on them as they are.
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
nb.provided(
    "chapter-02",
    '''
class Settings(BaseSettings):
    """The bookshop's configuration: these defaults, or BOOKSHOP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)


def get_settings(request: Request) -> Settings:
    """The settings of the app that is handling this request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, from the session factory of the app handling it."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def create_app(settings: Settings) -> FastAPI:
    """A new app with its own engine and session factory, serving `router` (exercise 4)."""
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
''',
)
nb.md("""
## Provided: response schemas with nested data

A schema can contain other schemas: `AuthorWithBooks` is an author with a list of `BookOut`,
`BookWithAuthor` a book with its `AuthorOut`. With `from_attributes=True`,
`AuthorWithBooks.model_validate(author)` reads `author.id`, `author.name` and `author.books`, and
`author.books` must be loaded by then.
""")
nb.provided(
    "schemas",
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
    """An author and their books (GET /authors)."""

    books: list[BookOut]


class BookWithAuthor(BookOut):
    """A book and its author (GET /books)."""

    author: AuthorOut
''',
)
nb.md("""
## Provided: a statement counter and some data

SQLAlchemy fires `before_cursor_execute` on the engine's synchronous core (`engine.sync_engine`)
just before it sends each statement to the database. `count_statements(engine)` listens to it for
the length of a `with` block and collects the SQL text: the same technique the checks use to hold
your endpoints to a budget. `add_catalogue` fills a database with made-up authors and books.
""")
nb.provided(
    "tools",
    '''
@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the SQL of every statement `engine` sends inside the with-block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def add_catalogue(sessionmaker: async_sessionmaker[AsyncSession], *, authors: int, books_per_author: int) -> None:
    """Add `authors` new authors, each with `books_per_author` books."""
    async with sessionmaker() as session:
        first = await session.scalar(select(func.count()).select_from(Author)) + 1
        for number in range(first, first + authors):
            books = [
                Book(title=f"Book {k} by author {number}", price_cents=500 + 100 * k, stock=k)
                for k in range(1, books_per_author + 1)
            ]
            session.add(Author(name=f"Author {number}", books=books))
        await session.commit()
''',
)
nb.md("""
## Worked example: an N+1, counted

The page "every author with their titles" written the obvious way: one query for the authors, then
one query per author for that author's books.
""")
nb.code("""
demo_engine = make_engine(f"sqlite+aiosqlite:///{DB_DIR / 'demo.sqlite'}")
demo_sessions = make_sessionmaker(demo_engine)
await create_schema(demo_engine)
await add_catalogue(demo_sessions, authors=5, books_per_author=3)

async with demo_sessions() as session:
    with count_statements(demo_engine) as statements:
        authors = (await session.scalars(select(Author).order_by(Author.id))).all()
        shelf = {}
        for author in authors:
            titles = await session.scalars(select(Book.title).where(Book.author_id == author.id))
            shelf[author.name] = list(titles)

print(f"{len(authors)} authors, {len(statements)} statements:")
for statement in statements[:3]:
    print("  ", statement)
print("   ...")
""")
nb.md("""
**1 + N**: one statement for the list, then one more for every row in it. Each statement is a
round trip to the database (on a network database, easily a millisecond or more), and N is however
many rows the list has today. Nothing fails: the page is just a little slower with every author
added, which is why N+1s reach production. The cure is to ask for all the books at once.

### The N+1 you do not see: lazy loading

With the default `lazy="select"`, reading `author.books` runs that per-author query for you,
inside an attribute access. Synchronous code (`session.run_sync` runs some here) gets a silent
N+1. Async code cannot run a query inside an attribute access at all: it raises `MissingGreenlet`.
The models of chapter 01 use `lazy="raise"`, which refuses at once with a message naming the
relationship. `lazyload(...)` asks for default lazy loading in one query, to show all three:
""")
nb.code("""
def books_per_author_sync(sync_session) -> dict[str, int]:
    authors = sync_session.scalars(select(Author).options(lazyload(Author.books)).order_by(Author.id)).all()
    return {author.name: len(author.books) for author in authors}  # each len() runs a query


async with demo_sessions() as session:
    with count_statements(demo_engine) as statements:
        await session.run_sync(books_per_author_sync)
print("synchronous lazy loading:", len(statements), "statements")

async with demo_sessions() as session:
    authors = (await session.scalars(select(Author).options(lazyload(Author.books)))).all()
    try:
        len(authors[0].books)
    except Exception as exc:
        print("async lazy loading:", "MissingGreenlet" if "MissingGreenlet" in str(exc) else type(exc).__name__)

async with demo_sessions() as session:
    authors = (await session.scalars(select(Author))).all()
    try:
        len(authors[0].books)
    except Exception as exc:
        print('lazy="raise":', type(exc).__name__, "-", exc)
""")
nb.md("""
Keep `lazy="raise"` on the models: a forgotten load then fails in your first test, with the name
of the relationship, instead of turning into an N+1 or a `MissingGreenlet` far from its cause. Each
query says what it needs with a **loader option**.

### Loader options: `selectinload` and `joinedload`

`selectinload(Author.books)` sends a second statement that fetches the books of *all* the loaded
authors at once, with `WHERE books.author_id IN (...)`, and sorts them into each `author.books`.
""")
nb.code("""
async with demo_sessions() as session:
    with count_statements(demo_engine) as statements:
        authors = (await session.scalars(select(Author).options(selectinload(Author.books)).order_by(Author.id))).all()
    print({author.name: len(author.books) for author in authors})
print(len(statements), "statements:")
for statement in statements:
    print("  ", statement)
""")
nb.md("""
`joinedload(Book.author)` adds a `JOIN` to the same statement: each book row carries its author's
columns. For a **many-to-one** relationship (a book has one author) that is one statement and no
repeated rows: the natural choice.
""")
nb.code("""
async with demo_sessions() as session:
    with count_statements(demo_engine) as statements:
        books = (await session.scalars(select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(4))).all()
    print([(book.title, book.author.name) for book in books])
print(len(statements), "statement:", statements[0])
""")
nb.md("""
`joinedload` on a **collection** is different: the join returns one row per *book*, so each author
comes back once per book. SQLAlchemy refuses to hand you those repeats until you call `.unique()`
on the result, which keeps each author once:
""")
nb.code("""
joined = select(Author).options(joinedload(Author.books)).order_by(Author.id)
async with demo_sessions() as session:
    try:
        (await session.scalars(joined)).all()
    except Exception as exc:
        print(type(exc).__name__, "-", exc)
    authors = (await session.scalars(joined)).unique().all()
    print(len(authors), "authors with", sum(len(author.books) for author in authors), "books")
""")
nb.md("""
For collections, prefer `selectinload`: no repeated author columns in every row, and `LIMIT` counts
authors without SQLAlchemy having to wrap your query in a subquery. For many-to-one, `joinedload`.

### Predict, then run

Add 45 authors (50 in all, 3 books each) and count again. How many statements does each way send
now: the loop, `selectinload`, `joinedload` with `.unique()`? Write your three numbers down before
you run the cell.
""")
nb.code("""
async def statements_per_way(sessionmaker, engine) -> dict[str, int]:
    counts = {}
    async with sessionmaker() as session:
        with count_statements(engine) as statements:
            for author in (await session.scalars(select(Author))).all():
                list(await session.scalars(select(Book.title).where(Book.author_id == author.id)))
        counts["loop"] = len(statements)
    async with sessionmaker() as session:
        with count_statements(engine) as statements:
            (await session.scalars(select(Author).options(selectinload(Author.books)))).all()
        counts["selectinload"] = len(statements)
    async with sessionmaker() as session:
        with count_statements(engine) as statements:
            (await session.scalars(select(Author).options(joinedload(Author.books)))).unique().all()
        counts["joinedload"] = len(statements)
    return counts


await add_catalogue(demo_sessions, authors=45, books_per_author=3)
await statements_per_way(demo_sessions, demo_engine)
""")
nb.md("""
51, 2 and 1. The loop grows with the data, the loader options do not: that is the whole test for
an N+1, and it is how the checks grade you. They send the same request to your app with 5 rows
and with 200 rows in the database, count the statements each time, and require the two counts to
be **equal** and within the endpoint's **budget**.

One fine print: `selectinload` puts at most 500 keys in one `IN (...)`, so a list of 600 authors
takes 3 statements. Bounded pages (below) keep every list far from that.

## Pagination: stable pages with LIMIT and OFFSET

A list endpoint returns one **page**: `LIMIT page_size OFFSET (page - 1) * page_size`. Two rules
make pages trustworthy:

- **A total order.** Without `ORDER BY`, SQL promises no order at all, so page 2 may repeat rows of
  page 1 and skip others. Order by something unique: the primary key. SQLite happens to return rows
  in id order without `ORDER BY`, which hides the bug; `PRAGMA reverse_unordered_selects` makes it
  return them backwards, which exposes it (the checks use it):
- **Bounds.** `page` starts at 1; `page_size` is between 1 and 100. An unbounded page size lets one
  request read the whole table. FastAPI enforces bounds declared with `Query(ge=..., le=...)` and
  answers `422` when a request breaks them.
""")
nb.code("""
async with demo_engine.connect() as conn:
    await conn.exec_driver_sql("PRAGMA reverse_unordered_selects = ON")
    without_order = (await conn.scalars(select(Author.id).limit(3))).all()
    with_order = (await conn.scalars(select(Author.id).order_by(Author.id).limit(3))).all()
    await conn.exec_driver_sql("PRAGMA reverse_unordered_selects = OFF")
print("page 1 without ORDER BY:", without_order, "  with ORDER BY id:", with_order)
await demo_engine.dispose()
""")
nb.md("""
Page 1 of 3 authors is `OFFSET 0`, page 2 is `OFFSET 3`: `offset = (page - 1) * page_size`. The
classic off-by-one, `page * page_size`, silently skips the first page.

## Exercise 1 (fill in the blank): authors with their books

**Contract**: `async def list_authors(session, *, limit: int, offset: int) -> list[Author]` returns
one page of authors: ordered by id, at most `limit` of them, skipping the first `offset`. Each
author's `books` is loaded, so that reading `author.books` afterwards sends nothing (an author
without books has `[]`). It sends at most **2** statements, whatever `limit` and the number of
rows. `Author.books` keeps `lazy="raise"`.
""")
nb.solution(
    "ex1-solution",
    '''
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    """One page of authors, ordered by id, each with their books loaded."""
    # statement = select(Author).options(...).order_by(...).limit(limit).offset(offset)
    ### BEGIN SOLUTION
    statement = select(Author).options(selectinload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
    ### END SOLUTION
    return list(await session.scalars(statement))
''',
)
nb.check("ex1", 5)
nb.md("""
<details><summary>Hint</summary>

`select(Author).options(selectinload(Author.books))` loads the books in one more statement;
`.order_by(Author.id)` makes the pages stable. If you get `'Author.books' is not available due to
lazy='raise'`, the option is missing; leave the model alone. With `joinedload(Author.books)` instead,
you would also need `.unique()` on the result.
</details>

## Exercise 2 (fill in the blank): books with their author

**Contract**: `async def list_books(session, *, limit: int, offset: int) -> list[Book]` returns one
page of books, ordered by id, each with its `author` loaded. It sends exactly **one** statement,
whatever `limit` and the number of rows.
""")
nb.solution(
    "ex2-solution",
    '''
async def list_books(session: AsyncSession, *, limit: int, offset: int) -> list[Book]:
    """One page of books, ordered by id, each with its author loaded, in one statement."""
    ### BEGIN SOLUTION
    statement = select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))
    ### END SOLUTION
''',
)
nb.check("ex2", 4)
nb.md("""
<details><summary>Hint</summary>

The same shape as exercise 1, with the option that adds a join: `joinedload(Book.author)`. A
many-to-one join repeats nothing, so no `.unique()` is needed. `selectinload(Book.author)` would
work too, but costs a second statement, over this budget.
</details>

## Exercise 3 (guided): a page dependency

Every list endpoint takes the same two query parameters. Parse and bound them once, in a
dependency, and give routes what the services need: a `limit` and an `offset`.

**Contract** (`Page` is given):
- `get_page(settings: SettingsDep, page: int = 1, page_size: int | None = None) -> Page`, a
  dependency whose `page` and `page_size` are **query parameters**: `page` at least 1,
  `page_size` between 1 and 100; anything else is answered with `422` by FastAPI before your code
  runs. Without `page_size`, the page size is the app's `settings.page_size`.
- It returns `Page(limit=size, offset=(page - 1) * size)`: `?page=3&page_size=10` gives
  `limit=10, offset=20`.
- `PageDep` is `Annotated[Page, Depends(get_page)]`.
""")
nb.solution(
    "ex3-solution",
    '''
class Page(BaseModel):
    """Which rows one request asks for."""

    limit: int
    offset: int


### BEGIN SOLUTION
def get_page(
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page:
    size = settings.page_size if page_size is None else page_size
    return Page(limit=size, offset=(page - 1) * size)


PageDep = Annotated[Page, Depends(get_page)]
### END SOLUTION
''',
)
nb.check("ex3", 3)
nb.md("""
<details><summary>Hint</summary>

`page: Annotated[int, Query(ge=1)] = 1` declares a query parameter with a lower bound and a default;
`Query(ge=1, le=100)` bounds both sides. A dependency can itself depend on `SettingsDep`. Check the
first page: `(1 - 1) * size` is 0.
</details>

## Exercise 4 (write it yourself): the list endpoints

**Contract**: a module-level `router = APIRouter()` with two routes. Each takes its session from
`SessionDep` and its page from `PageDep`, and calls the service of exercise 1 or 2:
- `GET /authors`: `200` and a `list[AuthorWithBooks]`, one page of authors ordered by id, each with
  all their books (in any order). At most **2** statements per request.
- `GET /books`: `200` and a `list[BookWithAuthor]`, one page of books ordered by id, each with its
  author. Exactly **1** statement per request.

Declare the response model (the return annotation, or `response_model=`), so the OpenAPI document
shows clients what they get. The budgets hold whatever the page size and the number of rows: the
checks compare 5 and 200 rows. `page_size` and `page` out of bounds answer `422`.
""")
nb.solution(
    "ex4-solution",
    """
### BEGIN SOLUTION
router = APIRouter()


@router.get("/authors")
async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await list_authors(session, limit=page.limit, offset=page.offset)
    return [AuthorWithBooks.model_validate(author) for author in authors]


@router.get("/books")
async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:
    books = await list_books(session, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]
### END SOLUTION
""",
)
nb.check("ex4", 9)
nb.md("""
<details><summary>Hint</summary>

A route is three lines: call the service with `limit=page.limit, offset=page.offset`, convert each
object with `AuthorWithBooks.model_validate(...)`, return the list, annotated
`-> list[AuthorWithBooks]`. Load everything in the service: a query per author inside the route
(or a `session.refresh(author, ["books"])` per author) is the N+1 again. A 500 with
`MissingGreenlet` or `lazy='raise'` means a relationship the response reads was not loaded.
</details>

## Exercise 5 (write it yourself): counts without loading

A dashboard wants, per author, how many books they have and how many copies are in stock. Loading
every book to count it in Python is wasteful, and a count query per author is an N+1 again. One
`GROUP BY` does it: `LEFT OUTER JOIN` keeps authors without books, `count(books.id)` counts only
matched rows, and `coalesce(sum(...), 0)` turns "no rows" into 0.

**Contract**:
- `AuthorStats(BaseModel)` with exactly `id: int`, `name: str`, `book_count: int`, `total_stock: int`.
- `async def author_stats(session, *, limit: int, offset: int) -> list[AuthorStats]`: one page of
  authors ordered by id, with the number of their books and the sum of those books' `stock` (both
  `0` for an author without books), in **one** statement.
- `GET /authors/stats` on the `router` of exercise 4: `200` and a `list[AuthorStats]`, paginated
  with `PageDep`. (If you run exercise 4's cell again, run this one again too: it adds a route to
  that router.)
""")
nb.solution(
    "ex5-solution",
    """
### BEGIN SOLUTION
class AuthorStats(BaseModel):
    id: int
    name: str
    book_count: int
    total_stock: int


async def author_stats(session: AsyncSession, *, limit: int, offset: int) -> list[AuthorStats]:
    statement = (
        select(
            Author.id,
            Author.name,
            func.count(Book.id).label("book_count"),
            func.coalesce(func.sum(Book.stock), 0).label("total_stock"),
        )
        .outerjoin(Book, Book.author_id == Author.id)
        .group_by(Author.id, Author.name)
        .order_by(Author.id)
        .limit(limit)
        .offset(offset)
    )
    rows = await session.execute(statement)
    return [AuthorStats.model_validate(row._mapping) for row in rows]


@router.get("/authors/stats")
async def read_author_stats(session: SessionDep, page: PageDep) -> list[AuthorStats]:
    return await author_stats(session, limit=page.limit, offset=page.offset)
### END SOLUTION
""",
)
nb.check("ex5", 4)
nb.md("""
<details><summary>Hint</summary>

`select(Author.id, Author.name, func.count(Book.id).label("book_count"), ...)` selects columns, not
objects; `.outerjoin(Book, Book.author_id == Author.id)` keeps authors without books;
`.group_by(Author.id, Author.name)` makes one row per author. `await session.execute(...)` gives
rows; `row._mapping` is a dict-like view of a row that `AuthorStats.model_validate` accepts.
</details>

## Try it: count the statements of your own endpoints

Build the app on a scratch database, fill it, and count what each request sends. Change the amount
of data or the page size: the counts should not move (except for an empty page, where
`selectinload` has no keys to look up and skips its second statement).
""")
nb.code("""
scratch = Path(tempfile.mkdtemp(prefix="bookshop-"))
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{scratch / 'bookshop.sqlite'}", page_size=3))
await create_schema(bookshop.state.engine)
await add_catalogue(bookshop.state.sessionmaker, authors=40, books_per_author=2)

transport = httpx.ASGITransport(app=bookshop)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    for url in ("/authors", "/authors?page=2&page_size=30", "/books?page_size=100", "/authors/stats?page=3"):
        with count_statements(bookshop.state.engine) as statements:
            response = await client.get(url)
        print(f"{url:32} {response.status_code}  {len(response.json()):3} items  {len(statements)} statement(s)")
    print((await client.get("/books?page_size=1000")).status_code)
    print(Counter(book["author"]["name"] for book in (await client.get("/books?page_size=6")).json()))
await bookshop.state.engine.dispose()
""")
nb.md("""
## Key points
- An **N+1** is one query for a list plus one per row: a query in a loop, or a lazy load per row.
  It never fails; it just gets slower as the data grows. Count statements
  (`before_cursor_execute`) and compare a small and a large dataset: equal counts, no N+1.
- Under asyncio a lazy load cannot run: `MissingGreenlet`. Keep `lazy="raise"` on relationships so
  a forgotten load fails at once and names the relationship; load explicitly in each query.
- `selectinload(Author.books)`: one extra `SELECT ... WHERE author_id IN (...)` per relationship,
  the default for collections (batches of 500 keys). `joinedload(Book.author)`: a join in the same
  statement, the default for many-to-one. `joinedload` on a collection repeats the parent per child
  and needs `.unique()`.
- Response models with nested schemas (`AuthorWithBooks`) read the loaded relationships; declare
  them on the route so OpenAPI documents the shape.
- Pages need a total order (`ORDER BY id`), bounded sizes (`Query(ge=1, le=100)`, else `422`) and
  `offset = (page - 1) * page_size`. For very deep pages, keyset pagination
  (`WHERE id > :last_id ORDER BY id LIMIT n`) avoids scanning the skipped rows.
- Counts and sums belong in SQL: one `GROUP BY` with an outer join, not a query per row.
""")
print(nb.save())
