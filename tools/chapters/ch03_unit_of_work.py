"""Chapter 03, unit of work: repositories, an async UnitOfWork, an all-or-nothing order service."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("03-unit-of-work", "03 · Unit of work: all or nothing")
nb.md("""
**Questions**
- An order has three lines and the third book is sold out. What must the database look like after
  the customer got their `409 Conflict`?
- Who decides when to commit: the route, a dependency, or the code that knows the business rule?
- What happens to an exception when an `__aexit__` returns `True`?
- Two customers order the last copy at the same moment. How many of them get it?

**Objectives**
- Wrap the session in small **repositories** that speak in model objects and never commit.
- Write an async **unit of work**: one session per business transaction, an explicit `commit()`,
  and a rollback of everything else, on error and on a plain exit.
- Write a service, `place_order`, that takes the stock of every order line or of none.
- Take stock with one **atomic** conditional `UPDATE`, so that concurrent orders cannot oversell.
- Keep commits out of routes and out of `yield` dependencies.

This chapter continues the bookshop API. Its first cells carry the reference code of chapters 01 and
02 (engine, sessions, models, settings, the app factory) and introduce customers, orders and order
lines, so you can start here even if chapter 02 is not finished. Each exercise states its
**contract**; the checks hold you to exactly that.
""")
nb.provided(
    "setup",
    """
import asyncio
import tempfile
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ForeignKey, String, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from grader.notebook import check

# This chapter's databases are files in a fresh temporary folder: nothing is left in your copy.
DB_DIR = Path(tempfile.mkdtemp(prefix="bookshop-"))
# After a MissingGreenlet error one of aiosqlite's coroutines is never awaited; hide that one warning.
warnings.filterwarnings("ignore", message=r"coroutine '(Connection|Cursor)\\.\\w+' was never awaited")
""",
)
nb.md("""
## Provided: the reference code of chapters 01 and 02

An engine whose SQLite connections enforce foreign keys, a session factory that keeps objects
readable after commit, the settings and the app factory. `create_app` includes `router`, the routes
you write in exercise 4. Run it; you do not need to change it.
""")
nb.provided(
    "chapter-01-02",
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


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table of Base.metadata that does not exist yet."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


class Settings(BaseSettings):
    """The bookshop's configuration: these defaults, or BOOKSHOP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")

    database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"
    page_size: int = Field(default=20, ge=1, le=100)


def get_settings(request: Request) -> Settings:
    """The settings of the app that is handling this request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def create_app(settings: Settings) -> FastAPI:
    """One app, with its own engine and session factory on app.state, and the routes of `router`."""
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="Bookshop", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.include_router(router)  # the router of exercise 4
    return app
''',
)
nb.md("""
## Provided: the models, with customers and orders

`Author` and `Book` are chapter 01's. New here: a `Customer` places an `Order`, and an order has one
`OrderLine` per book, with the quantity ordered. Every relationship is `lazy="raise"`, as before.
""")
nb.provided(
    "models",
    """
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
""",
)
nb.md("""
## Provided: schemas and domain exceptions

What clients send and get back, and the exceptions the order service raises. Services raise
*domain* exceptions; routes decide which status code each one becomes (chapter 02).
""")
nb.provided(
    "schemas-and-errors",
    '''
class OrderLineIn(BaseModel):
    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(BaseModel):
    customer_id: int
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


class CustomerNotFound(Exception):
    """No customer has this id."""


class BookNotFound(Exception):
    """No book has this id."""


class OutOfStock(Exception):
    """Fewer copies of a book are in stock than an order line asks for."""


class OrderNotFound(Exception):
    """No order has this id."""
''',
)
nb.md("""
## Worked example: what `async with` does with an exception

`async with manager as value:` calls `await manager.__aenter__()` and binds its result to `value`,
runs the block, then calls `await manager.__aexit__(exc_type, exc, tb)`: three `None`s when the
block finished normally, the exception's type, the exception and its traceback when it raised. What
`__aexit__` **returns** decides what happens to that exception: a false value (`None`) lets it
continue, a true value swallows it, as if it never happened.

### Predict, then run

Both managers below see the same `OutOfStock`. One returns `None`, the other `True`. For each, which
lines are printed: `after the block`, or `the caller sees OutOfStock`? Decide before you run it.
""")
nb.code("""
class Noisy:
    def __init__(self, swallow: bool) -> None:
        self.swallow = swallow

    async def __aenter__(self) -> "Noisy":
        print("  enter")
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        print("  exit, exception:", exc_type.__name__ if exc_type else None)
        return self.swallow


