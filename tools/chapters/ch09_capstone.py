"""Chapter 09, capstone: the whole bookshop as a package, an Alembic migration, served by uvicorn."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ch09_files as files
from nbbuild import Notebook


def writefile(path: str, content: str) -> str:
    """A cell that writes ``content`` to ``path`` inside the project folder."""
    return f"%%writefile {{PROJECT}}/{path}\n{content.strip()}\n"


nb = Notebook("09-capstone", "09 · Capstone: the bookshop as a real package")
nb.md("""
**Questions**
- Where does each piece of the bookshop belong once it is more than one notebook: which folder, which
  module, and who may import whom?
- Why must a route never see a database session, and a service never see an HTTP status code?
- How does the database get its tables in production, if not from `Base.metadata.create_all`?
- What does `uvicorn app.main:app` need to find to serve your API?

**Objectives**
- Assemble the bookshop of chapters 01 to 08 into a package, `app/`, with one layer per folder:
  `routers/`, `services/`, `repositories/`, `schemas/`, `models/` and `core/`.
- Keep the layers honest: routers translate HTTP to service calls and back, services hold the rules
  and know nothing of FastAPI, repositories speak SQL and never commit.
- Map every error to RFC 9457 problem details in one place, `core/errors.py`.
- Write an Alembic environment for the async engine and a first migration that builds exactly the
  schema the models describe, and removes it again.
- Serve the package with `uvicorn app.main:app`.

