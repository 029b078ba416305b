"""Chapter 09 fixtures: the learner's package, imported from its files, and how its answers are judged.

The probes (checks/probes.py) run in the learner's process and start from the files under ``PROJECT``,
as uvicorn and Alembic would; they return plain data (statuses, rows, source text, descriptions of the
models). Every verdict is computed here, and the schema a migration built is read by the grader's own
SQLite connection.

- ``client``: ``app.main.create_app(Settings(...))`` on the test database, its tables made by
  ``create_all`` from the learner's models (``probes.build_app``); ``probe``: any other probe, with the
  project loaded first.
- ``shop``: the catalogue, seeding from the grader side, HTTP helpers, problem-details and budget verdicts.
- ``schema``: what a SQLite file holds (tables, columns, foreign keys, unique columns), compared with
  the bookshop's shared models.
- ``layers``: the import and branching rules of routers and services, read from the source with ``ast``.
- ``serve``: ``python -m uvicorn app.main:app`` started in the project folder, fetched over a Unix socket.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import secrets
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, NamedTuple

import pytest

from grader.checks import CheckFailure, bookshop, expect, problems
from grader.checks import jwt as forge
from grader.testing.fixtures import Database

SECRET = secrets.token_urlsafe(32)  # the jwt_secret of every app the checks build

# -- probes: checks/probes.py, loaded beside this module -------------------------------------------


def _load_probes() -> ModuleType:
    path = Path(__file__).with_name("probes.py")
    spec = importlib.util.spec_from_file_location(f"{__name__}_probes", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probes = _load_probes()
LOADER = textwrap.dedent(inspect.getsource(probes.load_project))
build_app = probes.build_app


@pytest.fixture
def app_probe():
    return build_app


@pytest.fixture
def app_kwargs(db):
    return {"database_url": db.url, "jwt_secret": SECRET, "loader": LOADER}


@pytest.fixture
def probe(learner):
    """``await probe(fixtures.models_probe, ...)``: a probe that loads the project first."""

    async def run(probe_function, /, **kwargs):
        return await learner.probe(probe_function, loader=LOADER, **kwargs)

    return run


# -- the grader's side -----------------------------------------------------------------------------


def describe_error(observed, what: str) -> str:
    """``what`` failed, and the learner's exception, in one sentence."""
    if observed.error is None:
        return ""
    if observed.error.type == "NotImplementedError":
        return f"{what} raised NotImplementedError: a file is still the starter's (write its cell and run it)."
    return f"{what} failed: {observed.error.type}: {observed.error.message}"


def expect_probe_ok(observed, what: str, hint: str = "", answer: str = "") -> Any:
    """The probe's value, or a failed check naming what could not run and why (``hint`` and ``answer`` are the
    two levels of the hint)."""
    expect(
        observed.ok,
        describe_error(observed, what),
        hint or "Run every cell of the notebook from the top: each %%writefile cell writes its file again.",
        answer,
    )
    return observed.value


@pytest.fixture
def second_db(db: Database) -> Database:
    return db.sibling("models")


# -- the shop: data, HTTP helpers, verdicts ---------------------------------------------------------

# The first 4 authors and 5 books of the N+1 chapter's catalogue: every author has books.
AUTHORS = bookshop.CATALOGUE_AUTHORS[:4]
BOOKS = bookshop.CATALOGUE_BOOKS[:5]
LARGE = bookshop.LARGE
PASSWORD = "correct horse battery staple"
# PASSWORD hashed once with pwdlib's recommended argon2id: customers seeded with it log in without the checks
# paying for another hash (argon2 costs tens of milliseconds of CPU on purpose).
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$ILdq8dGM8cGkMZWkE4iyzQ$htSVKELt8+IYI78el9hCHRqyAiiERBFvob8SjKpOSiU"


class Customer:
    """A customer registered over HTTP, with the token they logged in with."""

    def __init__(self, id: int, email: str) -> None:
        self.id = id
        self.email = email
        self.token = ""
        self.headers: dict[str, str] = {}


