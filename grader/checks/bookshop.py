"""The bookshop the chapters build, as their checks know it: its rows, its domain errors, writing rows from
the grader's side, and the helpers that probes import to build it inside the learner's process.

Chapters 02 to 09 grow one app (authors, books, customers, orders and their lines), and their checks need
the same pieces again and again: they are written here once, and a chapter's ``checks/fixtures.py`` keeps
only what is its own.

Two sides, as in ``grader.checks.clock``:

- **the grader's side**: the rows checks seed (``CATALOGUE_*`` for the N+1 chapters, ``SHOP_*``,
  ``CUSTOMERS``, ``PASSWORDS``, ``ORDERS``, ``LINES`` for the shop with customers), ``insert`` and ``fill``,
  which write them with the grader's own connection, ``hash_of``, the verdict helpers
  ``service_answer`` and ``expect_flat``, and ``race``, which runs a probe's two sides at once;
- **the learner's process**: ``create_tables_probe`` is a probe (its source is sent there and run), and
  ``create_tables``, ``auth_settings``, ``bare_app``, ``describe_alias``, ``close_session``,
  ``dispose_engines``, ``race_side``, ``checkpoint`` and ``cheap_password_hash`` are imported there by probes
  (``from grader.checks.bookshop import create_tables``), since a probe is compiled alone and shares
  nothing with the module it was written in. They return plain data or objects the probe turns into
  plain data; no verdict is computed in the learner's process. Rules about the code itself (who commits,
  what a route builds) are read from the submitted source in the grader (``grader.checks.source``).

This module imports nothing but the standard library when it loads (pwdlib and pydantic are imported by
the functions that need them), so a probe that imports it costs the learner's process nothing.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from grader.checks import expect

# The status the bookshop's error contract gives each domain exception (chapters 06 and 09).
DOMAIN_STATUS = {
    "CustomerNotFound": 404,
    "BookNotFound": 404,
    "OrderNotFound": 404,
    "OutOfStock": 409,
    "EmailTaken": 409,
    "InvalidCredentials": 401,
    "InvalidToken": 401,
    "NotAllowed": 403,
}

# -- the grader's side: rows ------------------------------------------------------------------------

# The catalogue of the N+1 checks: 5 authors (the last without books), 7 books (author_id last).
CATALOGUE_AUTHORS = [
    (1, "Ursula K. Le Guin"),
    (2, "Octavia E. Butler"),
    (3, "Ted Chiang"),
    (4, "N. K. Jemisin"),
    (5, "Becky Chambers"),
]
CATALOGUE_BOOKS = [
    (1, "A Wizard of Earthsea", 899, 3, 1),
    (2, "Kindred", 1099, 2, 2),
    (3, "The Left Hand of Darkness", 1100, 0, 1),
    (4, "Exhalation", 1800, 5, 3),
    (5, "The Fifth Season", 1599, 1, 4),
    (6, "Parable of the Sower", 1250, 4, 2),
    (7, "The Dispossessed", 1050, 2, 1),
]
LARGE = 200  # authors and books in the large catalogue (under selectinload's 500 keys per statement)

# The shop the checks of accounts and orders seed: one author, three books, three customers with the
# passwords they log in with, and their orders (id, customer_id) with lines (id, order_id, book_id,
# quantity): Grace has orders 1 and 3.
SHOP_AUTHORS = [(1, "Octavia E. Butler")]
SHOP_BOOKS = [(1, "Kindred", 999, 5, 1), (2, "Parable of the Sower", 1099, 3, 1), (3, "Dawn", 899, 2, 1)]
CUSTOMERS = [(1, "Ada", "ada@example.com"), (2, "Grace", "grace@example.com"), (3, "Hedy", "hedy@example.com")]
PASSWORDS = {1: "Ada's analytical engine", 2: "Grace found the moth", 3: "Hedy hops frequencies"}
ORDERS = [(1, 2), (2, 1), (3, 2)]
LINES = [(1, 1, 3, 1), (2, 2, 1, 2), (3, 3, 2, 1)]

# Customers have two shapes: (id, name) in chapter 03's schema, with an email, a hash and is_admin after it.
CUSTOMER_INSERTS = {
    2: "INSERT INTO customers (id, name) VALUES (?, ?)",
    5: "INSERT INTO customers (id, name, email, hashed_password, is_admin) VALUES (?, ?, ?, ?, ?)",
}
AUTHOR_INSERT = "INSERT INTO authors (id, name) VALUES (?, ?)"
BOOK_INSERT = "INSERT INTO books (id, title, price_cents, stock, author_id) VALUES (?, ?, ?, ?, ?)"


def grown(authors: list[tuple[Any, ...]], books: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], ...]:
    """The authors and books that grow a catalogue of ``authors`` and ``books`` to ``LARGE`` of each. Book n is
    by author n: a page of 100 books then has ~100 different authors, so even a per-row ``session.get``
    cannot hide in the identity map."""
    return (
        [(n, f"Author {n}") for n in range(len(authors) + 1, LARGE + 1)],
        [(n, f"Book {n}", 1000 + n, n % 7, n) for n in range(len(books) + 1, LARGE + 1)],
    )


def insert(db: Any, *, authors=(), books=(), customers=(), orders=(), lines=()) -> None:
    """Rows written from the grader's side with ``db.execute``, one statement a row, parents first: authors
    (id, name); books (id, title, price_cents, stock, author_id); customers (id, name) or (id, name, email,
    hashed_password, is_admin); orders (id, customer_id); lines (id, order_id, book_id, quantity)."""
    for row in authors:
        db.execute(AUTHOR_INSERT, row)
    for row in books:
        db.execute(BOOK_INSERT, row)
    for row in customers:
        db.execute(CUSTOMER_INSERTS[len(row)], row)
    for row in orders:
        db.execute("INSERT INTO orders (id, customer_id) VALUES (?, ?)", row)
    for row in lines:
        db.execute("INSERT INTO order_lines (id, order_id, book_id, quantity) VALUES (?, ?, ?, ?)", row)


def fill(db: Any, authors=(), books=()) -> None:
    """Authors and books written from the grader's side in one transaction (a large catalogue is hundreds of
    rows, too many for a statement and a connection each)."""
    connection = db.connect()
    try:
        with connection:
            connection.executemany(AUTHOR_INSERT, authors)
            connection.executemany(BOOK_INSERT, books)
    finally:
        connection.close()


def cheap_password_hash() -> Any:
    """pwdlib's argon2id at its lowest cost (about 1 ms a hash instead of 130): for checks that do not grade
    what a hash costs. A hash made with it is verified, by any argon2 hasher, at the cost written in it."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@cache
