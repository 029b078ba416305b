"""Chapter 09 probes: functions whose source runs in the learner's process, each returning plain data.

This module imports nothing at its top: a probe is sent as the text of one function, so every name it
uses is imported inside it. ``load_project`` is sent along with every probe that needs the project's
``app`` package (as the ``loader`` argument) and run there first.
"""


def load_project(ns):
    """Sent as source to every probe, and run there: makes the project's ``app`` package importable, as its
    files are now. Modules an earlier probe imported are kept while no file under app/ has changed since,
    so that the package is not compiled again for every probe; any change imports everything again."""
    import importlib
    import sys
    from pathlib import Path

    if "PROJECT" not in ns:
        raise NameError("name 'PROJECT' is not defined (run the setup cell at the top of the notebook)")
    root = Path(ns["PROJECT"]).resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    stamp = sorted(
        (str(path), path.stat().st_mtime_ns, path.stat().st_size)
        for path in (root / "app").rglob("*.py")
        if "__pycache__" not in path.parts
    )
    package = sys.modules.get("app")
    if package is None or getattr(package, "__workbook_stamp__", None) != stamp:
        importlib.invalidate_caches()
        for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
            del sys.modules[name]
        importlib.import_module("app").__workbook_stamp__ = stamp
    return root


async def build_app(ns, loader, database_url, jwt_secret, page_size=20):
    """Probe: ``app.main.create_app(Settings(...))`` from the project's files, its tables created."""
    import importlib

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    main = importlib.import_module("app.main")
    config = importlib.import_module("app.core.config")
    models = importlib.import_module("app.models")
    settings = config.Settings(database_url=database_url, jwt_secret=jwt_secret, page_size=page_size)
    app = main.create_app(settings)
    async with app.state.engine.begin() as connection:
        await connection.run_sync(models.Base.metadata.create_all)
    return app


async def errors_app(ns, loader, database_url, jwt_secret=None):
    """Probe: a bare FastAPI app with the learner's ``register_problem_handlers`` and routes that fail."""
    import importlib

    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel, Field
    from starlette.exceptions import HTTPException as StarletteHTTPException

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    errors = importlib.import_module("app.core.errors")
    exceptions = importlib.import_module("app.core.exceptions")

    class Signup(BaseModel):
        email: str
        password: str = Field(min_length=12)

    app = FastAPI()

    @app.get("/raise/{name}")
    async def raise_domain_error(name: str):
        raise getattr(exceptions, name)(f"{name} raised by the check")

    @app.get("/subclass")
    async def raise_subclass():
        class SoldOut(exceptions.OutOfStock):
            pass

        raise SoldOut("a subclass of OutOfStock raised by the check")

    @app.post("/signup")
    async def signup(body: Signup):
        return {"ok": True}

    @app.get("/items/{item_id}")
    async def item(item_id: int):
        return {"id": item_id}

    @app.get("/crash")
    async def crash():
        raise RuntimeError('SELECT password FROM customers_secrets -- File "/srv/app/internals.py", line 7')

    @app.get("/fail")
    async def fail():
        raise LookupError("no row in payment_cards for card 4111 1111 1111 1111 (/var/lib/bookshop/shop.db)")

    @app.get("/refuse")
    async def refuse():
        raise StarletteHTTPException(429, detail="Slow down, please.", headers={"Retry-After": "30"})

    @app.get("/refuse-with-list")
    async def refuse_with_list():
        raise HTTPException(409, detail=["isbn", "already listed"])

    errors.register_problem_handlers(app)
    return app


async def error_log_probe(ns, loader):
    """Probe: what ``app.core.errors.error_log`` records while the learner's handlers answer a route that crashes
    with a LookupError: the formatted records (tracebacks included) and the response's status."""
    import importlib
    import logging

    import httpx
    from fastapi import FastAPI

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    errors = importlib.import_module("app.core.errors")
    log = getattr(errors, "error_log", None)
    if not isinstance(log, logging.Logger):
        raise NameError("app.core.errors has no logger named error_log (keep the given one)")

    app = FastAPI()

    @app.get("/fail")
    async def fail():
        raise LookupError("no row in payment_cards for card 4111")

    errors.register_problem_handlers(app)
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record))

    keep = Keep(level=logging.DEBUG)
    log.addHandler(keep)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bookshop") as http:
            response = await http.get("/fail")
    finally:
        log.removeHandler(keep)
    return {"status": response.status_code, "records": records}