class Shop:
    """Seeding, HTTP calls and verdicts shared by the exercises' checks."""

    AUTHORS = AUTHORS
    BOOKS = BOOKS
    LARGE = LARGE
    PASSWORD = PASSWORD
    SECRET = SECRET

    def __init__(self, db: Database) -> None:
        self.db = db

    # data, written by the grader's own connection
    def fill(self, authors=AUTHORS, books=BOOKS) -> None:
        bookshop.fill(self.db, authors, books)

    def fill_large(self) -> None:
        """Authors and books up to ``LARGE`` (book n by author n)."""
        self.fill(*bookshop.grown(AUTHORS, BOOKS))

    def add_orders(self, customer_id: int, first: int, last: int) -> None:
        """Orders ``first``..``last`` for the customer, each with two lines (books 1 and 2)."""
        connection = self.db.connect()
        try:
            with connection:
                connection.executemany(
                    "INSERT INTO orders (id, customer_id) VALUES (?, ?)",
                    [(n, customer_id) for n in range(first, last + 1)],
                )
                connection.executemany(
                    "INSERT INTO order_lines (order_id, book_id, quantity) VALUES (?, ?, ?)",
                    [(n, book, 1 + n % 3) for n in range(first, last + 1) for book in (1, 2)],
                )
        finally:
            connection.close()

    def add_customer(self, customer_id: int, email: str) -> Customer:
        """A customer whose password is PASSWORD, with a token the grader signed for them."""
        self.db.execute(
            "INSERT INTO customers (id, name, email, hashed_password, is_admin) VALUES (?, ?, ?, ?, 0)",
            (customer_id, email.split("@")[0], email, PASSWORD_HASH),
        )
        customer = Customer(id=customer_id, email=email)
        customer.token = self.token(str(customer_id))
        customer.headers = forge.bearer(customer.token)
        return customer

    def stock(self) -> dict[int, int]:
        return {row["id"]: row["stock"] for row in self.db.rows("SELECT id, stock FROM books")}

    def expected_books(self) -> list[dict[str, Any]]:
        return bookshop.expected_books(AUTHORS, BOOKS)

    def expected_authors(self) -> list[dict[str, Any]]:
        return bookshop.expected_authors(AUTHORS, BOOKS)

    # HTTP
    @staticmethod
    def show(response) -> str:
        return f"{response.status_code} {response.text[:300]}"

    async def log_in(self, client, customer: Customer, password: str = PASSWORD) -> Customer:
        response = await client.post("/auth/token", data={"username": customer.email, "password": password})
        expect(
            response.status_code == 200,
            f"POST /auth/token for {customer.email} with the right password answered {self.show(response)}, "
            "expected 200.",
            "routers/auth.py: the login form is the class dependency OAuth2PasswordRequestForm, declared with an "
            "empty `Depends()`; the form's username is the email; call services.customers.log_in and return a Token.",
            answer="form: Annotated[OAuth2PasswordRequestForm, Depends()]  # a parameter of the route\n"
            "token = await customers.log_in(\n"
            "    uow, settings, email=form.username, password=form.password, now=clock.now()\n"
            ")\n"
            "return Token(access_token=token)",
        )
        body = response.json()
        expect(
            isinstance(body, dict) and body.get("token_type") == "bearer" and isinstance(body.get("access_token"), str),
            f"POST /auth/token answered {body}, expected {{'access_token': ..., 'token_type': 'bearer'}}.",
            "Return the Token schema, built from the token that log_in gave.",
            answer="return Token(access_token=token)",
        )
        customer.token = body["access_token"]
        customer.headers = forge.bearer(customer.token)
        return customer

    @staticmethod
    def token(subject: Any, *, minutes: int = 15, key: str = SECRET, **claims: Any) -> str:
        """A token the grader signs itself (``key`` may be a wrong one)."""
        return forge.sign(forge.standard_claims(subject, at=datetime.now(UTC), minutes=minutes, **claims), key)

    # verdicts
    @staticmethod
    def expect_problem(response, status: int, what: str, hint: str = "", answer: str = "") -> dict[str, Any]:
        """``response`` is ``status`` as RFC 9457 problem details; its body. ``hint`` and ``answer`` are the two
        levels of the hint."""
        expect(
            response.status_code == status,
            f"{what} answered {problems.describe(response)}, expected {status}.",
            hint,
            answer,
        )
        issues = problems.problem_issues(response, status)
        expect(
            not issues,
            f"{what} is not a problem details response: {'; '.join(issues)}. It answered "
            f"{problems.describe(response, 200)}.",
            (f"{hint} " if hint else "")
            + "Errors become responses in core/errors.py only, through problem_response(), which sets "
            "media_type='application/problem+json' and the members type, title, status and detail. A route or "
            "service that builds its own error response, or a handler registered on the wrong class, bypasses it.",
            answer,
        )
        return problems.json_body(response)

    @staticmethod
    def expect_bearer_challenge(response, what: str) -> None:
        challenge = response.headers.get("www-authenticate", "")
        expect(
            challenge.lower().startswith("bearer"),
            f"{what} answered 401 without `WWW-Authenticate: Bearer` (got {challenge or 'no such header'}).",
            "The 401 entries of PROBLEM_TYPES carry BEARER as their headers: domain_error_handler passes the "
            "entry's headers on to problem_response.",
            answer="return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, "
            "headers=kind.headers)",
        )

    @staticmethod
    def expect_flat(
        label: str,
        small: list[str],
        large: list[str],
        budget: int,
        sizes: tuple[str, str],
        hint: str,
        answer: str = "",
    ) -> None:
        """Equal statement counts with little data and with much (``sizes`` names both), within ``budget``;
        ``hint`` and ``answer`` are the two levels of the hint."""
        bookshop.expect_flat(label, small, large, budget, hint, sizes=sizes, answer=answer)


