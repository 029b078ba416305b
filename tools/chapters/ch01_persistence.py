"""Chapter 01, async persistence: engine, sessions, mapped Author/Book, SQLite foreign keys."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("01-persistence", "01 · Async persistence: engine, sessions and models")
nb.md("""
**Questions**
- What are an engine, a connection and a session, and who opens and closes what?
- Why does reading an attribute right after `commit()` raise `MissingGreenlet` under asyncio?
- Why does SQLite accept a book whose author does not exist, and how do you make it refuse?
- What does `lazy="raise"` on a relationship protect you from?

**Objectives**
- Build an `AsyncEngine` whose every connection enforces foreign keys.
- Build an `async_sessionmaker` whose sessions keep attributes readable after commit.
- Map the bookshop's first two tables, `authors` and `books`, with relationships that never load
  behind your back.
- Write small async functions that open a session, do one job, and give the connection back.

The bookshop starts here: every later chapter keeps these models. Each exercise states its
**contract**; the checks hold you to exactly that. Run the cells top to bottom.
""")
nb.provided(
    "setup",
    """
import tempfile
import warnings
from pathlib import Path

from sqlalchemy import ForeignKey, String, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grader.notebook import check

# This chapter's databases are files in a fresh temporary folder: nothing is left in your copy.
DB_DIR = Path(tempfile.mkdtemp(prefix="bookshop-"))
# After a MissingGreenlet error one of aiosqlite's coroutines is never awaited; hide that one warning.
warnings.filterwarnings("ignore", message=r"coroutine '(Connection|Cursor)\\.\\w+' was never awaited")
""",
)
nb.md("""
## Worked example: engine, connection, session

- The **engine** (`create_async_engine(url)`) knows how to reach the database and keeps a **pool**
  of open connections. Build one per database and reuse it; it does not connect until asked.
- A **connection** (`async with engine.connect() as conn`) is borrowed from the pool and given back
  when the block ends. `engine.begin()` is the same with a transaction, committed at the end of the
  block (rolled back on an error).
- A **session** (`async with sessionmaker() as session`) works with mapped objects: `add`, `get`,
  `scalars(select(...))`, `commit`. It borrows a connection at its first query and gives it back on
  commit, rollback or close.

Events hook into the engine's life. The async engine wraps a synchronous one,
`engine.sync_engine`, and that is where listeners go: a `"connect"` listener runs once for every
new database connection the pool opens, with the raw DBAPI connection.
""")
nb.code("""
example_engine = create_async_engine(f"sqlite+aiosqlite:///{DB_DIR / 'example.sqlite'}")
opened = []


@event.listens_for(example_engine.sync_engine, "connect")
def remember_connection(dbapi_connection, connection_record):
    opened.append(dbapi_connection)


async with example_engine.connect() as conn:
    version = await conn.scalar(text("SELECT sqlite_version()"))
    foreign_keys = await conn.scalar(text("PRAGMA foreign_keys"))
async with example_engine.connect() as conn:  # the pool hands back the same connection
    await conn.scalar(text("SELECT 1"))

print(f"SQLite {version}, PRAGMA foreign_keys = {foreign_keys}, connections opened: {len(opened)}")
""")
nb.md("""
`PRAGMA foreign_keys = 0`: SQLite does **not** enforce foreign keys unless each connection turns
them on. Exercise 1 fixes that with a `"connect"` listener like the one above.

Now the ORM. A mapped class describes a table; `Base.metadata` collects the tables, and
`create_all` creates them. `create_all` is synchronous code, so an async connection runs it through
`run_sync`.
""")
nb.code("""
class ExampleBase(DeclarativeBase):
    pass


class Note(ExampleBase):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


async with example_engine.begin() as conn:
    await conn.run_sync(ExampleBase.metadata.create_all)

example_sessions = async_sessionmaker(example_engine, expire_on_commit=False)

async with example_sessions() as session:
    note = Note(text="buy milk")
    session.add_all([note, Note(text="call Ada")])
    await session.commit()
    print("new note's id:", note.id)

async with example_sessions() as session:
    texts = (await session.scalars(select(Note.text).order_by(Note.text))).all()
texts
""")
nb.md("""
### Predict, then run

The cell below uses a sessionmaker with the default settings (`expire_on_commit=True`), then
reads `note.text` right after the commit, still inside the session. Does it print
`predict me`, print `None`, or raise? Decide before you run it.
""")
nb.code("""
default_sessions = async_sessionmaker(example_engine)  # expire_on_commit=True, the default

async with default_sessions() as session:
    note = Note(text="predict me")
    session.add(note)
    await session.commit()
    try:
        print(note.text)
    except Exception as exc:
        print(type(exc).__name__, "-", str(exc).splitlines()[0])