async def database_probe(ns, loader, database_url, label="science fiction"):
    """Probe: foreign keys and readable-after-commit with ``app.core.database``, on tables of its own (the shelf
    committed and read again is called ``label``)."""
    import importlib

    from sqlalchemy import String, text
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")

    class Base(DeclarativeBase):
        pass

    class Shelf(Base):
        __tablename__ = "probe_shelves"
        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column(String(50))

    answer = {"foreign_key": None, "after_commit": None, "expire_on_commit": None}
    engine = database.make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(
                text("CREATE TABLE probe_books (id INTEGER PRIMARY KEY, shelf_id INTEGER REFERENCES probe_shelves(id))")
            )
        try:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO probe_books (id, shelf_id) VALUES (1, 999)"))
            answer["foreign_key"] = "accepted"
        except Exception as exc:
            answer["foreign_key"] = type(exc).__name__
        sessionmaker = database.make_sessionmaker(engine)
        answer["expire_on_commit"] = sessionmaker.kw.get("expire_on_commit", True)
        async with sessionmaker() as session:
            shelf = Shelf(label=label)
            session.add(shelf)
            await session.commit()
            try:
                answer["after_commit"] = shelf.label
            except Exception as exc:
                answer["after_commit"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        await engine.dispose()
    return answer


async def models_probe(ns, loader):
    """Probe: ``app.models``' metadata and relationships, as plain data."""
    import importlib

    import sqlalchemy
    from sqlalchemy.dialects import sqlite

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    models = importlib.import_module("app.models")
    exported = {name: hasattr(models, name) for name in ("Base", "Author", "Book", "Customer", "Order", "OrderLine")}
    tables = {}
    for table in models.Base.metadata.sorted_tables:
        unique = [[column.name] for column in table.columns if column.unique]
        unique += [
            sorted(column.name for column in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, sqlalchemy.UniqueConstraint)
        ]
        unique += [sorted(column.name for column in index.columns) for index in table.indexes if index.unique]
        tables[table.name] = {
            "columns": {
                column.name: {
                    "type": column.type.compile(dialect=sqlite.dialect()),
                    "nullable": bool(column.nullable),
                    "primary_key": bool(column.primary_key),
                }
                for column in table.columns
            },
            "foreign_keys": sorted([key.parent.name, key.target_fullname] for key in table.foreign_keys),
            "unique": unique,
        }
    relationships = []
    for mapper in models.Base.registry.mappers:
        for relationship in mapper.relationships:
            relationships.append([mapper.class_.__name__, relationship.key, str(relationship.lazy)])
    return {"exported": exported, "tables": tables, "relationships": sorted(relationships)}


async def create_tables_probe(ns, loader, database_url):
    """Probe: the learner's models' tables, made by ``create_all`` on a plain async engine."""
    import importlib

    from sqlalchemy.ext.asyncio import create_async_engine

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    models = importlib.import_module("app.models")
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(models.Base.metadata.create_all)
    finally:
        await engine.dispose()


async def unit_of_work_probe(ns, loader, database_url):
    """Probe: what the learner's UnitOfWork keeps after a commit, a plain exit and an error."""
    import importlib

    from grader.checks.bookshop import checkpoint

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")
    models = importlib.import_module("app.models")
    unit_of_work = importlib.import_module("app.repositories.unit_of_work")

    def customer(name):
        return models.Customer(name=name, email=f"{name}@example.com", hashed_password="not a real hash")

    class Refused(Exception):
        pass

    engine = database.make_engine(database_url)
    answer = {"same": None, "repositories": None, "error": None, "readable": None}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(models.Base.metadata.create_all)
        uow = unit_of_work.UnitOfWork(database.make_sessionmaker(engine))
        async with uow as entered:
            answer["same"] = entered is uow
            answer["repositories"] = {
                name: type(getattr(uow, name, None)).__name__ for name in ("authors", "books", "customers", "orders")
            }
            uow.customers.add(customer("committed"))
            await uow.commit()
        async with uow:
            uow.customers.add(customer("uncommitted"))
        try:
            async with uow:
                uow.customers.add(customer("failed"))
                await uow.session.flush()
                raise Refused("raised inside the unit of work by the check")
        except Refused:
            answer["error"] = "propagated"
        else:
            answer["error"] = "swallowed"
        async with uow:
            found = await uow.customers.get_by_email("committed@example.com")
        try:
            answer["readable"] = found.name if found is not None else None
        except Exception as exc:
            answer["readable"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        answer["checked_out"] = engine.pool.checkedout()
        await checkpoint(database_url)  # the grader looks, from outside, for a transaction left open
    finally:
        await engine.dispose()
    return answer


async def unloaded_relationships_probe(ns, loader, database_url):
    """Probe: an order and its line stored, then each of Order.lines, OrderLine.order and OrderLine.book read from
    an object loaded without it, in a session of its own: what reading it gave (a value, or the exception)."""
    import importlib

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")
    models = importlib.import_module("app.models")
    engine = database.make_engine(database_url)
    answer = {}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(models.Base.metadata.create_all)
        sessionmaker = database.make_sessionmaker(engine)
        async with sessionmaker() as session:
            author = models.Author(id=3, name="Ted Chiang")
            book = models.Book(id=4, title="Exhalation", price_cents=1800, stock=5, author_id=3)
            customer = models.Customer(id=6, name="Noor", email="noor@example.org", hashed_password="not a hash")
            session.add_all([author, book, customer])
            await session.flush()
            order = models.Order(id=8, customer_id=6)
            session.add(order)
            await session.flush()
            session.add(models.OrderLine(id=12, order_id=8, book_id=4, quantity=2))
            await session.commit()
        for model, key, attribute in (("Order", 8, "lines"), ("OrderLine", 12, "order"), ("OrderLine", 12, "book")):
            async with sessionmaker() as session:
                found = await session.get(getattr(models, model), key)
                try:
                    value = getattr(found, attribute)
                    answer[f"{model}.{attribute}"] = {"raised": None, "value": repr(value)[:120]}
                except Exception as exc:
                    answer[f"{model}.{attribute}"] = {"raised": type(exc).__name__, "value": str(exc)[:300]}
    finally:
        await engine.dispose()
    return answer


async def unit_of_work_nesting_probe(ns, loader, database_url):
    """Probe: ``uow.session`` before, inside and after ``async with uow:``, and what entering the unit of work again
    inside its own block does."""
    import importlib

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")
    unit_of_work = importlib.import_module("app.repositories.unit_of_work")
    engine = database.make_engine(database_url)
    answer = {"before": None, "inside": None, "again": None, "after": None, "error": None}
    try:
        uow = unit_of_work.UnitOfWork(database.make_sessionmaker(engine))
        answer["before"] = type(getattr(uow, "session", None)).__name__
        try:
            async with uow:
                answer["inside"] = type(getattr(uow, "session", None)).__name__
                try:
                    async with uow:
                        answer["again"] = "entered"
                except Exception as exc:
                    answer["again"] = type(exc).__name__
        except Exception as exc:
            answer["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        answer["after"] = type(getattr(uow, "session", None)).__name__
    finally:
        await engine.dispose()
    return answer


async def repository_probe(ns, loader, database_url, calls):
    """Probe: repository calls inside one unit of work each; results as plain data, with statement counts."""
    import importlib

    import sqlalchemy
    from sqlalchemy import event

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")
    unit_of_work = importlib.import_module("app.repositories.unit_of_work")

    def plain(obj):
        if obj is None:
            return None
        if isinstance(obj, list):
            return [plain(item) for item in obj]
        state = sqlalchemy.inspect(obj)
        values = {attribute.key: state.dict.get(attribute.key) for attribute in state.mapper.column_attrs}
        if "lines" in state.mapper.relationships:
            lines = state.dict.get("lines")
            values["lines"] = None if lines is None else sorted([line.book_id, line.quantity] for line in lines)
        return values

    engine = database.make_engine(database_url)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    results = []
    try:
        uow = unit_of_work.UnitOfWork(database.make_sessionmaker(engine))
        for repository, method, args, kwargs in calls:
            statements.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", record)
            try:
                async with uow:
                    value = await getattr(getattr(uow, repository), method)(*args, **kwargs)
                    results.append({"value": plain(value), "raised": None, "statements": list(statements)})
            except Exception as exc:
                results.append({"value": None, "raised": f"{type(exc).__name__}: {str(exc)[:300]}", "statements": []})
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", record)
    finally:
        await engine.dispose()
    return results


async def service_probe(ns, loader, database_url, module, function, kwargs, jwt_secret):
    """Probe: ``app.services.<module>.<function>(uow, ...)`` with a new unit of work; what it returned or raised,
    and how many password verifications it ran: calls of pwdlib's ``PasswordHash.verify``, which core/security.py's
    ``verify_password`` makes (a hasher called another way is not counted).

    ``settings`` and ``now`` are passed when the function takes them."""
    import importlib
    import inspect
    from datetime import UTC, datetime

    import pwdlib
    import sqlalchemy

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    database = importlib.import_module("app.core.database")
    config = importlib.import_module("app.core.config")
    unit_of_work = importlib.import_module("app.repositories.unit_of_work")
    service = getattr(importlib.import_module(f"app.services.{module}"), function)

    def plain(obj):
        if isinstance(obj, list):
            return [plain(item) for item in obj]
        if isinstance(obj, str | int | float | bool) or obj is None:
            return obj
        try:
            state = sqlalchemy.inspect(obj)
        except Exception:
            return {"not_a_model": type(obj).__name__}
        values = {attribute.key: state.dict.get(attribute.key) for attribute in state.mapper.column_attrs}
        values["model"] = type(obj).__name__
        if "lines" in state.mapper.relationships:
            lines = state.dict.get("lines")
            values["lines"] = None if lines is None else sorted([line.book_id, line.quantity] for line in lines)
        if "author" in state.mapper.relationships:
            author = state.dict.get("author")
            values["author"] = None if author is None else author.name
        return values

    parameters = inspect.signature(service).parameters
    extra = {}
    if "settings" in parameters:
        extra["settings"] = config.Settings(database_url=database_url, jwt_secret=jwt_secret)
    if "now" in parameters:
        extra["now"] = datetime.now(UTC)
    lines = kwargs.pop("lines", None)
    if lines is not None:
        kwargs["lines"] = [tuple(line) for line in lines]
    verifications = []
    original_verify = pwdlib.PasswordHash.verify

    def counted_verify(self, *args, **kwargs):
        verifications.append(1)
        return original_verify(self, *args, **kwargs)

    engine = database.make_engine(database_url)
    pwdlib.PasswordHash.verify = counted_verify
    try:
        uow = unit_of_work.UnitOfWork(database.make_sessionmaker(engine))
        try:
            value = await service(uow, **extra, **kwargs)
        except Exception as exc:
            return {
                "raised": type(exc).__name__,
                "message": str(exc)[:300],
                "value": None,
                "verifications": len(verifications),
            }
        return {"raised": None, "message": "", "value": plain(value), "verifications": len(verifications)}
    finally:
        pwdlib.PasswordHash.verify = original_verify
        await engine.dispose()


async def sources_probe(ns, folders):
    """Probe: the text of every ``.py`` file under ``folders`` of the project (relative paths)."""
    from pathlib import Path

    if "PROJECT" not in ns:
        raise NameError("name 'PROJECT' is not defined (run the setup cell at the top of the notebook)")
    root = Path(ns["PROJECT"]).resolve()
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            found[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    return found


async def import_probe(ns, loader, modules, routes=False):
    """Probe: import each module fresh; what failed, what each defines, and (``routes``) the app's routes."""
    import importlib

    scope = {}
    exec(loader, scope)
    scope["load_project"](ns)
    answer = {"modules": {}, "routes": None}
    for module in modules:
        try:
            imported = importlib.import_module(module)
        except Exception as exc:
            answer["modules"][module] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}", "names": [], "routes": []}
            continue
        router = getattr(imported, "router", None)
        answer["modules"][module] = {
            "error": None,
            "names": sorted(vars(imported)),
            # an APIRouter's routes carry its prefix already
            "routes": [
                [route.path, method]
                for route in getattr(router, "routes", [])
                for method in sorted(getattr(route, "methods", None) or [])
            ],
        }
    if routes:
        try:
            document = importlib.import_module("app.main").app.openapi()
            answer["routes"] = [[path, method.upper()] for path, item in document["paths"].items() for method in item]
        except Exception as exc:
            answer["routes"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return answer


async def alembic_probe(ns, loader, database_url, steps):
    """Probe: Alembic commands (``["upgrade", "head"]``...) with the project's alembic.ini, on a worker thread.

    Stops at the first step that raises; also reports the script directory's heads and revisions."""
    import asyncio

    scope = {}
    exec(loader, scope)
    root = scope["load_project"](ns)
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not (root / "alembic.ini").is_file():
        raise FileNotFoundError("alembic.ini is not in the project folder (run its cell)")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["configure_logger"] = False
    answer = {"steps": [], "heads": None, "revisions": None}
    try:
        script = ScriptDirectory.from_config(config)
        answer["heads"] = list(script.get_heads())
        answer["revisions"] = [[rev.revision, rev.down_revision] for rev in script.walk_revisions()]
    except Exception as exc:
        answer["heads"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    for action, target in steps:
        try:
            arguments = (config,) if target is None else (config, target)  # `check` takes no revision
            await asyncio.to_thread(getattr(command, action), *arguments)
        except (Exception, SystemExit) as exc:  # SystemExit from a broken env.py is an answer too
            answer["steps"].append([action, target, f"{type(exc).__name__}: {str(exc)[:4000]}"])
            break
        answer["steps"].append([action, target, None])
    return answer


async def uvicorn_start(ns, database_url, jwt_secret):
    """Probe: start ``python -m uvicorn app.main:app`` in the project folder on a Unix socket."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if "PROJECT" not in ns:
        raise NameError("name 'PROJECT' is not defined (run the setup cell at the top of the notebook)")
    root = Path(ns["PROJECT"]).resolve()
    folder = Path(tempfile.mkdtemp(prefix="uvicorn-", dir="/tmp" if os.path.isdir("/tmp") else None))
    socket_path, log_path = folder / "app.sock", folder / "uvicorn.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKSHOP_")}
    env |= {"BOOKSHOP_DATABASE_URL": database_url, "BOOKSHOP_JWT_SECRET": jwt_secret, "PYTHONPATH": str(root)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--uds", str(socket_path), "--no-access-log"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ns.setdefault("_uvicorn_processes", {})[process.pid] = process  # reaped by uvicorn_stop
    return {"pid": process.pid, "socket": str(socket_path), "log": str(log_path)}


async def uvicorn_get(ns, pid, socket, log, path):
    """Probe: GET ``path`` from the server on ``socket``; its status and body, or why there is none yet."""
    from pathlib import Path

    import httpx

    process = ns.get("_uvicorn_processes", {}).get(pid)
    if process is not None and process.poll() is not None:
        text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        return {"state": "exited", "code": process.returncode, "log": text[-1500:]}
    if not Path(socket).exists():
        return {"state": "starting"}
    transport = httpx.AsyncHTTPTransport(uds=socket)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bookshop", timeout=3) as client:
            response = await client.get(path)
    except httpx.TransportError as exc:
        return {"state": "starting", "error": f"{type(exc).__name__}: {exc}"}
    return {
        "state": "answered",
        "status": response.status_code,
        "type": response.headers.get("content-type", ""),
        "body": response.text[:3000],
    }


async def uvicorn_stop(ns, pid, log):
    """Probe: stop the server (SIGTERM, then SIGKILL) and return the end of its log."""
    import subprocess
    from pathlib import Path

    process = ns.get("_uvicorn_processes", {}).pop(pid, None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return Path(log).read_text(errors="replace")[-1500:] if Path(log).exists() else ""
