"""Chapter 04 fixtures: the catalogue data, the learner's app, services called in a fresh session,
and how a failure or a growing statement count is explained.

Probes run in the learner's process and return plain data; every verdict is computed here.

- ``build_app`` (the ``client`` fixture's app): ``create_app(Settings(...))`` on the test database
  with its tables created, or (``factory="bare"``) a plain app whose state holds settings and a
  session factory, for checking the page dependency before the router exists. ``reverse=True``
  turns on SQLite's ``reverse_unordered_selects`` for the app's connections: a query without
  ``ORDER BY`` then returns rows backwards instead of, by luck, in id order.
- ``call_service`` calls ``list_authors``/``list_books`` with a fresh session, reads each result's
  columns and one relationship inside that session (as a route's response model would), and counts
  the statements the call sent.
- ``why_it_failed`` asks the app again for a URL that answered 500, this time letting the exception
  out, and names the likely cause (MissingGreenlet, lazy="raise", joinedload without unique()), with a
  hint and its key line.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from grader.checks import bookshop, expect
from grader.checks import fixtures as shared

# The small catalogue: 5 authors (the last without books), 7 books. The large one adds authors 6..200
# and books 8..200 (``bookshop.grown``).
AUTHORS = bookshop.CATALOGUE_AUTHORS
BOOKS = bookshop.CATALOGUE_BOOKS
LARGE = bookshop.LARGE
MORE_AUTHORS, MORE_BOOKS = bookshop.grown(AUTHORS, BOOKS)


def fill_small(db) -> None:
    bookshop.fill(db, AUTHORS, BOOKS)


def fill_large(db) -> None:
    """Grow the small catalogue to the large one."""
    bookshop.fill(db, MORE_AUTHORS, MORE_BOOKS)


def expected_authors(authors=AUTHORS, books=BOOKS) -> list[dict[str, Any]]:
    """AuthorWithBooks for every author, ordered by id; books ordered by id (compare them sorted)."""
    return bookshop.expected_authors(authors, books)


def expected_books(authors=AUTHORS, books=BOOKS) -> list[dict[str, Any]]:
    return bookshop.expected_books(authors, books)


def sort_nested(items: Any, key: str = "books") -> Any:
    """The nested list of each item sorted by id: the contract leaves its order open."""
    if not isinstance(items, list):
        return items
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get(key), list):
            nested = sorted(item[key], key=lambda b: b.get("id", 0) if isinstance(b, dict) else 0)
            item = item | {key: nested}
        out.append(item)
    return out


def ids(items: Any) -> list[Any]:
    return [item.get("id") if isinstance(item, dict) else item for item in items] if isinstance(items, list) else []


# -- the app ---------------------------------------------------------------------------------------


async def build_app(ns, database_url, factory="create_app", page_size=20, reverse=False, probe_routes=False):
    """Probe run in the learner's process: the app under test, with its tables created."""
    from typing import Annotated

    from fastapi import Depends
    from sqlalchemy import event

    from grader.checks.bookshop import bare_app, create_tables

    for name in ("Base", "make_engine", "make_sessionmaker", "Settings"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined (run the provided cells at the top)")
    await create_tables(ns, database_url)

    settings = ns["Settings"](database_url=database_url, page_size=page_size)
    if factory == "create_app":
        if "create_app" not in ns:
            raise NameError("name 'create_app' is not defined (run the provided cells at the top)")
        app = ns["create_app"](settings)
    else:
        app = bare_app(ns, settings, database_url)

    if reverse:

        @event.listens_for(app.state.engine.sync_engine, "connect")
        def reverse_unordered_selects(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA reverse_unordered_selects=ON")
            cursor.close()

    if probe_routes:
        # The dependency PageDep points at (else get_page).
        get_page = next(
            (m.dependency for m in getattr(ns.get("PageDep"), "__metadata__", ()) if hasattr(m, "dependency")),
            ns.get("get_page"),
        )
        if get_page is None:
            raise NameError("neither `PageDep` nor `get_page` is defined")

        async def page_seen(page: Annotated[object, Depends(get_page)]):
            return {"limit": getattr(page, "limit", None), "offset": getattr(page, "offset", None)}

        app.add_api_route("/probe/page", page_seen, methods=["GET"])
    return app


@pytest.fixture
def app_probe():
    return build_app


tables = shared.tables_fixture("chapter 01's models", require=False)


# -- services --------------------------------------------------------------------------------------


async def service_probe(ns, database_url, name, kwargs, nested, reverse=False):
    """Probe: ``name(session, **kwargs)`` in a fresh session; each result's columns and its ``nested``
    relationship read inside the session. The statements the call and the reads sent are counted by the
    grader (``Observation.statements``), not here."""
    import sqlalchemy
    from sqlalchemy import event

    for needed in ("make_engine", "make_sessionmaker", name):
        if needed not in ns:
            raise NameError(f"name {needed!r} is not defined")
    engine = ns["make_engine"](database_url)
    if reverse:

        @event.listens_for(engine.sync_engine, "connect")
        def reverse_unordered_selects(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA reverse_unordered_selects=ON")
            cursor.close()

    def columns(obj):
        try:
            state = sqlalchemy.inspect(obj)
            attributes = state.mapper.column_attrs
        except Exception:
            return {"not_a_model": type(obj).__name__}
        return {attribute.key: state.dict.get(attribute.key) for attribute in attributes}

    answer = {"raised": None, "message": "", "stage": "call", "type": None, "value": None}
    try:
        async with ns["make_sessionmaker"](engine)() as session:
            try:
                result = await ns[name](session, **kwargs)
                answer["type"] = type(result).__name__
                answer["stage"] = "read"
                items = []
                for obj in result:
                    item = columns(obj)
                    if "not_a_model" not in item:
                        related = getattr(obj, nested)
                        if isinstance(related, list | tuple):
                            item[nested] = [columns(other) for other in related]
                        else:
                            item[nested] = columns(related) if related is not None else None
                    items.append(item)
                answer["value"] = items
            except Exception as exc:
                answer.update(raised=type(exc).__name__, message=str(exc)[:600])
    finally:
        await engine.dispose()
    return answer


class ServiceCall:
    """What one call of ``list_authors``/``list_books`` returned, raised and sent."""

    def __init__(self, expression: str, answer: dict[str, Any], statements: list[str]) -> None:
        self.expression = expression
        self.statements = statements
        self.raised = answer["raised"]
        self.message = answer["message"]
        self.stage = answer["stage"]
        self.type = answer["type"]
        self.value = answer["value"]

    def expect_ok(self) -> list[dict[str, Any]]:
        """The items, or a failed check that names what went wrong and its likely cause."""
        if self.raised == "NotImplementedError":
            expect(False, f"`{self.expression}` raised NotImplementedError (the exercise is not written yet).")
        if self.raised is not None:
            where = f"`{self.expression}`" + (
                " returned, but reading the loaded relationship" if self.stage == "read" else ""
            )
            message, hint, answer = explain(f"{self.raised}: {self.message}", where)
            expect(False, message, hint, answer=answer)
        expect(
            self.type == "list",
            f"`{self.expression}` returned a {self.type}, expected a list.",
            "`session.scalars` gives the objects one by one; the contract asks for a list of them.",
            answer="return list(await session.scalars(statement))",
        )
        strays = sorted({item["not_a_model"] for item in self.value if "not_a_model" in item})
        expect(
            not strays,
            f"`{self.expression}` returned a list of {', '.join(strays)}, expected model objects.",
            "`session.scalars(select(Author)...)` gives Author objects; `session.execute` gives rows.",
        )
        return self.value


@pytest.fixture
def call_service(learner, db):
    """``await call_service("list_authors", "books", limit=5, offset=0)``: what the call did."""

    async def call(name: str, nested: str, *, reverse: bool = False, **kwargs: Any) -> ServiceCall:
        observed = await learner.probe(
            service_probe, database_url=db.url, name=name, kwargs=kwargs, nested=nested, reverse=reverse
        )
        arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        expression = f"await {name}(session, {arguments})"
        expect(observed.ok, f"`{expression}` could not be called: {observed.describe_error()}.")
        return ServiceCall(expression, observed.value, observed.statements)

    return call


# -- explaining failures ---------------------------------------------------------------------------

RELATIONSHIP_OF_TABLE = {"books": "Author.books", "authors": "Book.author"}
LOADER = {"Author.books": "selectinload(Author.books)", "Book.author": "joinedload(Book.author)"}


def explain(text: str, where: str) -> tuple[str, str, str]:
    """A message naming the failure, a hint naming the idea of the fix and the fix's key line (or ""), for an
    exception's type and text."""
    if "MissingGreenlet" in text or "greenlet_spawn" in text:
        table = re.search(r"\bFROM (\w+)", text)
        relationship = RELATIONSHIP_OF_TABLE.get(table.group(1) if table else "", "a relationship")
        loader = LOADER.get(relationship, "selectinload(...)")
        return (
            f"{where} failed with MissingGreenlet: a lazy load of {relationship} was attempted, and a lazy "
            f"load cannot run under asyncio: use {loader} in the query.",
            'Load what the response reads in the query itself, and keep `lazy="raise"` on the models so '
            "that a forgotten load fails at once and names the relationship.",
            f".options({loader})",
        )
    if "lazy='raise'" in text:
        found = re.search(r"'(\w+\.\w+)' is not available due to lazy='raise'", text)
        relationship = found.group(1) if found else "a relationship"
        loader = LOADER.get(relationship, "selectinload(...)")
        return (
            f"{where} failed: {relationship} was not loaded, and lazy='raise' refused to load it behind "
            "your back (InvalidRequestError).",
            "Load it in the query, with a loader option; keep lazy='raise' on the model.",
            f".options({loader})",
        )
    if "unique() method" in text:
        return (
            f"{where} failed: joinedload on a collection without .unique() (InvalidRequestError): "
            "the join returns each author once per book.",
            "De-duplicate the result before reading it, or use the loader option that sends a second "
            "statement instead of a join, which needs no de-duplication.",
            "(await session.scalars(statement)).unique().all()",
        )
    if "DetachedInstanceError" in text:
        return (
            f"{where} failed: a relationship was read after its session closed (DetachedInstanceError).",
            "Load relationships in the query (selectinload/joinedload) and build the response inside the route.",
            "",
        )
    first = text.strip().splitlines()[0][:300] if text.strip() else "an unknown error"
    return f"{where} failed: {first}", "", ""


async def failure_probe(ns, database_url, url, page_size=20):
    """Probe: build the app again and request ``url``, letting the app's exception out; its text."""
    import httpx

    app = ns["create_app"](ns["Settings"](database_url=database_url, page_size=page_size))
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                response = await client.get(url)
            except Exception as exc:
                chain, seen = [], exc
                while seen is not None and len(chain) < 3:
                    chain.append(f"{type(seen).__name__}: {seen}"[:700])
                    seen = seen.__cause__ or seen.__context__
                return {"status": None, "error": "\n".join(chain)}
            return {"status": response.status_code, "error": None}
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def why_it_failed(learner, db):
    """``await why_it_failed("/authors", 500)``: (message, hint, key line) for a request that did not answer 200."""

    async def explain_failure(url: str, status: int, page_size: int = 20) -> tuple[str, str, str]:
        where = f"GET {url}"
        if status != 500:
            return f"{where} answered {status}, expected 200.", "Check the path and the route's parameters.", ""
        observed = await learner.probe(failure_probe, database_url=db.url, url=url, page_size=page_size)
        if observed.ok and observed.value.get("error"):
            return explain(observed.value["error"], where)
        return f"{where} answered 500.", "Run the route's code in the notebook to see the exception.", ""

    return explain_failure


async def page_probe(ns, page_size):
    """Probe: the (limit, offset) the learner's page dependency gives for pages 1 and 2, with ``page_size``
    rows a page in the settings."""
    import inspect

    dependency = next(
        (m.dependency for m in getattr(ns.get("PageDep"), "__metadata__", ()) if hasattr(m, "dependency")),
        ns.get("get_page"),
    )
    if dependency is None:
        raise NameError("neither `PageDep` nor `get_page` is defined")
    settings = ns["Settings"](database_url="sqlite+aiosqlite://", page_size=page_size)
    seen = []
    for number in (1, 2):
        page = dependency(settings=settings, page=number, page_size=None)
        if inspect.isawaitable(page):
            page = await page
        seen.append([getattr(page, "limit", None), getattr(page, "offset", None)])
    return seen


@pytest.fixture
async def pages_from_ex3(learner):
    """Taken by the checks of exercises 4 and 5 whose rows come through exercise 3's PageDep: when it gives the
    wrong rows, such a check would fail on rows and blame the wrong code, so it says so first. A PageDep that
    cannot be called this way is left to the checks themselves (and to exercise 3's)."""
    observed = await learner.probe(page_probe, page_size=3)
    if not observed.ok or observed.value == [[3, 0], [3, 3]]:
        return
    first, second = (tuple(page) for page in observed.value)
    expect(
        False,
        f"This check pages with exercise ex3's PageDep, which gives (limit, offset) {first} for page 1 and {second} "
        "for page 2 with page_size 3 in the settings, expected (3, 0) and (3, 3): fix ex3 first.",
    )


async def expect_ok(response, why_it_failed, page_size: int = 20) -> Any:
    """The JSON of a 200 response, or a failed check that explains the failure."""
    if response.status_code != 200:
        url = str(response.request.url).removeprefix("http://testserver")
        message, hint, answer = await why_it_failed(url, response.status_code, page_size)
        expect(False, message, hint, answer=answer)
    return response.json()


def expect_flat(
    label: str, small: list[str], large: list[str], budget: int, hint: str, rows: str = "authors", answer: str = ""
) -> None:
    """Equal statement counts with the small and the large catalogue, within ``budget``; ``hint`` and
    ``answer`` are the two levels of the hint."""
    sizes = f"{len(AUTHORS) if rows == 'authors' else len(BOOKS)} {rows}"
    bookshop.expect_flat(
        label,
        small,
        large,
        budget,
        hint,
        sizes=(sizes, str(LARGE)),
        where=" in the database",
        shown=(4, 100),
        answer=answer,
    )


def describe_ids(items: Any) -> str:
    """``ids 101 to 200`` for a long run of ids, else the list itself."""
    found = ids(items)
    if len(found) > 6 and found == list(range(found[0], found[0] + len(found))):
        return f"ids {found[0]} to {found[-1]}"
    return f"ids {found[:10]}" + ("..." if len(found) > 10 else "")


def expect_pages(
    label: str, pages: list[list[Any]], expected: list[int], model: str = "Author", service: bool = False
) -> None:
    """Pages walked in order hold every expected id once, in ascending order. ``model`` is the class the
    query selects; ``service`` says the pages were asked of a service by limit and offset, not of a route
    by page (where the offset is get_page's)."""
    seen = [item for page in pages for item in page]
    duplicates = sorted({item for item in seen if seen.count(item) > 1})
    missing = [item for item in expected if item not in seen]
    pages_text = " ".join(str(page) for page in pages)
    order_hint = (
        "Order by something unique, the primary key. Without ORDER BY the database may return rows in any "
        "order (here SQLite was told to return them backwards)."
    )
    order_answer = f".order_by({model}.id)"
    if service:
        offset_hint = "The query takes at most `limit` rows after skipping the first `offset`: it needs both."
        offset_answer = f".order_by({model}.id).limit(limit).offset(offset)"
    else:
        offset_hint = "Page 1 starts at row 0, and each page starts one page size after the one before it."
        offset_answer = "return Page(limit=size, offset=(page - 1) * size)"
    if sorted(set(seen)) == expected and not duplicates and seen != expected:
        expect(
            False, f"{label}: the pages hold every row, but not in id order: {pages_text}.", order_hint, order_answer
        )
    expect(
        not duplicates,
        f"{label}: ids {duplicates} appeared on more than one page: {pages_text}.",
        offset_hint,
        offset_answer,
    )
    expect(not missing, f"{label}: ids {missing} never appeared on any page: {pages_text}.", offset_hint, offset_answer)
    expect(
        seen == expected,
        f"{label}: pages {pages_text}, expected the ids {expected} in order.",
        order_hint,
        order_answer,
    )


class Catalogue:
    """The helpers above, for tests (checks and hidden tests cannot import this module by name)."""

    AUTHORS = AUTHORS
    BOOKS = BOOKS
    LARGE = LARGE
    fill_small = staticmethod(fill_small)
    fill_large = staticmethod(fill_large)
    expected_authors = staticmethod(expected_authors)
    expected_books = staticmethod(expected_books)
    sort_nested = staticmethod(sort_nested)
    ids = staticmethod(ids)
    describe_ids = staticmethod(describe_ids)
    expect_ok = staticmethod(expect_ok)
    expect_flat = staticmethod(expect_flat)
    expect_pages = staticmethod(expect_pages)
    explain = staticmethod(explain)


@pytest.fixture
def catalogue() -> type[Catalogue]:
    return Catalogue
