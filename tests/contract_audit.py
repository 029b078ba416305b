"""The error contract of chapters 06-07, audited on a chapter's reference app from the outside.

Run as ``python tests/contract_audit.py CHAPTER_ID [--default-handlers]``: it builds the chapter's reference app (the
notebook's reference cells, chapter 08's generated ``checks/reference_app.py``, or chapter 09's
``%%writefile`` package), sends it one request for each rule of the contract, and prints a JSON list of
the rules the app breaks (empty when it keeps them all). A subprocess per chapter, because chapter 09's
package is imported as ``app``, and because a notebook's namespace is not a module's.

The verdicts are the course's own: ``grader.checks.problems`` (RFC 9457 members, leaks of server
internals) and ``grader.checks.pii`` (passwords, hashes, other customers' data), as in the checks of
chapters 06 and 07.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import httpx
import jwt
import nbformat
from fastapi import FastAPI

from grader.authoring import carry
from grader.checks import jwt as forge
from grader.checks.pii import scan_response, summarise
from grader.checks.problems import json_body, leak_issues, problem_issues

ROOT = Path(__file__).resolve().parent.parent
ADA = {"name": "Ada", "email": "ada@example.com", "password": "Ada's analytical engine"}
# What PyJWT says about a bad token: a client that reads it learns what to fix in a forgery.
PYJWT_REASONS = ("Not enough segments", "Signature verification failed", "Invalid header", "Invalid payload")
ERROR_KEYS = {"loc", "msg", "type"}
PROBLEMS = "https://bookshop.example/problems"  # chapter 06's problem types


# -- the reference app of a chapter ---------------------------------------------------------------------


def _reference_cells(notebook: nbformat.NotebookNode) -> list[str]:
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("grade") and (meta.get("solution") or meta.get("locked")):
            cells.append(carry.reference_text(cell.source))
    return cells


def _notebook_app(notebook: nbformat.NotebookNode) -> SimpleNamespace:
    # A registered module, as a kernel's __main__ is: SQLAlchemy resolves Mapped[...] in sys.modules.
    module = ModuleType("reference_notebook")
    sys.modules[module.__name__] = module
    for source in _reference_cells(notebook):
        exec(compile(source, "<reference cell>", "exec"), vars(module))  # the course's own reference code
    return SimpleNamespace(**vars(module))


def _module_app(path: Path) -> SimpleNamespace:
    spec = importlib.util.spec_from_file_location("reference_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference_app"] = module
    spec.loader.exec_module(module)
    return SimpleNamespace(**vars(module))


def _package_app(notebook: nbformat.NotebookNode, project: Path) -> SimpleNamespace:
    """Chapter 09: every ``%%writefile {PROJECT}/...`` reference cell written out, then ``app`` imported."""
    for source in _reference_cells(notebook):
        first, _, body = source.partition("\n")
        if not first.startswith("%%writefile {PROJECT}/"):
            continue
        target = project / first.removeprefix("%%writefile {PROJECT}/").strip()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body + "\n", encoding="utf-8")
    for folder in project.joinpath("app").rglob("*"):
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("")
    sys.path.insert(0, str(project))
    main = importlib.import_module("app.main")
    config = importlib.import_module("app.core.config")
    base = importlib.import_module("app.models")
    return SimpleNamespace(create_app=main.create_app, Settings=config.Settings, Base=base.Base)


def reference_app(chapter_id: str, workdir: Path) -> SimpleNamespace:
    """What the audit needs of a chapter: ``create_app``, ``Settings`` and the models' ``Base``."""
    folder = ROOT / "solutions" / chapter_id
    generated = folder / "checks" / "reference_app.py"
    if generated.exists():
        return _module_app(generated)
    notebook = nbformat.read(folder / f"{chapter_id}.ipynb", 4)
    if any(source.startswith("%%writefile") for source in _reference_cells(notebook)):
        return _package_app(notebook, workdir / "project")
    return _notebook_app(notebook)


# -- the audit ------------------------------------------------------------------------------------------