for swallow in (False, True):
    print(f"swallow={swallow}")
    try:
        async with Noisy(swallow):
            raise OutOfStock("book 1")
        print("  after the block")
    except OutOfStock:
        print("  the caller sees OutOfStock")
""")
nb.md("""
With `swallow=True` the exception vanishes and the code after the block runs as if the order had
gone through. In a unit of work that is the worst possible bug: the service returns as though it
had succeeded, and the client gets a `2xx` (or a puzzling `500`) instead of the `409` it should
have had. **`__aexit__` of a unit of work returns `None`** (write no
`return` at all): it cleans up and lets every exception continue.

## Worked example: two customers, one copy

A request that reads the stock, checks it in Python and writes the new value back has a gap between
the read and the write. Other requests run in that gap: that is what `async` is for. The
`asyncio.sleep` below stands for the rest of a real request (more queries, a call to a payment
service); it only makes the gap wide enough to hit every time.

### Predict, then run

One copy of the book is in stock, and Ada and Grace order it at the same time. What does `gather`
print, and how many copies does the database say are left?
""")
nb.code("""
race_engine = make_engine(f"sqlite+aiosqlite:///{DB_DIR / 'race.sqlite'}")
race_sessions = make_sessionmaker(race_engine)
await create_schema(race_engine)


async def restock(copies: int) -> None:
    async with race_sessions() as session:
        book = await session.get(Book, 1)
        if book is None:
            author = Author(name="Ursula K. Le Guin")
            session.add(Book(id=1, title="The Dispossessed", price_cents=1299, stock=copies, author=author))
        else:
            book.stock = copies
        await session.commit()


async def stock_left() -> int:
    async with race_sessions() as session:
        return (await session.get(Book, 1)).stock


async def buy_read_then_write(customer: str) -> str:
    async with race_sessions() as session:
        book = await session.get(Book, 1)
        if book.stock < 1:
            return f"{customer}: sold out"
        await asyncio.sleep(0.01)  # the rest of the request
        book.stock -= 1
        await session.commit()
        return f"{customer}: bought"


await restock(1)
print(await asyncio.gather(buy_read_then_write("Ada"), buy_read_then_write("Grace")))
print("copies left:", await stock_left())
""")
nb.md("""
Both bought, and the database says 0 copies are left: two customers paid for one book, and nothing
in the data shows it. Both requests read `stock = 1`, both computed `1 - 1 = 0`, both wrote `0`.
This is a **lost update**: a check done in Python on a value read earlier can be out of date by
the time you write.

The fix is to let the database check and decrement **in one statement**:

```sql
UPDATE books SET stock = stock - :quantity WHERE id = :book_id AND stock >= :quantity
```

The `WHERE` is the stock check. SQLite runs one writer at a time, so the second `UPDATE` waits until
the first transaction has committed, then finds too little stock and changes **no row**. The
result's `rowcount` (rows changed) tells you which case you are in: 1, you took the copies; 0,
sold out (or no such book). On PostgreSQL the same statement locks the book's row for the rest of
the transaction; `SELECT ... FOR UPDATE`, the other classic answer, does not exist in SQLite.
""")
nb.code("""
async def buy_atomic(customer: str) -> str:
    async with race_sessions() as session:
        taken = await session.execute(
            update(Book).where(Book.id == 1, Book.stock >= 1).values(stock=Book.stock - 1)
        )
        await asyncio.sleep(0.01)  # the rest of the request, as before
        if taken.rowcount == 0:
            return f"{customer}: sold out"
        await session.commit()
        return f"{customer}: bought"


await restock(1)
print(await asyncio.gather(buy_atomic("Ada"), buy_atomic("Grace")))
print("copies left:", await stock_left())
await race_engine.dispose()
""")
nb.md("""
## The plan: one transaction per business operation

```
route (HTTP only) ──> place_order(uow, ...) ──> async with uow: ... await uow.commit()
                                                      │
                             uow.customers / uow.books / uow.orders   (repositories)
                                                      │
                                        one AsyncSession, one transaction
```

- A **repository** wraps the session and speaks in model objects: `get`, `add`, `take_stock`. It
  never commits: it cannot know whether the operation it is part of is complete.
- The **unit of work** owns the session for one business operation. `async with uow:` opens it and
  the repositories on it; `await uow.commit()` is the one place that makes changes permanent;
  leaving the block without committing, or with an exception, rolls everything back.