This is the last chapter: there is no new technique, only everything at once, in the shape a real
project has. Each file is a cell that starts with `%%writefile {PROJECT}/app/...`: running the cell
writes the file (IPython replaces `{PROJECT}` with the project folder). The checks then import your
package **from the files**, exactly as uvicorn and Alembic will, so a file that was never written
(or not written again after a change) is what the checks see. Each exercise states its
**contract**; the checks hold you to it, and the hidden ones drive the whole shop over HTTP.
""")
nb.provided(
    "setup",
    '''
import asyncio
import importlib
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config

from grader.notebook import check

# The project folder: the %%writefile cells below put app/ and migrations/ here. Running this cell again
# keeps the same folder. To keep the project after the notebook closes, set PROJECT to an absolute path of
# your own (e.g. PROJECT = Path.home() / "bookshop") before you run this cell.
if "PROJECT" not in globals():
    PROJECT = Path(tempfile.mkdtemp(prefix="bookshop-"))
PACKAGES = ["app", "app/core", "app/models", "app/schemas", "app/repositories", "app/services", "app/routers"]
for folder in [*PACKAGES, "migrations/versions"]:
    (PROJECT / folder).mkdir(parents=True, exist_ok=True)
for package in PACKAGES:
    init = PROJECT / package / "__init__.py"
    if package != "app/models" and not init.exists():  # exercise 3 writes app/models/__init__.py
        init.write_text("")
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))  # `import app` finds the project's package, as uvicorn's will


def fresh_import(module: str):
    """Import a module of the project as its files are now: every `app.*` module is loaded again."""
    importlib.invalidate_caches()
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
    return importlib.import_module(module)


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration from alembic.ini, pointed at `database_url`; logging left to the notebook."""
    config = Config(str(PROJECT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["configure_logger"] = False
    return config


def tables(database: Path) -> list[str]:
    """The tables of a SQLite file, read without the app."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [name for (name,) in rows]


def show_tree() -> None:
    for path in sorted(PROJECT.rglob("*.py")) + sorted(PROJECT.glob("*.ini")):
        if "__pycache__" not in path.parts:
            print(path.relative_to(PROJECT))


print("The project folder:", PROJECT)
''',
)
nb.md("""
## The package you will assemble

```
bookshop/                      (PROJECT)
├── alembic.ini                provided: where the migrations are
├── migrations/
│   ├── env.py                 exercise 7: Alembic on the async engine
│   ├── script.py.mako         provided: the template `alembic revision` fills in
│   └── versions/
│       └── 0001_initial.py    exercise 7: the first migration
└── app/
    ├── main.py                exercise 6: create_app(), and `app` for uvicorn
    ├── dependencies.py        provided: SettingsDep, UowDep, ClockDep, PageDep, CurrentCustomer
    ├── core/
    │   ├── config.py          provided: Settings (chapter 05)
    │   ├── exceptions.py      provided: the domain exceptions
    │   ├── security.py        provided: argon2id passwords, JWT access tokens, Clock (chapter 05)
    │   ├── database.py        exercise 1: engine and session factory
    │   └── errors.py          exercise 2: every error as problem details (chapter 06)
    ├── models/                exercise 3 (base.py and catalogue.py provided)
    ├── schemas/               provided: catalogue.py, customers.py, orders.py (chapter 07)
    ├── repositories/          exercise 4 (catalogue.py provided), and the unit of work
    ├── services/              exercise 5: catalogue.py, customers.py, orders.py
    └── routers/               exercise 6: auth.py, customers.py, catalogue.py, orders.py
```

### Worked example: one request through the layers

`POST /orders` with a bearer token and two order lines:

1. **routers/orders.py** receives the validated `OrderIn`, the `CurrentCustomer` and a `UowDep` (all
   three from `dependencies.py`), turns the lines into `(book_id, quantity)` pairs and calls
   `services.orders.place_order(uow, customer.id, lines)`. It decides nothing.
2. **services/orders.py** enters the unit of work, checks the rules (the book exists, there is enough
   stock) and raises a **domain exception** (`OutOfStock`) when one is broken, or commits once at the
   end. It never imports FastAPI: the same function serves a script, a queue worker or a test.
3. **repositories/** send the SQL (`take_stock` is one conditional `UPDATE`); they never commit.
4. If the service raised, **core/errors.py** turns `OutOfStock` into `409` problem details; the route
   never catches it. If it returned, the route converts the `Order` into an `OrderOut`.

Who may import whom, which the checks verify by reading your files:

- `routers/` import `fastapi`, `schemas`, `services` and `dependencies`; never `sqlalchemy`, a session
  or an engine, and they hold no `if` on domain data.
- `services/` import `repositories` (through the unit of work), `models` and `core`; never `fastapi` or
  `starlette`, not even through another `app` module.
- `repositories/` import `sqlalchemy` and `models`, and never call `commit()`.
- `core/errors.py` imports `fastapi` and `core.exceptions`, and holds no business rule.

## Provided: settings, domain exceptions, security

These are chapter 05's and chapter 06's, moved into modules. Run the three cells: each writes its file.
""")
nb.provided("file-config", writefile("app/core/config.py", files.CONFIG))
nb.provided("file-exceptions", writefile("app/core/exceptions.py", files.EXCEPTIONS))
nb.provided("file-security", writefile("app/core/security.py", files.SECURITY))
nb.md("""
## Exercise 1 (fill in the blanks): `core/database.py`

**Contract** (chapter 01's, as a module):
- `make_engine(url) -> AsyncEngine`: an async engine whose every SQLite connection runs
  `PRAGMA foreign_keys=ON` (a `connect` listener on `engine.sync_engine`), so that an order line for a
  book that does not exist is refused by the database.
- `make_sessionmaker(engine) -> async_sessionmaker[AsyncSession]`: sessions whose objects stay readable
  after `commit()` (`expire_on_commit=False`).
""")
nb.solution("ex1-database", writefile("app/core/database.py", files.DATABASE))
nb.check("ex1", 2)
nb.md("""
<details><summary>Hint</summary>

- Inside `make_engine`, decorate a function with `@event.listens_for(engine.sync_engine, "connect")`;
  it receives `(dbapi_connection, connection_record)`: open a cursor, execute the pragma, close it.
- `async_sessionmaker(engine, expire_on_commit=False)`. With the default (`True`), reading an attribute
  after a commit loads it again, which under asyncio raises `MissingGreenlet`.
- After changing the cell, run it again: the checks read the file, not the cell.
</details>

## Exercise 2 (fill in the blanks): `core/errors.py`, every error as problem details

Chapter 06's error contract, as a module. The `Problem` model, the `ProblemType` table
(`PROBLEM_TYPES`: status, type, title, detail and headers for each domain exception) and the log are
given; the functions that use them are yours.

**Contract**: every response that is not a success is `application/problem+json` with `type`,
`title`, `status` (equal to the HTTP status) and `detail`.
- `problem_response(status, detail, *, type="about:blank", title=None, headers=None, **extensions)`
  builds that `JSONResponse` (the title defaults to the status phrase, `HTTPStatus(status).phrase`);
  extra keyword arguments become extension members (`errors=[...]`).
- `domain_error_handler(request, exc)` answers the problem `PROBLEM_TYPES` gives for the class of
  `exc`, or for its nearest parent class in the table (walk `type(exc).__mro__`), with that status,
  type, title, **detail** and headers (the `401`s carry `WWW-Authenticate: Bearer`). Never the
  exception's own message.
- `http_error_handler(request, exc)`: Starlette's `HTTPException` (unknown routes, `405`) becomes an
  `about:blank` problem with its status, `exc.detail` when it is a string (else the status phrase),
  and **all** of `exc.headers` (`Allow` on a `405`).
- `validation_error_handler(request, exc)`: `422`, type `f"{PROBLEMS}/invalid-request"`, title
  `"Invalid request"`, and an extension `errors`: `{"loc": [...], "msg": ..., "type": ...}` for each
  of `exc.errors()`, **never** the `input` (it would echo a submitted password) or the `ctx`.
- `unexpected_error_handler(request, exc)`: logs the exception with its traceback to `error_log`
  (`exc_info=exc`) and answers a `500` whose detail is a fixed sentence: no message, class name,
  traceback, SQL or path.
- `register_problem_handlers(app)` registers them all: `domain_error_handler` for each class in
  `PROBLEM_TYPES`, `http_error_handler` for **Starlette's** `HTTPException` (FastAPI's subclass
  misses the `404` of an unknown route and the `405`), `validation_error_handler` for
  `RequestValidationError`, `unexpected_error_handler` for `Exception`.
""")
nb.solution("ex2-errors", writefile("app/core/errors.py", files.ERRORS))
nb.check("ex2", 4)
nb.md("""
<details><summary>Hint</summary>

- `Problem(type=type, title=title or HTTPStatus(status).phrase, status=status, detail=detail,
  **extensions)`, then `JSONResponse(problem.model_dump(), status_code=status, headers=dict(headers or
  {}), media_type=PROBLEM_JSON)`: without `media_type` the response says `application/json`.
- `for cls in type(exc).__mro__: if cls in PROBLEM_TYPES: ...` finds the entry of a class or of its
  nearest parent.
- Build each validation error from scratch (`{"loc": list(error["loc"]), "msg": ..., "type": ...}`):
  copying the dict and deleting `input` still lets `ctx` through.
- `app.add_exception_handler(SomeClass, handler)`: a loop over `PROBLEM_TYPES`, then the three others.
</details>

## Exercise 3 (guided): the models

`models/base.py` holds the declarative `Base`, with a **naming convention**: every constraint gets a
name (`uq_customers_email`, `fk_books_author_id_authors`), which a later migration needs to drop or
change it. `models/catalogue.py` is chapter 01's `Author` and `Book`. Both are provided.
""")
nb.provided("file-models-base", writefile("app/models/base.py", files.MODELS_BASE))
nb.provided("file-models-catalogue", writefile("app/models/catalogue.py", files.MODELS_CATALOGUE))
nb.md("""
**Contract** (the bookshop's shared models, every relationship `lazy="raise"`):
- `models/customers.py`: `Customer` on table `customers`: `id` (primary key), `name` (`String(200)`),
  `email` (`String(320)`, **unique**), `hashed_password` (`String(200)`), `is_admin` (`bool`, default
  `False`); no column may be NULL.
- `models/orders.py`: `Order` on `orders`: `id`, `customer_id` (foreign key to `customers.id`), `lines`
  (its `OrderLine`s, `back_populates="order"`). `OrderLine` on `order_lines`: `id`, `order_id` (foreign
  key to `orders.id`), `book_id` (foreign key to `books.id`), `quantity`, `order` and `book`.
- `models/__init__.py` imports every model module and re-exports `Base`, `Author`, `Book`, `Customer`,
  `Order`, `OrderLine`. A table whose module nobody imported is not on `Base.metadata`: Alembic would
  never see it, and `create_all` would never create it.
""")
nb.solution("ex3-customers", writefile("app/models/customers.py", files.MODELS_CUSTOMERS))
nb.solution("ex3-orders", writefile("app/models/orders.py", files.MODELS_ORDERS))
nb.solution("ex3-package", writefile("app/models/__init__.py", files.MODELS_PACKAGE))
nb.md("""
### Predict, then run

The cell below imports only `app.models.base`, the module that defines `Base`, and none of the
modules that define tables. How many tables does `Base.metadata` hold? Decide before you run it.
""")
nb.code("""
base = fresh_import("app.models.base")
print(sorted(base.Base.metadata.tables))
""")
nb.md("""
All five. Importing `app.models.base` first imports the package `app.models`, which runs
`app/models/__init__.py`, which imports every model module. That is why `migrations/env.py` writes
`from app.models import Base` and nothing else, and why a model module missing from `__init__.py` is
the classic reason for a migration that "forgets" a table.
""")
nb.check("ex3", 3)
nb.md("""
<details><summary>Hint</summary>

- `email: Mapped[str] = mapped_column(String(320), unique=True)`;
  `is_admin: Mapped[bool] = mapped_column(default=False)`.
- `customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))`: a string target, so
  `orders.py` does not need to import `customers.py`.
- `lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")` and, on
  `OrderLine`, `order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")`.
- `Mapped[int]` (not `Mapped[int | None]`) makes a column NOT NULL.
</details>

## Provided: the schemas and the catalogue's repositories

The schemas are chapter 07's: inputs refuse unknown fields (`extra="forbid"`: `is_admin` in a
registration is a 422, not silently ignored), outputs list exactly what the client may see (no
password, no hash). The catalogue's repositories are chapter 04's queries (`selectinload` for a
collection, `joinedload` for a many-to-one) and chapter 03's atomic `take_stock`.
""")
nb.provided("file-schemas-catalogue", writefile("app/schemas/catalogue.py", files.SCHEMAS_CATALOGUE))
nb.provided("file-schemas-customers", writefile("app/schemas/customers.py", files.SCHEMAS_CUSTOMERS))
nb.provided("file-schemas-orders", writefile("app/schemas/orders.py", files.SCHEMAS_ORDERS))
nb.provided("file-repositories-catalogue", writefile("app/repositories/catalogue.py", files.REPOSITORIES_CATALOGUE))
nb.md("""
## Exercise 4 (fill in the blanks): the remaining repositories and the unit of work

**Contract**:
- `CustomerRepository(session)`: `await get(customer_id)` and `await get_by_email(email)` return the
  `Customer` or `None`; `add(customer)` adds it to the session.
- `OrderRepository(session)`: `add(order)`;
  `await get_for_customer(order_id, customer_id)` returns the order **with its lines loaded** only if it
  belongs to that customer, else `None`; `await page_for_customer(customer_id, limit=, offset=)` returns
  that customer's orders ordered by id, each with its lines, in **two** statements whatever the number
  of orders.
- `UnitOfWork(sessionmaker)` (chapter 03's): `async with uow:` opens a session and builds
  `uow.authors`, `uow.books`, `uow.customers`, `uow.orders` on it and returns `uow`; `commit()` and
  `rollback()`; leaving the block rolls back if it raised, always closes the session (so nothing
  uncommitted is kept), and never swallows the exception.
- No repository calls `commit()`.
""")
nb.solution("ex4-customers", writefile("app/repositories/customers.py", files.REPOSITORIES_CUSTOMERS))
nb.solution("ex4-orders", writefile("app/repositories/orders.py", files.REPOSITORIES_ORDERS))
nb.solution("ex4-unit-of-work", writefile("app/repositories/unit_of_work.py", files.UNIT_OF_WORK))
nb.check("ex4", 4)
nb.md("""
<details><summary>Hint</summary>

- `await self.session.scalar(select(Customer).where(Customer.email == email))` is the customer or `None`.
- Filter on both columns: `select(Order).where(Order.id == order_id, Order.customer_id == customer_id)`.
  Loading the order by id and comparing `order.customer_id` afterwards works too, but a filter cannot be
  forgotten in one of two places.
- `.options(selectinload(Order.lines))` loads the lines of every order of the page in one more statement;
  `.order_by(Order.id).limit(limit).offset(offset)` makes the pages stable.
- In `__aexit__`: `try: if exc_type is not None: await self.rollback()` and `finally: await
  self.session.close()`; no `return True`.
</details>

## Exercise 5 (write it yourself): the services

Services hold the bookshop's rules. They take a `UnitOfWork` (not yet entered: each service enters it
itself with `async with uow:`), raise the domain exceptions of `core/exceptions.py`, and import nothing
from FastAPI or Starlette, not even through another module of `app`.

**Contract**:
- `services/catalogue.py`: `list_authors(uow, *, limit, offset)` and `list_books(uow, *, limit, offset)`
  return a page from the repositories; `get_book(uow, book_id)` returns the book with its author or
  raises `BookNotFound`.
- `services/customers.py`:
  - `register_customer(uow, name, email, password) -> Customer` stores the customer with an argon2id
    hash (`hash_password`), never the password; `EmailTaken` if the email is registered already (also
    when a concurrent registration wins the race: the unique constraint's `IntegrityError` at commit).
  - `authenticate(uow, email, password) -> Customer`, or `InvalidCredentials` for an unknown email
    **and** for a wrong password, with the same message, and after the same work: for an unknown email,
    verify the password against `dummy_hash()`.
  - `log_in(uow, settings, *, email, password, now) -> str`: authenticates, then returns
    `create_access_token(settings, str(customer.id), now)`.
  - `current_customer(uow, settings, token, now) -> Customer`: decodes the token
    (`decode_access_token` raises `InvalidToken`), loads the customer whose id is the `sub` claim, and
    raises `InvalidToken` if there is none (a deleted customer's token is worth nothing).
- `services/orders.py`:
  - `place_order(uow, customer_id, lines) -> Order`, `lines` a list of `(book_id, quantity)`: chapter
    03's, all or nothing: `CustomerNotFound`, `BookNotFound`, `OutOfStock` (through `take_stock`), one
    commit at the end.
  - `list_orders(uow, customer_id, *, limit, offset) -> list[Order]`: that customer's orders, with lines.
  - `get_order(uow, customer_id, order_id) -> Order`: with its lines; `OrderNotFound` if it does not
    exist **or belongs to someone else** (the caller cannot tell the two apart).
""")
nb.solution("ex5-catalogue", writefile("app/services/catalogue.py", files.SERVICES_CATALOGUE))
nb.solution("ex5-customers", writefile("app/services/customers.py", files.SERVICES_CUSTOMERS))
nb.solution("ex5-orders", writefile("app/services/orders.py", files.SERVICES_ORDERS))
nb.check("ex5", 8)
nb.md("""
<details><summary>Hint</summary>

- Hashing takes tens of milliseconds of CPU on purpose. `await asyncio.to_thread(hash_password, password)`
  keeps it off the event loop, so that other requests are served meanwhile; the same for
  `verify_password`.
- `authenticate`: look the customer up inside `async with uow:`; then
  `hashed = customer.hashed_password if customer is not None else dummy_hash()`, verify, and raise
  `InvalidCredentials("wrong email or password")` if the customer is `None` **or** the password does not
  match.
- `current_customer`: the `sub` claim is a string; `int(claims["sub"])` fails for a forged
  `"sub": "admin"`: raise `InvalidToken` for a `sub` that is not all digits.
- An exception raised inside `async with uow:` rolls everything back: raise inside, commit last.
- If `from fastapi import HTTPException` crosses your mind in a service: raise a domain exception
  instead; `core/errors.py` already knows its status.
</details>

## Provided: the dependencies

`dependencies.py` gathers what routes declare they need. `get_uow` hands out a new unit of work per
request (chapter 03); `get_current_customer` reads the bearer token and asks the `current_customer`
service you just wrote who it belongs to; a missing token and an empty `Bearer ` take the same path as
a forged one: `InvalidToken`, a 401.
""")
nb.provided("file-dependencies", writefile("app/dependencies.py", files.DEPENDENCIES))
nb.md("""
## Exercise 6 (write it yourself): the routers and the app

**Contract**: each router module defines `router = APIRouter(...)`. Routes take what they need from
`dependencies.py`, call **one** service, and convert its result with a schema: no `if`, no comparison,
no arithmetic, no `try`, no `raise`, no SQLAlchemy, no session, no engine, no `commit()`; and they do
not reach into the unit of work (`uow.books...`): they pass it to the service.

| module | route | answers |
|---|---|---|
| `routers/auth.py` | `POST /auth/token` (OAuth2 password form: `username` is the email) | `Token` |
| `routers/customers.py` | `POST /customers` (a `CustomerIn`) | **201** and `CustomerOut` |
| | `GET /customers/me` | `CustomerOut` of the caller |
| `routers/catalogue.py` | `GET /authors` (paged by `PageDep`) | `list[AuthorWithBooks]` |
| | `GET /books` (paged) | `list[BookWithAuthor]` |
| | `GET /books/{book_id}` | `BookWithAuthor` |
| `routers/orders.py` | `POST /orders` (an `OrderIn`; the customer is the caller) | **201** and `OrderOut` |
| | `GET /orders` (paged) | `list[OrderOut]`: the caller's own orders |
| | `GET /orders/{order_id}` | `OrderOut`; another customer's order is a 404 |

`main.py`: `create_app(settings: Settings | None = None) -> FastAPI` (no settings: `Settings()`, i.e. the
environment) makes the engine (`make_engine`) and puts `settings`, `engine` and `sessionmaker` on
`app.state`, disposes of the engine at shutdown (a lifespan), calls `register_problem_handlers(app)`
and includes the four routers. At module level, `app = create_app()`: that is the `app` in `uvicorn app.main:app`.

Query budgets the checks measure (statements per request, the same with 5 rows as with 200):
`GET /books` 1, `GET /authors` 2, `GET /orders` 3 (the caller, the orders, their lines).
""")
nb.solution("ex6-auth", writefile("app/routers/auth.py", files.ROUTER_AUTH))
nb.solution("ex6-customers", writefile("app/routers/customers.py", files.ROUTER_CUSTOMERS))
nb.solution("ex6-catalogue", writefile("app/routers/catalogue.py", files.ROUTER_CATALOGUE))
nb.solution("ex6-orders", writefile("app/routers/orders.py", files.ROUTER_ORDERS))
nb.solution("ex6-main", writefile("app/main.py", files.MAIN))
nb.check("ex6", 14)
nb.md("""
<details><summary>Hint</summary>

- `@router.post("/customers", status_code=201)` and a return annotation `-> CustomerOut` make FastAPI
  document and filter the response.
- The login form: `form: Annotated[OAuth2PasswordRequestForm, Depends()]`; `form.username` is the email.
- A route is three lines: take the dependencies, call the service, `Schema.model_validate(result)`
  (a list comprehension for a page). The errors? Nothing to do: the service raises, `core/errors.py`
  answers.
- `uvicorn app.main:app` imports `app.main` and takes its attribute `app`: without `app = create_app()`
  at module level there is nothing to serve.
</details>

## Try it: the whole shop, in this notebook

`fresh_import` loads every module of `app/` as the files are now. The tables come from `create_all`
here; exercise 7 gives them a proper origin.
""")
nb.code("""
main = fresh_import("app.main")
from app.core.config import Settings
from app.models import Author, Base, Book

shop = main.create_app(Settings(database_url=f"sqlite+aiosqlite:///{PROJECT / 'try.sqlite'}"))
async with shop.state.engine.begin() as connection:
    await connection.run_sync(Base.metadata.drop_all)
    await connection.run_sync(Base.metadata.create_all)
async with shop.state.sessionmaker() as session:
    butler = Author(name="Octavia E. Butler")
    session.add_all(
        [
            Book(title="Kindred", price_cents=999, stock=3, author=butler),
            Book(title="Parable of the Sower", price_cents=1099, stock=1, author=butler),
        ]
    )
    await session.commit()

transport = httpx.ASGITransport(app=shop)
async with httpx.AsyncClient(transport=transport, base_url="http://bookshop") as client:
    ada = {"name": "Ada", "email": "ada@example.com", "password": "correct horse battery"}
    print((await client.post("/customers", json=ada)).json())
    login = await client.post("/auth/token", data={"username": ada["email"], "password": ada["password"]})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    print((await client.get("/books")).json())

    created = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 2}]}, headers=bearer)
    print(created.status_code, created.json())
    refused = await client.post("/orders", json={"lines": [{"book_id": 2, "quantity": 5}]}, headers=bearer)
    print(refused.status_code, refused.headers["content-type"], refused.json())
    print((await client.get("/orders", headers=bearer)).json())
    print((await client.get("/orders")).status_code, "without a token")
await shop.state.engine.dispose()
""")
nb.md("""
## Exercise 7: migrations with Alembic

`create_all` creates missing tables and never changes an existing one: fine for tests, useless the day
a column is added to a database full of customers. In production the schema comes from **migrations**:
numbered scripts, each with an `upgrade()` and a `downgrade()`, that Alembic runs in order and records
in a table of its own, `alembic_version`.

`alembic.ini` says where the migrations are; `script.py.mako` is the template `alembic revision` fills
in. Both are provided.
""")
nb.provided("file-alembic-ini", writefile("alembic.ini", files.ALEMBIC_INI))
nb.provided("file-script-mako", writefile("migrations/script.py.mako", files.SCRIPT_MAKO))
nb.md("""
### 7a (fill in the blanks): `migrations/env.py`

Alembic runs `env.py` for every command. Yours is the shape of `alembic init -t async`, pointed at the
bookshop.

**Contract**:
- `target_metadata` is the models' `Base.metadata` (from `app.models`, so that every table is on it).
- `database_url()` is the `sqlalchemy.url` option when one is set on Alembic's config (the checks and
  `alembic_config()` set it), else `Settings().database_url`, i.e. `BOOKSHOP_DATABASE_URL` or the default.
- `run_async_migrations()` creates an async engine on that URL with `poolclass=pool.NullPool`, opens one
  connection, runs the synchronous `do_run_migrations` on it with `await connection.run_sync(...)`, and
  disposes of the engine.
""")
nb.solution("ex7-env", writefile("migrations/env.py", files.ENV))
nb.md("""
### Predict, then run

`run_migrations_online()` calls `asyncio.run(...)`. What happens if this notebook calls
`command.upgrade(...)` directly, from a cell, that is from inside the notebook's running event loop?
""")
nb.code("""
draft_url = f"sqlite+aiosqlite:///{PROJECT / 'draft.sqlite'}"
fresh_import("app.models")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine asyncio.run never started
    try:
        command.upgrade(alembic_config(draft_url), "head")
    except RuntimeError as exc:
        print("RuntimeError:", exc)
""")
nb.md("""
`asyncio.run()` starts an event loop, and a thread can run only one: the notebook's is already running
(chapter 00). From the command line, `alembic upgrade head` has no loop yet and `env.py` works as
written. From a notebook or from async code, run the command on a worker thread, which has no loop:
`await asyncio.to_thread(command.upgrade, config, "head")`. That is how the checks run yours.

### Reading what autogenerate would write

`alembic revision --autogenerate` compares the database with `target_metadata` and writes the
difference as a migration. The cell below shows that difference for an empty database, without writing
any file: a first draft of your migration. Read it, then write it out yourself.
""")
nb.code("""
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

models = fresh_import("app.models")


def draft_upgrade(connection) -> str:
    context = MigrationContext.configure(connection)
    return render_python_code(produce_migrations(context, models.Base.metadata).upgrade_ops)


draft_engine = create_async_engine(draft_url)
async with draft_engine.connect() as connection:
    print(await connection.run_sync(draft_upgrade))
await draft_engine.dispose()
""")
nb.md("""
### 7b (write it yourself): `migrations/versions/0001_initial.py`

**Contract**: revision `"0001"`, `down_revision = None` (the first one).
- `upgrade()` creates the five tables exactly as the models describe them: the same columns, types,
  NOT NULL, primary keys, foreign keys and the unique email (`op.create_table`, `sa.Column`,
  `sa.PrimaryKeyConstraint`, `sa.ForeignKeyConstraint`, `sa.UniqueConstraint`). A parent table is
  created before the tables that refer to it.
- `downgrade()` drops all five, children first: after `alembic downgrade base` no table of the bookshop
  is left (only Alembic's `alembic_version`), and `upgrade head` works again.
""")
nb.solution("ex7-initial", writefile("migrations/versions/0001_initial.py", files.INITIAL_MIGRATION))
nb.check("ex7", 6)
nb.md("""
<details><summary>Hint</summary>

- Start from the draft above: it is in creation order already. Keep `op.f("...")` around constraint
  names: it tells Alembic the name is final (the naming convention made it).
- `target_metadata = Base.metadata`; `config.get_main_option("sqlalchemy.url")` is `None` when unset.
- `engine = create_async_engine(database_url(), poolclass=pool.NullPool)`, then
  `async with engine.connect() as connection: await connection.run_sync(do_run_migrations)`, and
  `await engine.dispose()` in a `finally`.
- Drop order: `order_lines`, `orders`, `books`, `customers`, `authors`.
</details>

## Run it for real

Upgrade, look, downgrade, look, upgrade again: the round trip the checks make.
""")
nb.code("""
database = PROJECT / "bookshop.sqlite"
config = alembic_config(f"sqlite+aiosqlite:///{database}")
fresh_import("app.models")
await asyncio.to_thread(command.upgrade, config, "head")
print("after upgrade head:  ", tables(database))
await asyncio.to_thread(command.downgrade, config, "base")
print("after downgrade base:", tables(database))
await asyncio.to_thread(command.upgrade, config, "head")
show_tree()
""")
nb.md("""
From a terminal, in the project folder (the setup cell printed it), the same and then the server:

```bash
cd /path/to/the/project            # PROJECT
alembic upgrade head               # creates bookshop.sqlite with the five tables
uvicorn app.main:app --reload      # then open http://127.0.0.1:8000/docs
```

`alembic revision --autogenerate -m "add a column"` writes the next migration the day a model changes;
read it before you apply it: autogenerate does not see everything (a renamed column looks like a drop
and an add).

## Key points
- A package has one layer per folder, and the imports point one way: routers → services →
  repositories → models. Routers translate HTTP and decide nothing; services hold the rules and never
  import FastAPI, so they can be called from anywhere; repositories send SQL and never commit.
- Errors are raised as domain exceptions and turned into problem details in one place
  (`core/errors.py`): routes catch nothing, and every error, including an unknown route, a 405, a
  422 and a 500, has the same shape.
- `create_app(settings)` builds everything from settings; `app = create_app()` at module level is what
  `uvicorn app.main:app` serves.
- Importing `app.models` must register every table: Alembic and `create_all` only see what was imported.
- Alembic's `env.py` for the async engine runs `do_run_migrations` through `connection.run_sync`, inside
  `asyncio.run`: from a running loop (a notebook, async tests) call it on a worker thread.
- A migration is correct when `upgrade head` gives exactly the schema the models describe and
  `downgrade base` takes all of it away again.
""")
print(nb.save())