await example_engine.dispose()  # close the pool's connections: done with this database
""")
nb.md("""
It raises. At commit the session **expires** every object it holds, so that the next read fetches
fresh values. That read is a query, and under asyncio a query may only run where you `await`; an
attribute access cannot await, so SQLAlchemy raises `MissingGreenlet` (here wrapped in a
`StatementError`). The fix is one argument: `async_sessionmaker(engine, expire_on_commit=False)`.
The objects keep the values they had at commit, which is what you want in a request that commits
and then returns the object.

## Exercise 1 (fill in the blanks): engine and sessions

**Contract**:
- `make_engine(url: str) -> AsyncEngine` returns `create_async_engine(url)` with a `"connect"`
  listener on `engine.sync_engine` that runs `PRAGMA foreign_keys=ON` on every new connection (use
  a cursor of the DBAPI connection, as SQLAlchemy's documentation does). It is a plain `def`:
  building an engine does not connect.
- `make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]` returns a
  sessionmaker bound to `engine` with `expire_on_commit=False`.
""")
nb.solution(
    "ex1-solution",
    """
def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    # Register a "connect" listener on engine.sync_engine that turns foreign keys on.
    ### BEGIN SOLUTION

    @event.listens_for(engine.sync_engine, "connect")
    def enable_foreign_keys(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    ### END SOLUTION
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    ### BEGIN SOLUTION
    return async_sessionmaker(engine, expire_on_commit=False)
    ### END SOLUTION
""",
)
nb.check("ex1", 7)
nb.md("""
<details><summary>Hint</summary>

Copy the shape of `remember_connection` from the worked example, registered on the engine you just
created. Inside, `cursor = dbapi_connection.cursor()`, `cursor.execute("PRAGMA foreign_keys=ON")`,
`cursor.close()`. The PRAGMA is per connection: running it once after `create_async_engine` only
fixes the one connection it ran on, and the pool opens others.
</details>

## Exercise 2 (fill in the blanks): the mapped classes

Money is stored as **integer cents**: `price_cents = 1250` is 12.50. Integers are exact. SQLite
has no decimal type: a `Numeric` column stores 12.50 as a floating-point `real`, and SQLAlchemy
rebuilds a `Decimal` from that float when reading. Cents keep every price exact on any database.

**Contract** (every column NOT NULL):
- `Author`, table `authors`: `id` int primary key, `name` str (`String(200)`);
- `Book`, table `books`: `id` int primary key, `title` str (`String(200)`), `price_cents` int,
  `stock` int, `author_id` int with a foreign key to `authors.id`;

and two relationships, each with `back_populates` naming the other and `lazy="raise"`:
- `Author.books: Mapped[list["Book"]]`, the author's books;
- `Book.author: Mapped[Author]`, the book's author.

`Base` (a `DeclarativeBase`) is defined in the same cell, so that running the cell again starts
from an empty `Base.metadata` instead of declaring the tables twice.
""")
nb.solution(
    "ex2-solution",
    """
class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # the relationship books
    ### BEGIN SOLUTION
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise")
    ### END SOLUTION


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    # title, price_cents, stock, author_id (the foreign key) and the relationship author
    ### BEGIN SOLUTION
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    stock: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books", lazy="raise")
    ### END SOLUTION
""",
)
nb.check("ex2", 5)
nb.md("""
<details><summary>Hint</summary>

- `Mapped[int]` alone maps a NOT NULL integer column; `mapped_column(...)` adds details such as
  `String(200)` or `ForeignKey("authors.id")` (table name, then column).
- A relationship is not a column: `relationship(back_populates="...", lazy="raise")`, typed
  `Mapped[list["Book"]]` on the author (one author, many books) and `Mapped[Author]` on the book.
  The quotes in `"Book"` let Author refer to a class defined after it.
</details>

### Predict, then run

A book is loaded with `session.get`, and nothing asked for its author. What does `book.author`
give: the `Author`, `None`, or an error? And with the default `lazy="select"`?
""")
nb.code("""
demo_path = DB_DIR / "lazy-demo.sqlite"
demo_path.unlink(missing_ok=True)
demo_engine = make_engine(f"sqlite+aiosqlite:///{demo_path}")
async with demo_engine.begin() as conn:
    await conn.run_sync(Base.metadata.create_all)

demo_sessions = make_sessionmaker(demo_engine)
async with demo_sessions() as session:
    session.add(Book(title="Kindred", price_cents=999, stock=2, author=Author(name="Octavia E. Butler")))
    await session.commit()

async with demo_sessions() as session:
    book = await session.get(Book, 1)
    print("title:", book.title)
    try:
        print("author:", book.author.name)
    except Exception as exc:
        print(type(exc).__name__, "-", exc)

await demo_engine.dispose()
""")
nb.md("""
`InvalidRequestError: 'Book.author' is not available due to lazy='raise'`. With the default
`lazy="select"`, SQLAlchemy would try to run a query right there, inside an attribute access, and
under asyncio that fails with `MissingGreenlet`, often far from the line that forgot to load the
data. `lazy="raise"` makes the mistake fail at once with a message that names the relationship.
When you need related rows, ask for them: a `select` of what you need (exercise 4), or loader
options such as `selectinload` (chapter 04).

## Exercise 3 (guided): create the schema and write rows

**Contract**:
- `async def create_schema(engine: AsyncEngine) -> None` creates every table of `Base.metadata` in
  the engine's database.
- `async def add_author(sessionmaker, name: str) -> int` stores a new author and returns its id.
- `async def add_book(sessionmaker, author_id: int, title: str, price_cents: int, stock: int) -> int`
  stores a new book and returns its id. An unknown `author_id` raises
  `sqlalchemy.exc.IntegrityError` (the database refuses it; do not catch it).

Each function opens its own session from the `sessionmaker` it is given, as an `async with` block,
so the connection goes back to the pool however the function ends: after the functions return,
`engine.pool.checkedout()` is 0.
""")
nb.solution(
    "ex3-solution",
    """
async def create_schema(engine: AsyncEngine) -> None:
    ### BEGIN SOLUTION
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    ### END SOLUTION


async def add_author(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> int:
    async with sessionmaker() as session:
        ### BEGIN SOLUTION
        author = Author(name=name)
        session.add(author)
        await session.commit()
        return author.id
        ### END SOLUTION


async def add_book(
    sessionmaker: async_sessionmaker[AsyncSession], author_id: int, title: str, price_cents: int, stock: int
) -> int:
    ### BEGIN SOLUTION
    async with sessionmaker() as session:
        book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)
        session.add(book)
        await session.commit()
        return book.id
    ### END SOLUTION
""",
)
nb.check("ex3", 8)
nb.md("""
<details><summary>Hint</summary>

- `create_schema` is the worked example's `engine.begin()` + `run_sync(...create_all)`, with
  `Base`.
- The database assigns the id at the INSERT, which the commit sends; with `expire_on_commit=False`
  you can read `author.id` after `await session.commit()`.
- `add_book` sets `author_id=author_id` (no need to load the author). With foreign keys on, the
  commit raises `IntegrityError` for an unknown author, and the `async with` block rolls back and
  closes the session on its way out.
</details>

## Exercise 4 (write it yourself): read with an explicit select

**Contract**: `async def list_titles(sessionmaker, author_id: int) -> list[str]` returns the
titles of that author's books, sorted A to Z, as a list of `str`: `[]` for an author without
books or an unknown id. It sends exactly **one** `SELECT` (no lazy loading, no loading the author
first) and gives its connection back.
""")
nb.solution(
    "ex4-solution",
    """
### BEGIN SOLUTION
async def list_titles(sessionmaker: async_sessionmaker[AsyncSession], author_id: int) -> list[str]:
    statement = select(Book.title).where(Book.author_id == author_id).order_by(Book.title)
    async with sessionmaker() as session:
        return list((await session.scalars(statement)).all())
### END SOLUTION
""",
)
nb.check("ex4", 5)
nb.md("""
<details><summary>Hint</summary>

`select(Book.title)` selects one column; `.where(Book.author_id == author_id)` filters and
`.order_by(Book.title)` sorts. `await session.scalars(statement)` yields the first column of each
row (plain strings); `session.execute` would give you rows. Reading `author.books` fails on
purpose: it is `lazy="raise"`.
</details>

### Try it all together
""")
nb.code("""
engine = make_engine(f"sqlite+aiosqlite:///{DB_DIR / 'bookshop.sqlite'}")
sessions = make_sessionmaker(engine)
await create_schema(engine)

le_guin = await add_author(sessions, "Ursula K. Le Guin")
for title, price_cents in [("The Left Hand of Darkness", 1100), ("A Wizard of Earthsea", 899)]:
    await add_book(sessions, le_guin, title, price_cents, stock=3)

print(await list_titles(sessions, le_guin))
try:
    await add_book(sessions, 9999, "A book by nobody", 100, stock=1)
except IntegrityError as exc:
    print("refused:", exc.orig)
print("connections still checked out:", engine.pool.checkedout())
await engine.dispose()
""")
nb.md("""
## Key points
- One engine per database; its pool lends connections. `async with` on connections and sessions
  gives them back however the block ends: `engine.pool.checkedout()` tells you if one leaked.
- SQLite enforces foreign keys only with `PRAGMA foreign_keys=ON` on **every** connection: a
  `"connect"` listener on `engine.sync_engine`.
- `async_sessionmaker(engine, expire_on_commit=False)`: the default expires objects at commit, and
  the reload that follows raises `MissingGreenlet` under asyncio.
- `relationship(..., lazy="raise")` turns a hidden lazy load into an immediate, named error; load
  what you need explicitly.
- Synchronous SQLAlchemy APIs such as `metadata.create_all` run through `conn.run_sync(...)`.
- Money as integer cents: exact everywhere, SQLite included (it has no decimal type).
""")
print(nb.save())