- The **service** knows the rule ("every line, or none") and therefore when the work is complete:
  it commits as its last step. Routes only translate HTTP to a service call and back.

## Exercise 1 (fill in the blanks): repositories

**Contract** (each repository is built with a session: `BookRepository(session)`):
- `CustomerRepository.get(customer_id) -> Customer | None` is given, as the pattern.
- `BookRepository.get(book_id) -> Book | None`.
- `BookRepository.take_stock(book_id, quantity) -> bool` takes `quantity` copies with **one**
  conditional `UPDATE` (the statement above) and returns `True` if it changed the row; otherwise it
  returns `False` and nothing changed (also for an unknown book).
- `OrderRepository.add(order) -> None` (a plain `def`) adds a new order, with its lines, to the session.
- `OrderRepository.get(order_id) -> Order | None` returns the order with its `lines` loaded
  (`Order.lines` is `lazy="raise"`), or `None`.

No repository commits, rolls back or closes the session.
""")
nb.solution(
    "ex1-solution",
    '''
class CustomerRepository:
    """Given, as the pattern: a repository wraps a session and speaks in model objects."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, customer_id: int) -> Customer | None:
        return await self.session.get(Customer, customer_id)


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, book_id: int) -> Book | None:
        ### BEGIN SOLUTION
        return await self.session.get(Book, book_id)
        ### END SOLUTION

    async def take_stock(self, book_id: int, quantity: int) -> bool:
        """Take `quantity` copies in one UPDATE; True if it changed the book's row."""
        ### BEGIN SOLUTION
        statement = (
            update(Book)
            .where(Book.id == book_id, Book.stock >= quantity)
            .values(stock=Book.stock - quantity)
        )
        result = await self.session.execute(statement)
        return result.rowcount == 1
        ### END SOLUTION


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        ### BEGIN SOLUTION
        self.session.add(order)
        ### END SOLUTION

    async def get(self, order_id: int) -> Order | None:
        """The order with its lines loaded, or None."""
        ### BEGIN SOLUTION
        statement = select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
        return await self.session.scalar(statement)
        ### END SOLUTION
''',
)
nb.check("ex1", 5)
nb.md("""
<details><summary>Hint</summary>

- `await self.session.get(Book, book_id)` is `None` for an unknown id.
- `update(Book).where(Book.id == book_id, Book.stock >= quantity).values(stock=Book.stock - quantity)`
  builds the conditional `UPDATE`; `Book.stock - quantity` is computed by the database, not in Python.
  `result = await self.session.execute(statement)`, then `result.rowcount == 1`.
- Do not load the book, compare `book.stock` in Python and assign it: that is the lost update from
  the worked example.
- `self.session.add(order)` also adds the order's lines (they are attached to it). To load the lines
  with the order: `select(Order).where(...).options(selectinload(Order.lines))` and
  `await self.session.scalar(statement)`.
</details>

## Exercise 2 (fill in the blanks): the unit of work

**Contract**: `UnitOfWork(sessionmaker)` (the constructor is given) is an async context manager.
- `async with uow:` opens a new session from `sessionmaker`, stores it as `uow.session`, builds
  `uow.customers`, `uow.books` and `uow.orders` (the three repositories) on it, and returns the unit
  of work itself (`async with uow as same:` gives `same is uow`).
- `await uow.commit()` commits the session; `await uow.rollback()` rolls it back.
- Leaving the block keeps nothing that was not committed: it rolls back when the block raised, and
  it always closes the session, which discards an unfinished transaction (also when nobody called
  `commit()`) and gives the connection back to the pool.
- Objects loaded in the block stay readable after a normal exit (`get_order` in exercise 3 returns
  one): on a normal exit, close the session but do not call `rollback()`, which **expires** every
  object the session holds, like the `expire_on_commit` of chapter 01.
- `__aexit__` never swallows an exception: it returns `None`.
""")
nb.solution(
    "ex2-solution",
    '''
class UnitOfWork:
    """One business transaction: `async with uow:` ... `await uow.commit()`; nothing else is kept."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __aenter__(self) -> "UnitOfWork":
        # A new session, the three repositories on it; return the unit of work itself.
        ### BEGIN SOLUTION
        self.session = self.sessionmaker()
        self.customers = CustomerRepository(self.session)
        self.books = BookRepository(self.session)
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
        # Roll back if the block raised, always close the session, and let any exception continue.
        ### BEGIN SOLUTION
        try:
            if exc_type is not None:
                await self.rollback()
        finally:
            await self.session.close()  # discards what was not committed; loaded objects stay readable
        ### END SOLUTION
''',
)
nb.check("ex2", 7)
nb.md("""
<details><summary>Hint</summary>