@pytest.fixture
def shop(db: Database) -> Shop:
    return Shop(db)


# -- schemas: what a SQLite file holds, and what the bookshop's models describe ---------------------

STRING_TYPES = {"VARCHAR", "TEXT", "CHAR", "NVARCHAR", "CLOB"}
# The shared models: column -> (type family, nullable, primary key); foreign keys; unique columns.
EXPECTED_TABLES: dict[str, dict[str, Any]] = {
    "authors": {
        "columns": {"id": ("INTEGER", False, True), "name": ("STRING", False, False)},
        "foreign_keys": [],
        "unique": [],
    },
    "books": {
        "columns": {
            "id": ("INTEGER", False, True),
            "title": ("STRING", False, False),
            "price_cents": ("INTEGER", False, False),
            "stock": ("INTEGER", False, False),
            "author_id": ("INTEGER", False, False),
        },
        "foreign_keys": [["author_id", "authors.id"]],
        "unique": [["author_id", "title"]],
    },
    "customers": {
        "columns": {
            "id": ("INTEGER", False, True),
            "name": ("STRING", False, False),
            "email": ("STRING", False, False),
            "hashed_password": ("STRING", False, False),
            "is_admin": ("BOOLEAN", False, False),
        },
        "foreign_keys": [],
        "unique": [["email"]],
    },
    "orders": {
        "columns": {"id": ("INTEGER", False, True), "customer_id": ("INTEGER", False, False)},
        "foreign_keys": [["customer_id", "customers.id"]],
        "unique": [],
    },
    "order_lines": {
        "columns": {
            "id": ("INTEGER", False, True),
            "order_id": ("INTEGER", False, False),
            "book_id": ("INTEGER", False, False),
            "quantity": ("INTEGER", False, False),
        },
        "foreign_keys": [["book_id", "books.id"], ["order_id", "orders.id"]],
        "unique": [],
    },
}


def type_family(declared: str) -> str:
    base = declared.split("(")[0].strip().upper()
    return "STRING" if base in STRING_TYPES else base


def read_schema(db: Database) -> dict[str, dict[str, Any]]:
    """Every table of a SQLite file but Alembic's: columns (type family, nullable, pk), foreign keys, unique."""
    schema = {}
    for table in db.tables():
        if table == "alembic_version":
            continue
        columns = {
            row["name"]: (type_family(row["type"]), not row["notnull"] and not row["pk"], bool(row["pk"]))
            for row in db.rows(f'PRAGMA table_info("{table}")')
        }
        foreign_keys = sorted(
            [row["from"], f"{row['table']}.{row['to']}"] for row in db.rows(f'PRAGMA foreign_key_list("{table}")')
        )
        unique = []
        for index in db.rows(f'PRAGMA index_list("{table}")'):
            if index["unique"] and index["origin"] != "pk":
                unique.append(sorted(row["name"] for row in db.rows(f'PRAGMA index_info("{index["name"]}")')))
        schema[table] = {"columns": columns, "foreign_keys": foreign_keys, "unique": sorted(unique)}
    return schema