class Audit:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.broken: list[str] = []

    def rule(self, ok: bool, what: str) -> None:
        if not ok:
            self.broken.append(what)

    def problem(self, response: httpx.Response, status: int, label: str) -> dict[str, Any]:
        issues = problem_issues(response, status)
        self.rule(not issues, f"{label}: not a {status} problem ({'; '.join(issues)})")
        leaks = scan_response(response, {ADA["password"]: "Ada's password"})
        self.rule(not leaks, f"{label}: leaked {summarise(leaks)}")
        body = json_body(response)
        return body if isinstance(body, dict) else {}

    def problem_type(self, body: dict[str, Any], kind: str, label: str) -> None:
        expected = f"{PROBLEMS}/{kind}"
        self.rule(body.get("type") == expected, f"{label}: type {body.get('type')!r}, not the table's {expected!r}")

    def bearer_challenge(self, response: httpx.Response, label: str) -> None:
        challenge = response.headers.get("www-authenticate", "")
        self.rule(challenge.lower().startswith("bearer"), f"{label}: no `WWW-Authenticate: Bearer` ({challenge!r})")


async def _run(audit: Audit, token: str, drop_books: Callable[[], Awaitable[None]]) -> None:
    client = audit.client
    auth = {"Authorization": f"Bearer {token}"}

    audit.problem(await client.get("/nowhere"), 404, "an unknown URL")
    response = await client.delete("/books")
    audit.problem(response, 405, "a wrong method")
    audit.rule("allow" in response.headers, "a 405 without its `Allow` header")
    response = await client.get("/books/999")
    audit.problem_type(audit.problem(response, 404, "an unknown book"), "book-not-found", "an unknown book")
    audit.rule("999" not in response.text, "the 404 repeats the id that was asked for (the exception's message)")

    response = await client.get("/customers/me")
    audit.problem(response, 401, "no token")
    audit.bearer_challenge(response, "no token")
    forged = jwt.encode({"sub": "1", "exp": 4102444800}, "another key of at least thirty-two bytes", "HS256")
    for label, value in (("a token that is not a JWT", "not-a-jwt"), ("a token signed by another key", forged)):
        response = await client.get("/customers/me", headers={"Authorization": f"Bearer {value}"})
        audit.problem(response, 401, label)
        audit.bearer_challenge(response, label)
        reasons = [reason for reason in PYJWT_REASONS if reason.lower() in response.text.lower()]
        audit.rule(not reasons, f"{label}: the 401 tells why the token failed ({reasons})")

    wrong = await client.post("/auth/token", data={"username": ADA["email"], "password": "a wrong password"})
    unknown = await client.post("/auth/token", data={"username": "nobody@example.com", "password": ADA["password"]})
    audit.problem_type(audit.problem(wrong, 401, "a wrong password"), "invalid-credentials", "a wrong password")
    audit.problem(unknown, 401, "an unknown email")
    audit.rule(wrong.content == unknown.content, "a wrong password and an unknown email answer differently")

    eve = {"name": "Eve", "email": "eve@example.com", "password": "hunter2", "is_admin": True}
    response = await client.post("/customers", json=eve)
    body = audit.problem(response, 422, "a short password and `is_admin`")
    audit.rule("hunter2" not in response.text, "the 422 repeats the password that was sent")
    errors = body.get("errors")
    entries = errors if isinstance(errors, list) else []
    audit.rule(
        bool(entries) and all(isinstance(e, dict) and set(e) == ERROR_KEYS for e in entries),
        f"the 422's `errors` are not exactly {{loc, msg, type}} each: {str(errors)[:200]}",
    )
    extra = [e for e in entries if isinstance(e, dict) and e.get("type") == "extra_forbidden"]
    audit.rule(bool(extra), "a registration with `is_admin` is not refused as an unknown field (extra='forbid')")

    taken = await client.post("/customers", json={"name": "Eve", "email": ADA["email"], "password": ADA["password"]})
    audit.problem_type(audit.problem(taken, 409, "a taken email"), "email-taken", "a taken email")
    audit.rule(ADA["email"] not in taken.text, "the 409 repeats the email that was sent")
    respelled = {"name": "Eve", "email": "ADA@Example.COM", "password": "long enough!"}
    response = await client.post("/customers", json=respelled)
    audit.rule(
        response.status_code == 409, f"another spelling of a taken email answers {response.status_code}, not 409"
    )
    login = await client.post("/auth/token", data={"username": "Ada@EXAMPLE.com", "password": ADA["password"]})
    audit.rule(login.status_code == 200, f"a login with another spelling of the email answers {login.status_code}")

    now = datetime.now(UTC)
    valid = forge.sign(forge.standard_claims("1", at=now), forge.TEST_KEY)
    response = await client.get("/customers/me", headers={"Authorization": f"Bearer {valid}"})
    audit.rule(
        response.status_code == 200, f"a valid token with the bookshop's iss and aud answers {response.status_code}"
    )
    for label, claims in (("another audience", {"aud": "admin-api"}), ("another issuer", {"iss": "staging"})):
        token = forge.sign(forge.standard_claims("1", at=now, **claims), forge.TEST_KEY)
        response = await client.get("/customers/me", headers={"Authorization": f"Bearer {token}"})
        audit.problem(response, 401, f"a token for {label}")

    order = {"lines": [{"book_id": 1, "quantity": 1}], "customer_id": 2}
    response = await client.post("/orders", json=order, headers=auth)
    audit.problem(response, 422, "an order with a `customer_id`")

    await drop_books()
    response = await client.get("/books")
    audit.problem(response, 500, "a query on a dropped table")
    leaks = leak_issues(response.text, secrets=["books"])
    audit.rule(not leaks, f"the 500 shows server internals: {'; '.join(leaks)}")