- `self.session = self.sessionmaker()` creates a session (no `async with`: the unit of work closes
  it itself, in `__aexit__`).
- In `__aexit__`, `exc_type is not None` means the block raised: roll back. Then, in every case,
  `await self.session.close()`; a `try`/`finally` closes the session even if the rollback fails.
  Closing ends an unfinished transaction without committing it, so a block left without `commit()`
  stores nothing.
- Why not `rollback()` on every exit? It expires the objects the session loaded, and an object
  returned from the block (the order of `get_order`) could then no longer be read:
  `DetachedInstanceError`, or `MissingGreenlet` while it is still attached.
- No `return True`, no `except` without `raise`: the caller must see the exception.
</details>

## Exercise 3 (guided): the order service, all or nothing

**Contract**:
- `async def place_order(uow, customer_id: int, lines) -> Order`, where `lines` is a list of
  `(book_id, quantity)` pairs. It enters the unit of work itself (`async with uow:`), then
  - raises `CustomerNotFound` if there is no such customer;
  - for every line: raises `BookNotFound` if there is no such book, `OutOfStock` if
    `uow.books.take_stock(book_id, quantity)` refuses; otherwise the line becomes an `OrderLine`
    of the new `Order`;
  - adds the order through `uow.orders`, **commits**, and returns it (with its `id` and `lines`).

  When it raises, the database is exactly as before: no order, no line, no stock taken, not even
  for the lines before the one that failed. Two lines for the same book take stock twice.
- `async def get_order(uow, order_id: int) -> Order` returns the order with its lines, or raises
  `OrderNotFound`.
""")
nb.solution(
    "ex3-solution",
    """
async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    async with uow:
        # 1. The customer must exist (CustomerNotFound).
        # 2. For each (book_id, quantity): the book must exist (BookNotFound); take its stock with
        #    uow.books.take_stock (OutOfStock when refused); add an OrderLine to the order.
        # 3. Add the order through uow.orders, commit, return the order.
        ### BEGIN SOLUTION
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
        ### END SOLUTION


async def get_order(uow: UnitOfWork, order_id: int) -> Order:
    ### BEGIN SOLUTION
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order
    ### END SOLUTION
""",
)
nb.check("ex3", 9)
nb.md("""
<details><summary>Hint</summary>

- `Order(customer_id=customer_id, lines=[])` builds the order; `order.lines.append(OrderLine(book_id=...,
  quantity=...))` attaches a line (no `order_id` needed: SQLAlchemy fills it in at the INSERT).
- Raise **inside** `async with uow:`. The exception leaves the block, `__aexit__` rolls back the
  stock taken for the earlier lines, and the caller sees the exception.
- Commit once, as the last step. A `commit()` inside the loop makes the first lines permanent before
  the last one is checked: that is exactly the partial order the rule forbids.
- Do not check `book.stock` yourself: `take_stock` is the check, atomically.
</details>

## Exercise 4 (write it yourself): the dependency and the routes

Where the commit must **not** go:
- **In a route.** The route would own the transaction, and `place_order` called from anywhere else (a
  script, a background job, a test) would not store anything. The service knows when the work is
  complete; the route does not.
- **After `yield` in a dependency.** That code runs after the response has been sent. If the commit
  fails there (disk full, a constraint, a lock), the client has already received `201 Created` for
  an order that does not exist.

So the dependency only hands out a fresh, not yet entered unit of work, and the service does the rest.

**Contract**:
- `get_uow(request: Request) -> UnitOfWork` returns a new `UnitOfWork` on
  `request.app.state.sessionmaker` (a plain function: nothing to clean up, the service's
  `async with` does that); `UowDep = Annotated[UnitOfWork, Depends(get_uow)]`.
- A module-level `router = APIRouter()` with:
  - `POST /orders` with an `OrderIn` body: calls `place_order`; `201` and the `OrderOut`;
    `404` for `CustomerNotFound` or `BookNotFound`; `409` for `OutOfStock`.
  - `GET /orders/{order_id}`: calls `get_order`; `200` and the `OrderOut`; `404` for `OrderNotFound`.
- No route and no dependency calls `commit()`.
""")
nb.solution(
    "ex4-solution",
    """
