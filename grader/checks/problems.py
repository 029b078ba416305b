"""RFC 9457 problem details and leak scans, for checks of an API's error responses.

Runs in the grader's process on plain ``httpx.Response`` objects (what the ``client`` fixture
returns), so the verdict never depends on code the learner wrote.

    issues = problem_issues(response, status=404)     # [] when the response is a proper problem
    expect(not issues, f"GET /books/99 is not a problem details response: {'; '.join(issues)}.")

    leaks = leak_issues(response.text, exception_names=["OperationalError"], secrets=["customer_secrets"])
    expect(not leaks, f"The 500 shows server internals: {'; '.join(leaks)}.")

What this course requires of a problem (RFC 9457, section 3, made stricter where the RFC only
recommends): the content type ``application/problem+json``; a JSON object body with the members
``type`` (a non-empty string without spaces: a URI reference, ``about:blank`` by default),
``title`` (a non-empty string), ``status`` (an integer, **equal to the HTTP status** of the
response) and ``detail`` (a string). Extension members are allowed.

Each function returns a list of problems as plain sentences (empty when all is well), so a check
can join them into its own message and add a hint that names the likely cause.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

PROBLEM_JSON = "application/problem+json"
# The members every problem must have, and the JSON type each must be.
REQUIRED_MEMBERS: dict[str, type] = {"type": str, "title": str, "status": int, "detail": str}
JSON_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array"}


class ResponseLike(Protocol):
    """What the checks read of a response (``httpx.Response`` has all of it)."""

    status_code: int
    headers: Any
    content: bytes


def media_type(response: ResponseLike) -> str:
    """The response's media type without parameters, lower case (``application/problem+json``)."""
    return str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def json_body(response: ResponseLike) -> Any:
    """The decoded JSON body, or None when the body is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def describe(response: ResponseLike, limit: int = 300) -> str:
    """A short account of a response for a message: ``404 application/json {"detail":"Not Found"}``."""
    text = response.content.decode("utf-8", errors="replace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"{response.status_code} {media_type(response) or '(no content type)'} {text}".rstrip()


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def member_issues(body: Any, status: int) -> list[str]:
    """What keeps a decoded body from being a problem object for an HTTP ``status``."""
    if not isinstance(body, dict):
        return [f"the body is {_json_type_name(body)}, not a JSON object"]
    issues = []
    for name, kind in REQUIRED_MEMBERS.items():
        if name not in body:
            issues.append(f"the member `{name}` is missing")
            continue
        value = body[name]
        # bool is a subclass of int in Python, but `true` is not an integer in JSON.
        if not isinstance(value, kind) or isinstance(value, bool):
            issues.append(f"`{name}` is {_json_type_name(value)} ({value!r}), expected {JSON_TYPE_NAMES[kind]}")
    problem_type, title, member_status = body.get("type"), body.get("title"), body.get("status")
    if isinstance(problem_type, str) and (not problem_type or any(ch.isspace() for ch in problem_type)):
        issues.append(f"`type` is {problem_type!r}, expected a URI reference such as 'about:blank'")
    if isinstance(title, str) and not title.strip():
        issues.append("`title` is empty")
    if isinstance(member_status, int) and not isinstance(member_status, bool) and member_status != status:
        issues.append(f"the member `status` is {member_status} but the response's HTTP status is {status}")
    return issues


def problem_issues(response: ResponseLike, status: int | None = None) -> list[str]:
    """What keeps ``response`` from being an RFC 9457 problem (with HTTP ``status``, if given)."""
    issues = []
    if status is not None and response.status_code != status:
        issues.append(f"the HTTP status is {response.status_code}, expected {status}")
    found = media_type(response)
    if found != PROBLEM_JSON:
        issues.append(f"the content type is {found or 'missing'}, expected {PROBLEM_JSON}")
    body = json_body(response)
    if body is None and response.content.strip() not in (b"null",):
        issues.append("the body is not JSON")
        return issues
    return issues + member_issues(body, response.status_code)


def is_problem(response: ResponseLike, status: int | None = None) -> bool:
    return not problem_issues(response, status)


# -- leak scan ----------------------------------------------------------------------------------------

# Each kind of server internal, with the patterns that give it away. SQL keywords are matched in upper
# case, as SQLAlchemy and drivers print them, so that English words in a detail do not count.
LEAK_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "a traceback": [
        re.compile(r"Traceback \(most recent call last\)"),
        re.compile(r"File \"[^\"]+\", line \d+"),
        re.compile(r"\bline \d+, in [\w<>]+"),
    ],
    "a file path": [
        re.compile(
            r"(?:[A-Za-z]:)?[\\/](?:[\w.-]+[\\/])*[\w.-]+\.(?:py|pyc|pyi|so|sqlite3?|db|toml|ini|cfg|env|log|ya?ml|pem|key)\b"
        ),
        re.compile(r"(?<![\w/.:-])/(?:home|usr|srv|var|etc|opt|root|tmp|Users|app)/[\w.@+-]+"),
        re.compile(r"\b(?:site|dist)-packages\b"),
    ],
    "SQL": [
        re.compile(r"\[SQL: "),
        re.compile(r"\bSELECT\b[^\n]{0,300}?\bFROM\b"),
        re.compile(r"\bINSERT INTO\b"),
        re.compile(r"\bUPDATE\s+\"?\w+\"?\s+SET\b"),
        re.compile(r"\bDELETE FROM\b"),
        re.compile(r"\b(?:CREATE|DROP|ALTER) TABLE\b"),
        re.compile(r"\bno such (?:table|column)\b", re.IGNORECASE),
        re.compile(r"\bsqlalche\.me\b"),
        re.compile(r"\b(?:sqlite3|psycopg2?|asyncpg|aiosqlite|pymysql)\.\w+"),
    ],
    "a connection string": [
        re.compile(
            r"\b(?:postgres(?:ql)?|mysql|mariadb|sqlite|oracle|mssql|mongodb(?:\+srv)?|redis|amqp)(?:\+\w+)?://",
            re.IGNORECASE,
        ),
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/@:\"']+:[^\s/@\"']+@"),  # user:password@host
    ],
    "an exception class name": [
        re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning)\b"),
        re.compile(
            r"\b(?:KeyboardInterrupt|StopIteration|StopAsyncIteration|SystemExit|GeneratorExit|MissingGreenlet)\b"
        ),
    ],
}


def _excerpt(text: str, match: re.Match[str], around: int = 30) -> str:
    start, end = max(0, match.start() - around), min(len(text), match.end() + around)
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def leak_issues(text: str, *, exception_names: Iterable[str] = (), secrets: Iterable[str] = ()) -> list[str]:
    """The server internals ``text`` (a response body) shows, one sentence per kind, with an excerpt.

    Kinds: a traceback, a file path, SQL, a connection string, an exception class name (any name
    ending in Error/Exception/Warning, plus ``exception_names``), and any of ``secrets`` (text the
    check planted in the failure, e.g. a table name or a password in an exception's message).
    An empty list means nothing was found.
    """
    issues = []
    for kind, patterns in LEAK_PATTERNS.items():
        extra = [re.compile(rf"\b{re.escape(name)}\b") for name in exception_names if name]
        for pattern in patterns + (extra if kind == "an exception class name" else []):
            found = pattern.search(text)
            if found:
                issues.append(f"{kind} ({_excerpt(text, found)!r})")
                break
    for secret in secrets:
        if secret and secret in text:
            issues.append(f"text from the exception's message ({secret!r})")
    return issues