def schema_of_models(described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The models_probe's description in read_schema's terms."""
    schema = {}
    for table, shape in described.items():
        schema[table] = {
            "columns": {
                name: (
                    type_family(column["type"]),
                    column["nullable"] and not column["primary_key"],
                    column["primary_key"],
                )
                for name, column in shape["columns"].items()
            },
            "foreign_keys": sorted(shape["foreign_keys"]),
            "unique": sorted({tuple(sorted(columns)) for columns in shape["unique"]}),
        }
        schema[table]["unique"] = [list(columns) for columns in schema[table]["unique"]]
    return schema


def schema_differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What differs between two schemas, one sentence each (empty when they agree)."""
    problems = []
    for table in sorted(set(expected) - set(found)):
        problems.append(f"table {table} is missing")
    for table in sorted(set(found) - set(expected)):
        problems.append(f"table {table} is not in the bookshop")
    for table in sorted(set(found) & set(expected)):
        have, want = found[table], expected[table]
        for column in want["columns"]:
            if column not in have["columns"]:
                problems.append(f"{table}.{column} is missing")
                continue
            (have_type, have_null, have_pk), (want_type, want_null, want_pk) = (
                have["columns"][column],
                want["columns"][column],
            )
            if have_type != want_type:
                problems.append(f"{table}.{column} is {have_type}, expected {want_type}")
            if have_null != want_null:
                problems.append(f"{table}.{column} {'may' if have_null else 'may not'} be NULL, expected the opposite")
            if have_pk != want_pk:
                problems.append(
                    f"{table}.{column} {'is' if have_pk else 'is not'} the primary key, expected the opposite"
                )
        for column in sorted(set(have["columns"]) - set(want["columns"])):
            problems.append(f"{table}.{column} is an extra column")
        missing_keys = [key for key in want["foreign_keys"] if key not in have["foreign_keys"]]
        extra_keys = [key for key in have["foreign_keys"] if key not in want["foreign_keys"]]
        problems += [f"{table}.{column} has no foreign key to {target}" for column, target in missing_keys]
        problems += [f"{table}.{column} has an extra foreign key to {target}" for column, target in extra_keys]
        for columns in want["unique"]:
            if columns not in have["unique"]:
                problems.append(f"{table}.{', '.join(columns)} is not unique")
        for columns in have["unique"]:
            if columns not in want["unique"]:
                problems.append(f"{table}.{', '.join(columns)} is unique, expected not")
    return problems


class Schema:
    EXPECTED = EXPECTED_TABLES
    read = staticmethod(read_schema)
    of_models = staticmethod(schema_of_models)
    differences = staticmethod(schema_differences)


@pytest.fixture
def schema() -> type[Schema]:
    return Schema


# -- layers: the rules of routers and services, read from the source --------------------------------

PERSISTENCE_CALLS = {"commit", "rollback", "flush", "execute", "scalars", "scalar", "refresh", "begin"}
PERSISTENCE_ATTRIBUTES = {"session", "sessionmaker", "engine"}
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
WEB_PACKAGES = ("fastapi", "starlette")
UOW_NAMES = {"UowDep", "UnitOfWork"}


class Finding(NamedTuple):
    path: str
    line: int
    code: str
    rule: str


def _imports(tree: ast.Module, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import of a module called ``module``."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, [alias.asname or alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [alias.name for alias in node.names] + [alias.asname for alias in node.names if alias.asname]
            found.append((node.lineno, base, names))
            # `from app import services` imports the module app.services, too
            found += [(node.lineno, f"{base}.{alias.name}", [alias.name]) for alias in node.names]
    return found


def _module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def _snippet(source: str, node: ast.AST) -> str:
    text = ast.get_source_segment(source, node) or ""
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _uow_parameters(function: ast.AST) -> set[str]:
    names = set()
    arguments = getattr(function, "args", None)
    for argument in [*(arguments.args if arguments else []), *(arguments.kwonlyargs if arguments else [])]:
        annotation = ast.unparse(argument.annotation) if argument.annotation else ""
        if any(name in annotation for name in UOW_NAMES):
            names.add(argument.arg)
    return names


def router_findings(path: str, source: str) -> list[Finding]:
    """What in a router module touches persistence or decides something."""
    tree = ast.parse(source)
    findings = []

    def add(node: ast.AST, rule: str) -> None:
        findings.append(Finding(path, getattr(node, "lineno", 0), _snippet(source, node), rule))

    for line, module, names in _imports(tree, _module_name(path)):
        if module == "sqlalchemy" or module.startswith("sqlalchemy."):
            findings.append(Finding(path, line, f"import from {module}", "imports SQLAlchemy"))
        for name in names:
            if "session" in name.lower() or "engine" in name.lower():
                findings.append(Finding(path, line, f"import of {name}", "imports a session or an engine"))
    uow_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            uow_names |= _uow_parameters(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in PERSISTENCE_ATTRIBUTES:
                add(node, "reaches a session or an engine")
            elif isinstance(node.value, ast.Name) and node.value.id in uow_names:
                add(node, "reaches into the unit of work instead of passing it to a service")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PERSISTENCE_CALLS:
            add(node, f"calls {node.func.attr}()")
        if isinstance(node, ast.AsyncWith | ast.With):
            for item in node.items:
                if isinstance(item.context_expr, ast.Name) and item.context_expr.id in uow_names:
                    add(node, "enters the unit of work itself")
        if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert | ast.Match):
            add(node, "decides something (a condition)")
        elif isinstance(node, ast.Compare):
            add(node, "compares values")
        elif isinstance(node, ast.comprehension) and node.ifs:
            for condition in node.ifs:
                add(condition, "filters (a condition)")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ARITHMETIC):
            add(node, "computes (arithmetic)")
        elif isinstance(node, ast.Try | ast.Raise):
            add(node, "handles or raises errors itself")
    unique = {(f.line, f.code, f.rule): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))


