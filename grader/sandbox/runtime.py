"""The learner side: runs notebook cells and answers the grader's requests with plain data.

The same ``LearnerRuntime`` serves the sandboxed worker process (requests arrive as JSON over a
pipe) and the in-notebook check (requests are handed over in-process). Every answer is a JSON-able
dict, so a test sees the same observations whichever side of a process boundary it runs on.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import inspect
import itertools
import json
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

from IPython.core.compilerop import code_name
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from grader.sandbox.dbserver import counted
from grader.sandbox.limits import MAX_ANSWER_BYTES

_statements: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("grader_statements", default=None)
_open_transactions: contextvars.ContextVar[list[tuple[str, int]] | None] = contextvars.ContextVar(
    "grader_open_transactions", default=None
)
_listener_installed = False


def _record_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    collected = _statements.get()
    if collected is not None and counted(statement):
        collected.append(" ".join(statement.split()))


def record_open_transactions(database: str, count: int) -> None:
    """A checkpoint seen in this process (an in-notebook check); under the grader the bridge takes them."""
    collected = _open_transactions.get()
    if collected is not None:
        collected.append((database, count))


def install_statement_counter() -> None:
    """Count every statement any SQLAlchemy engine sends, attributed to the request that sent it.

    Listening on the ``Engine`` class catches the learner's engines whatever they are called; the
    context variable follows each request through SQLAlchemy's greenlets, so concurrent requests
    are counted apart.
    """
    global _listener_installed
    if _listener_installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _record_statement)
    _listener_installed = True


MAX_ERROR_TEXT = 500


# The file name IPython compiled each learner cell under -> the cell's grade id, as the grader named it.
_cell_files: dict[str, str] = {}
# The exceptions the learner's app raised while the current request ran (see ``_Recorded``).
_app_errors: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar("app_errors", default=None)


def _cell_frame(file: str, name: str) -> tuple[str, str | None] | None:
    """A frame's learner cell and function (None for a cell's top level), or None for library code."""
    cell = _cell_files.get(file)
    return None if cell is None else (cell, None if name == "<module>" else name)


def learner_frames(exc: BaseException) -> list[tuple[str, str | None]]:
    """The learner cell and function of each frame of ``exc``'s traceback that is a cell's code, outermost
    first: where in the notebook it went wrong, whatever library code lies between."""
    found: list[tuple[str, str | None]] = []
    trace = exc.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if (frame := _cell_frame(code.co_filename, code.co_name)) is not None:
            found.append(frame)
        trace = trace.tb_next
    return found


def _placed(kind: str, message: str, frames: list[tuple[str, str | None]]) -> dict[str, Any]:
    """``error_info`` data: where it happened is the innermost learner frame, who led there the outermost."""
    (caller_cell, caller_function), (cell, function) = (frames[0], frames[-1]) if frames else ((None, None),) * 2
    return {
        "type": kind[:100],
        "message": message[:MAX_ERROR_TEXT],
        "cell": cell,
        "function": function,
        "caller_cell": caller_cell,
        "caller_function": caller_function,
    }


def error_info(exc: BaseException) -> dict[str, Any]:
    """An exception as plain data. Its text is the learner's and may end up in their feedback, so it
    is kept short: a long message is a way to smuggle out what a probe looked like."""
    return _placed(type(exc).__name__, str(exc), learner_frames(exc))


# Coroutines the learner's code created and never awaited, as their warnings fired: a missing `await` in one
# exercise otherwise shows up as another's error (a coroutine where a row was expected), far from its cause.
_unawaited: list[dict[str, Any]] = []
_warning_hook_installed = False
UNAWAITED = "was never awaited"
MAX_UNAWAITED = 3


def unawaited_info(message: warnings.WarningMessage) -> dict[str, Any]:
    """An unawaited coroutine's warning as ``error_info`` data: the learner cell and function that called the
    async function without ``await`` (the coroutine's origin), and the outermost learner caller."""
    origin = getattr(message.source, "cr_origin", None) or ()  # most recent call first: reversed below
    frames = [frame for file, _, name in reversed(origin) if (frame := _cell_frame(file, name)) is not None]
    text = str(message.message).split("\n", 1)[0]
    return _placed("RuntimeWarning", f"{text} (an async function called without `await`)", frames)


def install_unawaited_hook() -> None:
    """Note every unawaited coroutine's warning, with where the coroutine was made, and still show it. For the
    sandboxed worker only: a notebook's kernel keeps its own warnings (a check cell that wrote one to stderr
    would score 0 under nbgrader)."""
    global _warning_hook_installed
    if _warning_hook_installed:
        return
    sys.set_coroutine_origin_tracking_depth(8)
    warnings.filterwarnings("always", message=f".*{UNAWAITED}", category=RuntimeWarning)
    # A private hook, absent from typeshed: the one CPython calls with the warning's source (the coroutine).
    show = warnings._showwarnmsg  # type: ignore[attr-defined]

    def note(message: warnings.WarningMessage) -> None:
        # The first few are kept: the first is usually the cause, the rest follow from it.
        unawaited = issubclass(message.category, RuntimeWarning) and UNAWAITED in str(message.message)
        if unawaited and len(_unawaited) < MAX_UNAWAITED:
            _unawaited.append(unawaited_info(message))
        show(message)

    warnings._showwarnmsg = note  # type: ignore[attr-defined]  # the same private hook
    _warning_hook_installed = True


def take_unawaited() -> list[dict[str, Any]]:
    """The unawaited coroutines noted since the last answer. No collection is forced to find more: a coroutine
    in a reference cycle warns when the collector frees it, and a full collection in a process that forked a
    thousand copies of itself (a fork bomb) takes longer than a request may."""
    taken = list(_unawaited)
    _unawaited.clear()
    return taken


class _Recorded:
    """The learner's app, with the exception it let out noted for the request that caused it: a server
    answers 500 and logs it; the check then says what it was and where in the notebook it was raised."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            errors = _app_errors.get()
            if errors is not None:
                errors.append(exc)
            raise


def too_large(size: int) -> dict[str, Any]:
    message = f"the value is {size / 2**20:.1f} MiB as JSON, over the {MAX_ANSWER_BYTES // 2**20} MiB a check reads"
    return {"ok": False, "value": None, "error": {"type": "AnswerTooLarge", "message": message}, "statements": []}


def make_shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Minimal"
    return InteractiveShell.instance(config=config)


def load_probe(source: str, name: str) -> Callable[..., Any]:
    """Compile a probe the grader sent (the source of one top-level function) and return it."""
    source = textwrap.dedent(source)
    # Named as IPython names a cell, in a module called as the notebook's is, and renamed as a cell's top
    # level: a caller's frame does not say "probe". Its globals are still not the notebook's, and the stack
    # above it is not a request's: what that leaves open is in "What remains" of the README's threat model.
    namespace: dict[str, Any] = {"__name__": "__main__"}
    # dont_inherit: this module's `from __future__ import annotations` must not turn the annotations
    # of a probe's models (Mapped[int], pydantic fields) into strings that cannot be resolved.
    exec(compile(source, code_name(source, 1), "exec", dont_inherit=True), namespace)
    probe = namespace[name]
    probe.__code__ = probe.__code__.replace(co_name="<module>", co_qualname="<module>")
    return probe


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class LearnerRuntime:
    """Holds the learner's namespace and answers requests about it."""

    def __init__(self, namespace: dict[str, Any], shell: InteractiveShell | None = None) -> None:
        self.namespace = namespace
        self.shell = shell
        self._apps: dict[int, Any] = {}
        self._clients: dict[int, Any] = {}
        self._ids = itertools.count(1)
        install_statement_counter()

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Dispatch one request; the answer always carries the statements it caused."""
        op = request.get("op")
        method = getattr(self, f"op_{op}", None)
        if method is None:
            return {"error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}
        collected: list[str] = []
        checkpoints: list[tuple[str, int]] = []
        token = _statements.set(collected)
        checkpoints_token = _open_transactions.set(checkpoints)
        try:
            answer = await method(**request.get("args", {}))
        except Exception as exc:  # the learner's failure is an observation, not a crash
            answer = {"error": error_info(exc)}
        finally:
            _statements.reset(token)
            _open_transactions.reset(checkpoints_token)
        answer["statements"] = collected
        answer["open_transactions"] = checkpoints
        if unawaited := take_unawaited():
            answer["unawaited"] = unawaited
        text = json.dumps(answer, default=repr)  # ASCII (ensure_ascii): one byte a character on the pipe
        if len(text) > MAX_ANSWER_BYTES - 1024:  # room for the request id the worker adds
            return too_large(len(text))
        return json.loads(text)

    async def op_run_cell(self, source: str, grade_id: str | None = None) -> dict[str, Any]:
        if self.shell is None:
            raise RuntimeError("this runtime has no shell to run cells in")
        transformed = self.shell.transform_cell(source)
        if grade_id is not None:
            _cell_files[self.shell.compile.get_code_name(source, transformed, self.shell.execution_count)] = grade_id
        result = await self.shell.run_cell_async(source, store_history=False, transformed_cell=transformed)
        exc = result.error_before_exec or result.error_in_exec
        return {"ok": exc is None, "error": error_info(exc) if exc else None}

    async def op_probe(self, source: str, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        probe = load_probe(source, name)
        try:
            value = await maybe_await(probe(self.namespace, **kwargs))
        except Exception as exc:
            return {"value": None, "error": error_info(exc)}
        return {"value": value, "error": None}

    async def op_call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        if name not in self.namespace:
            return {"value": None, "error": {"type": "NameError", "message": f"name {name!r} is not defined"}}
        try:
            value = await maybe_await(self.namespace[name](*args, **kwargs))
        except Exception as exc:
            return {"value": None, "error": error_info(exc)}
        return {"value": value, "error": None}

    async def op_defined(self, names: list[str]) -> dict[str, Any]:
        return {"value": {name: name in self.namespace for name in names}, "error": None}

    async def op_app_start(self, source: str, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        import httpx

        factory = load_probe(source, name)
        try:
            app = await maybe_await(factory(self.namespace, **kwargs))
        except Exception as exc:
            return {"value": None, "error": error_info(exc)}
        handle = next(self._ids)
        self._apps[handle] = app
        # Errors become 500 responses, as a real server would answer, instead of being re-raised.
        transport = httpx.ASGITransport(app=_Recorded(app), raise_app_exceptions=False)
        self._clients[handle] = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        return {"value": handle, "error": None}

    async def op_http(self, handle: int, method: str, url: str, headers: list[list[str]], body: str) -> dict[str, Any]:
        client = self._clients[handle]
        errors: list[BaseException] = []
        token = _app_errors.set(errors)
        try:
            response = await client.request(
                method, url, headers=[tuple(h) for h in headers], content=base64.b64decode(body)
            )
        finally:
            _app_errors.reset(token)
        return {
            "status": response.status_code,
            "headers": [[k, v] for k, v in response.headers.multi_items()],
            "body": base64.b64encode(response.content).decode(),
            "raised": error_info(errors[0]) if errors else None,
        }

    async def op_app_stop(self, handle: int) -> dict[str, Any]:
        client = self._clients.pop(handle, None)
        app = self._apps.pop(handle, None)
        if client is not None:
            await client.aclose()
        await _dispose_engine(app)
        return {"value": None, "error": None}


async def _dispose_engine(app: Any) -> None:
    """Close the pooled connections of the app's engine (``app.state.engine``) on the loop of the test that
    used them. Left to the garbage collector after that loop has closed, each would make aiosqlite's thread
    print "Event loop is closed" on stderr in whatever cell runs then, which nbgrader scores as a failure."""
    engine = getattr(getattr(app, "state", None), "engine", None)
    dispose = getattr(engine, "dispose", None)
    if not callable(dispose):
        return
    with contextlib.suppress(Exception):  # the learner's engine; a broken one is its own checks' business
        await maybe_await(dispose())