### BEGIN SOLUTION
def get_uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.sessionmaker)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

router = APIRouter()


@router.post("/orders", status_code=201)
async def post_order(body: OrderIn, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    try:
        order = await place_order(uow, body.customer_id, lines)
    except CustomerNotFound:
        raise HTTPException(status_code=404, detail=f"customer {body.customer_id} not found") from None
    except BookNotFound as exc:
        raise HTTPException(status_code=404, detail=f"book {exc} not found") from None
    except OutOfStock as exc:
        raise HTTPException(status_code=409, detail=f"book {exc} is out of stock") from None
    return OrderOut.model_validate(order)


@router.get("/orders/{order_id}")
async def read_order(order_id: int, uow: UowDep) -> OrderOut:
    try:
        order = await get_order(uow, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None
    return OrderOut.model_validate(order)
### END SOLUTION
""",
)
nb.check("ex4", 10)
nb.md("""
<details><summary>Hint</summary>

- `get_uow` is one line: `return UnitOfWork(request.app.state.sessionmaker)`. No `yield`, no
  `async with`, no `commit`.
- Convert the body's lines into pairs for the service:
  `[(line.book_id, line.quantity) for line in body.lines]`.
- Catch each domain exception around the `place_order` call and raise
  `HTTPException(status_code=..., detail=...) from None`; let anything else (a failed commit)
  through, so the client gets a `500`, never a `2xx`.
- `OrderOut.model_validate(order)` reads `order.lines`: `place_order` built them and
  `OrderRepository.get` loads them, so nothing is lazy-loaded.
</details>

## Try it: the whole shop on a scratch database

An order that fits, one that does not (watch the stock: untouched), and two customers racing for
the last copy, through HTTP this time.
""")
nb.code("""
bookshop = create_app(Settings(database_url=f"sqlite+aiosqlite:///{DB_DIR / 'bookshop.sqlite'}"))
await create_schema(bookshop.state.engine)
async with bookshop.state.sessionmaker() as session:
    butler = Author(name="Octavia E. Butler")
    session.add_all(
        [
            Book(id=1, title="Kindred", price_cents=999, stock=3, author=butler),
            Book(id=2, title="Parable of the Sower", price_cents=1099, stock=1, author=butler),
            Customer(id=1, name="Ada"),
            Customer(id=2, name="Grace"),
        ]
    )
    await session.commit()


async def stock() -> dict[int, int]:
    async with bookshop.state.sessionmaker() as session:
        return {book.id: book.stock for book in await session.scalars(select(Book))}


transport = httpx.ASGITransport(app=bookshop)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    fits = {"customer_id": 1, "lines": [{"book_id": 1, "quantity": 1}]}
    created = await client.post("/orders", json=fits)
    print(created.status_code, created.json(), await stock())

    too_many = {"customer_id": 1, "lines": [{"book_id": 1, "quantity": 1}, {"book_id": 2, "quantity": 5}]}
    refused = await client.post("/orders", json=too_many)
    print(refused.status_code, refused.json(), await stock())

    last_copy = [{"customer_id": c, "lines": [{"book_id": 2, "quantity": 1}]} for c in (1, 2)]
    race = await asyncio.gather(*(client.post("/orders", json=body) for body in last_copy))
    print([response.status_code for response in race], await stock())

    print((await client.get(f"/orders/{created.json()['id']}")).json())
await bookshop.state.engine.dispose()
""")
nb.md("""
## Key points
- A **unit of work** is one business operation, one session, one transaction: `async with uow:`,
  work through the repositories, `await uow.commit()` as the last step. Everything not committed is
  discarded when the block ends, after an exception or not: roll back on error, always close.
  Closing (not `rollback()`) on a normal exit keeps the objects you loaded readable.
- `__aexit__` returns `None`. Returning `True` (or an `except` without `raise`) swallows the error:
  the operation "succeeds" and the client gets a `2xx` for work that was thrown away.
- All or nothing: raise inside the unit of work and commit once, at the end. A commit in the middle
  of a loop turns a refused order into a partial one.
- Check and change in **one statement**: `UPDATE ... SET stock = stock - :q WHERE id = :id AND
  stock >= :q`, then look at `rowcount`. Read, compare in Python, write back loses updates as soon
  as two requests overlap.
- Repositories never commit; the service does. Not the route (the service would be incomplete
  without it), and never after `yield` in a dependency (the response has already been sent).
""")
print(nb.save())