def web_imports(path: str, source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of FastAPI or Starlette in one file."""
    tree = ast.parse(source)
    return sorted(
        {
            (line, module)
            for line, module, _ in _imports(tree, _module_name(path))
            if module.split(".")[0] in WEB_PACKAGES
        }
    )


def app_imports(path: str, source: str, known: set[str]) -> list[str]:
    """The modules of ``app`` (among ``known``) that a file imports."""
    tree = ast.parse(source)
    found = []
    for _, module, _ in _imports(tree, _module_name(path)):
        if module in known and module not in found:
            found.append(module)
    return found


def web_chain(sources: dict[str, str], start: str) -> list[str] | None:
    """The shortest import chain from the module at ``start`` to one that imports FastAPI or Starlette."""
    modules = {_module_name(path): path for path in sources}
    parents: dict[str, str | None] = {_module_name(start): None}
    queue = [_module_name(start)]
    while queue:
        module = queue.pop(0)
        path = modules[module]
        try:
            direct = web_imports(path, sources[path])
        except SyntaxError:
            direct = []
        if direct:
            chain = [f"{direct[0][1]} (line {direct[0][0]} of {path})"]
            while module is not None:
                chain.append(module)
                module = parents[module]
            return list(reversed(chain))
        try:
            imported = app_imports(path, sources[path], set(modules))
        except SyntaxError:
            imported = []
        for other in imported:
            # importing app.x.y runs app/x/__init__.py first
            for step in [".".join(other.split(".")[: i + 1]) for i in range(1, other.count(".") + 1)]:
                if step in modules and step not in parents:
                    parents[step] = module
                    queue.append(step)
    return None


class Layers:
    router_findings = staticmethod(router_findings)
    web_imports = staticmethod(web_imports)
    web_chain = staticmethod(web_chain)


@pytest.fixture
def layers() -> type[Layers]:
    return Layers


# -- uvicorn ------------------------------------------------------------------------------------------


@pytest.fixture
def serve(learner, db):
    """``async with serve() as get:`` starts uvicorn on the test database; ``await get(path)`` fetches."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def running(deadline: float = 30.0):
        started = expect_probe_ok(
            await learner.probe(probes.uvicorn_start, database_url=db.url, jwt_secret=SECRET),
            "Starting `python -m uvicorn app.main:app` in the project folder",
        )

        async def get(path: str) -> dict[str, Any]:
            end = time.monotonic() + deadline
            while True:
                answer = expect_probe_ok(
                    await learner.probe(
                        probes.uvicorn_get, pid=started["pid"], socket=started["socket"], log=started["log"], path=path
                    ),
                    f"GET {path} from uvicorn",
                )
                if answer["state"] == "answered":
                    return answer
                if answer["state"] == "exited":
                    raise CheckFailure(
                        f"`uvicorn app.main:app` stopped (exit code {answer['code']}) before answering. Its log ends "
                        f"with: {answer['log'][-700:]}",
                        "uvicorn imports app.main from the project folder and serves its attribute `app`: one made "
                        "at module level, and every module importable.",
                        answer="app = create_app()  # at the end of app/main.py",
                    )
                if time.monotonic() > end:
                    raise CheckFailure(
                        f"`uvicorn app.main:app` did not answer GET {path} within {deadline:g} s.",
                        "Does importing app.main block (a loop, a network call)? Run `uvicorn app.main:app` in a "
                        "terminal in the project folder and read its output.",
                    )
                await _sleep(0.2)

        try:
            yield get
        finally:
            await learner.probe(probes.uvicorn_stop, pid=started["pid"], log=started["log"])

    return running


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@pytest.fixture
def fixtures() -> SimpleNamespace:
    """This module's probes and helpers, for the tests (they cannot import it by name)."""
    public = {name: value for name, value in vars(probes).items() if not name.startswith("_")}
    public |= {name: value for name, value in globals().items() if not name.startswith("_")}
    return SimpleNamespace(**public)