def _settings_rules(settings_class: Any, database_url: str) -> list[str]:
    """Chapter 05's settings: no signing key of its own outside development, the URL kept secret."""
    broken = []
    for name in [name for name in os.environ if name.upper().startswith("BOOKSHOP_")]:
        del os.environ[name]  # the machine's own settings would decide instead of the code
    try:
        settings_class(environment="production", database_url=database_url)
    except ValueError:
        pass
    else:
        broken.append("in production, settings without a signing key start anyway (a random key per worker)")
    settings = settings_class(database_url=database_url, jwt_secret=forge.TEST_KEY)
    if database_url in repr(settings):
        broken.append("the settings' repr shows the database URL (not a SecretStr)")
    return broken


async def audit_chapter(chapter_id: str, *, default_handlers: bool = False) -> list[str]:
    """The rules ``chapter_id``'s reference app breaks; with ``default_handlers``, of the same app with
    FastAPI's default exception handlers instead of its own (what the audit must catch)."""
    with tempfile.TemporaryDirectory(prefix="contract-") as folder:
        workdir = Path(folder)
        tempfile.tempdir = folder  # a setup cell's mkdtemp() lands here, and goes with it
        ref = reference_app(chapter_id, workdir)
        database = workdir / "bookshop.sqlite"
        settings_rules = _settings_rules(ref.Settings, f"sqlite+aiosqlite:///{database}")
        app = ref.create_app(ref.Settings(database_url=f"sqlite+aiosqlite:///{database}", jwt_secret=forge.TEST_KEY))
        if default_handlers:
            app.exception_handlers = dict(FastAPI().exception_handlers)
        async with app.state.engine.begin() as connection:
            await connection.run_sync(ref.Base.metadata.create_all)

        async def drop_books() -> None:
            with closing(sqlite3.connect(database)) as connection:
                connection.execute("DROP TABLE books")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                registered = await client.post("/customers", json=ADA)
                login = await client.post("/auth/token", data={"username": ADA["email"], "password": ADA["password"]})
                if registered.status_code != 201 or login.status_code != 200:
                    return [f"cannot register and log in: {registered.status_code}, {login.status_code}"]
                audit = Audit(client)
                await _run(audit, login.json()["access_token"], drop_books)
                return settings_rules + audit.broken
        finally:
            await app.state.engine.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(audit_chapter(sys.argv[1], default_handlers="--default-handlers" in sys.argv[2:]))))