def hash_of(password: str) -> str:
    """An argon2id hash made by the grader, computed once per password (``cheap_password_hash``)."""
    return cheap_password_hash().hash(password)


def book_json(row: tuple[Any, ...]) -> dict[str, Any]:
    """A book row as the API answers it."""
    book_id, title, price_cents, stock, author_id = row
    return {"id": book_id, "title": title, "price_cents": price_cents, "stock": stock, "author_id": author_id}


def expected_authors(authors: list[tuple[Any, ...]], books: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """AuthorWithBooks for every author, ordered by id; books ordered by id (compare them sorted)."""
    return [
        {"id": author_id, "name": name, "books": [book_json(b) for b in books if b[4] == author_id]}
        for author_id, name in authors
    ]


def expected_books(authors: list[tuple[Any, ...]], books: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """BookWithAuthor for every book, ordered by id."""
    names = dict(authors)
    return [book_json(b) | {"author": {"id": b[4], "name": names[b[4]]}} for b in books]


# -- the grader's side: verdicts ----------------------------------------------------------------------


def service_answer(observed: Any, call: str) -> dict[str, Any]:
    """What a probe that called a service saw (``{"raised": ..., "message": ..., "value": ...}``), once the
    probe ran and the service is written; else a failed check that says which of the two went wrong."""
    expect(observed.ok, f"`{call}` could not run: {observed.describe_error()}.")
    answer = observed.value
    if answer["raised"] == "NotImplementedError":
        expect(False, f"`{call}` raised NotImplementedError (the exercise is not written yet).")
    return answer


def expect_flat(
    label: str,
    small: list[str],
    large: list[str],
    budget: int,
    hint: str,
    *,
    sizes: tuple[str, str],
    where: str = "",
    shown: tuple[int, int] = (5, 110),
    answer: str = "",
) -> None:
    """The statements one request or call sent with little data (``small``) and with much (``large``) are as
    many, and at most ``budget``; ``hint`` and ``answer`` are the two levels of the hint. ``sizes`` names the
    two amounts of data for the message ("5 authors", "200"), ``where`` follows the first in the message of a
    count that grows; ``shown`` is how many statements the message quotes, and how many characters of each."""
    small = [" ".join(statement.split()) for statement in small]
    large = [" ".join(statement.split()) for statement in large]
    few, many = sizes
    if len(small) != len(large):
        statement, times = Counter(large).most_common(1)[0] if large else ("", 0)
        expect(
            False,
            f"{label} sent {len(small)} statements with {few}{where} and {len(large)} with {many}: the count grows "
            f"with the data, an N+1. Sent {times} times: {statement[:160]}",
            hint,
            answer,
        )
    count, width = shown
    expect(
        len(small) <= budget,
        f"{label} sent {len(small)} statements with {few} and with {many}: the budget is {budget}. "
        "Statements: " + " | ".join(statement[:width] for statement in small[:count]),
        hint,
        answer,
    )


# -- in the learner's process ---------------------------------------------------------------------------


async def create_tables(ns: dict[str, Any], database_url: str) -> None:
    """The bookshop's tables in ``database_url``, made with the notebook's provided ``make_engine`` and
    ``Base`` (a missing one fails as the KeyError it is)."""
    engine = ns["make_engine"](database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
    finally:
        await engine.dispose()


async def create_tables_probe(ns, database_url, require=True):
    """Probe: create the chapter's tables in a database, with the provided models. With ``require``, a missing
    ``Base`` or ``make_engine`` is named and the learner is told to run the provided cells."""
    from grader.checks.bookshop import create_tables

    if require:
        for name in ("Base", "make_engine"):
            if name not in ns:
                raise NameError(f"name {name!r} is not defined (run the provided cells at the top)")
    await create_tables(ns, database_url)


def auth_settings(ns: dict[str, Any], database_url: str, jwt_secret: str) -> Any:
    """The notebook's ``Settings`` for an app on ``database_url`` that signs 15-minute HS256 tokens with
    ``jwt_secret``. ``model_construct`` skips the validators, so a key check that is not written yet fails
    its own exercise only."""
    from pydantic import SecretStr

    settings_class = ns["Settings"]
    # Chapter 05 on keeps the URL secret (SecretStr); model_construct converts nothing, so wrap it here.
    secret_url = settings_class.model_fields.get("database_url") and (
        settings_class.model_fields["database_url"].annotation is SecretStr
    )
    return settings_class.model_construct(
        database_url=SecretStr(database_url) if secret_url else database_url,
        page_size=20,
        jwt_secret=SecretStr(jwt_secret),
        jwt_algorithm="HS256",
        access_token_minutes=15,
    )


def bare_app(ns: dict[str, Any], settings: Any, database_url: str) -> Any:
    """A plain ``FastAPI()`` whose ``app.state`` holds what the bookshop's ``create_app`` puts there
    (``settings``, an engine on ``database_url`` and its sessionmaker), for checking a dependency or a
    handler before the learner's ``create_app`` exists; the probe adds the routes it needs."""
    from fastapi import FastAPI

    app = FastAPI()
    app.state.settings = settings
    app.state.engine = ns["make_engine"](database_url)
    app.state.sessionmaker = ns["make_sessionmaker"](app.state.engine)
    return app


def describe_alias(ns: dict[str, Any], alias_name: str, annotated_type: Any, function_name: str) -> dict[str, Any]:
    """Whether the notebook's ``alias_name`` is ``Annotated[annotated_type, Depends(<function_name>)]``,
    as plain data: ``defined``, ``annotated``, ``type_ok`` and ``depends_on`` (the very function of that
    name, not one defined again after the alias)."""
    import typing

    alias = ns.get(alias_name)
    if alias is None:
        return {"defined": False}
    metadata = getattr(alias, "__metadata__", ())
    dependency = next((getattr(m, "dependency", None) for m in metadata if hasattr(m, "dependency")), None)
    return {
        "defined": True,
        "annotated": typing.get_origin(alias) is typing.Annotated,
        "type_ok": bool(metadata) and typing.get_args(alias)[0] is annotated_type,
        "depends_on": dependency is not None and dependency is ns.get(function_name),
    }


async def checkpoint(database_url: str) -> None:
    """Have the grader note whether a transaction holds the test database open at this moment (the probe's
    ``Observation.open_transactions``). During grading the bridge counts, in the grader, the connections in a
    transaction, so a patched pool counter cannot hide a session left open; in a notebook's ``check()`` a
    write with a short busy timeout tells."""
    import asyncio
    import sqlite3

    from sqlalchemy.engine import make_url

    from grader.sandbox import dbclient, runtime

    url = make_url(database_url)
    database = str(url.database)
    if url.get_driver_name() == dbclient.DRIVER:
        await dbclient.checkpoint(database)
        return

    def locked() -> int:
        connection = sqlite3.connect(database, timeout=0.05, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return 1
        finally:
            connection.close()
        return 0

    runtime.record_open_transactions(database, await asyncio.to_thread(locked))


def expect_no_open_transaction(observed: Any, db: Any, when: str, hint: str) -> None:
    """The verdict on a probe's ``checkpoint`` on the test database ``db``: no connection held a transaction
    open on it ``when``. Checkpoints of other files say nothing of this one."""
    held = [count for database, count in observed.open_transactions if database == str(db.path)]
    expect(bool(held), f"The check could not look at the database {when}: the probe ended before it could.")
    expect(
        max(held) == 0,
        f"{when.capitalize()}, a transaction was still open on the database: it keeps the database locked for "
        "every other request.",
        hint,
    )


async def close_session(uow: Any) -> None:
    """Close the session a unit of work may have left open (an ``__aexit__`` that failed or never closed it),
    ignoring what that raises: a probe's own clean-up must not hide what it observed."""
    import contextlib

    leftover = getattr(uow, "session", None)
    if leftover is not None and hasattr(leftover, "close"):
        with contextlib.suppress(Exception):
            await leftover.close()


async def dispose_engines(*apps: Any) -> None:
    """Close the pooled connections of each app's ``app.state.engine``, where it has one."""
    for app in apps:
        engine = getattr(app.state, "engine", None)
        if engine is not None:
            await engine.dispose()


async def race_side(ns: dict[str, Any], database_url: str, call: Any, done: str) -> str:
    """One side of a race, in the learner's process: ``call(sessions)`` on an engine the notebook's
    ``make_engine`` opens on ``database_url``, with its own session or unit of work from ``sessions``, as one
    request of a server would. The class name of what it raised, or ``done``. The grader runs the two sides
    in two learner processes at once (``race``)."""
    for name in ("make_engine", "make_sessionmaker"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = ns["make_engine"](database_url)
    try:
        try:
            await call(ns["make_sessionmaker"](engine))
        except Exception as exc:
            return type(exc).__name__
        return done
    finally:
        await engine.dispose()


async def race(learner: Any, probe: Any, **kwargs: Any) -> list[str]:
    """Grader side: ``probe`` (which ends in ``race_side``) run as ``side=0`` and ``side=1`` at the same
    moment, in two learner processes on the same database, neither writing before both can
    (``Learner.race``): each side's outcome, or the error that kept it from running."""
    observed = await learner.race(probe, kwargs | {"side": 0}, kwargs | {"side": 1})
    return [found.value if found.ok else found.describe_error() for found in observed]
