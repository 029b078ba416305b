"""Find secrets and personal data in what an API sends back: a recursive scanner for checks.

A check collects what must never leave the API (the passwords it typed, the emails of customers
other than the caller, the hashes it can read in the database) and scans every response with it.
The scanner walks any JSON value (dicts, lists, strings, numbers), dict keys included, and reports
each place where something forbidden appears, as plain strings a failure message can quote:

    forbidden = {"Ada's analytical engine": "Ada's password", "grace@example.com": "Grace's email"}
    find_leaks({"items": [{"email": "grace@example.com"}]}, forbidden)
    # ['$.items[0].email: Grace\'s email']
    find_leaks({"hashed_password": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"})
    # ['$.hashed_password: a field named "hashed_password"', '$.hashed_password: an argon2 password hash']
    scan_response(response, forbidden)   # the body (JSON or text) and every header of an httpx response

What counts as a leak:
- a forbidden value, matched as a case-insensitive substring of any string or key (so it is found
  inside a longer message, ``"grace@example.com is already registered"``), also after URL-decoding
  (a ``Location`` header, a query string); values shorter than ``MIN_NEEDLE`` characters are ignored;
- anything that looks like a password hash, whoever it belongs to (``HASH_PATTERNS``: argon2,
  bcrypt, scrypt/pbkdf2 in modular crypt format, sha-crypt, and 64 hex digits such as a SHA-256
  digest), unless ``hashes=False``;
- a key named like a password field (``SECRET_KEYS``: ``password``, ``hashed_password``, ...), even
  when its value is empty: the schema exposes the field;
- the same, inside the readable payload of a JSON Web Token found in a string (a JWT is signed, not
  encrypted: whoever holds one reads its claims), unless ``decode_jwts=False``.

It depends on nothing but the standard library and returns plain data, so it runs equally in the
grader's process and in a probe.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

MIN_NEEDLE = 4  # a forbidden value shorter than this would match by chance (an id, a short name)

# (description, pattern): what a stored password hash looks like, whichever library made it.
HASH_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an argon2 password hash", re.compile(r"\$argon2(?:id|i|d)\$")),
    ("a bcrypt password hash", re.compile(r"\$2[abxy]?\$\d{2}\$")),
    ("a scrypt or pbkdf2 password hash", re.compile(r"\$(?:scrypt|pbkdf2[\w-]*|7)\$")),
    ("a sha-crypt password hash", re.compile(r"\$[156]\$(?:rounds=\d+\$)?[./0-9A-Za-z]{1,16}\$")),
    ("a 64-hex-digit digest (a SHA-256 hash?)", re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")),
)

# Field names that expose a password or its hash, compared without case, "-" and "_".
SECRET_KEYS = frozenset({"password", "hashedpassword", "passwordhash", "passwd", "pwhash", "pwd"})

_JWT = re.compile(r"\beyJ[\w-]*\.eyJ[\w-]*\.[\w-]*")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def normalise_forbidden(forbidden: Mapping[str, str] | Iterable[str]) -> list[tuple[str, str]]:
    """``(needle, label)`` pairs, needles case-folded: a mapping gives each value its label (what it
    is, for the message), a plain iterable labels every value ``a forbidden value ('...')``."""
    pairs = (
        forbidden.items() if isinstance(forbidden, Mapping) else ((v, f"a forbidden value ({v!r})") for v in forbidden)
    )
    return [(str(needle).casefold(), label) for needle, label in pairs if needle and len(str(needle)) >= MIN_NEEDLE]


def looks_like_hash(text: str) -> str | None:
    """The description of the first password-hash pattern ``text`` contains, or None."""
    for description, pattern in HASH_PATTERNS:
        if pattern.search(text):
            return description
    return None


def is_secret_key(name: str) -> bool:
    """Whether a field called ``name`` holds a password or its hash (``hashed_password``, ``Password``...)."""
    return re.sub(r"[-_\s]", "", name).casefold() in SECRET_KEYS


def child_path(path: str, key: Any) -> str:
    """JSONPath-like: ``$.email``, ``$["odd key"]``, ``$[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key)}]"


def _jwt_claims(token: str) -> Any:
    """The decoded payload of something shaped like a JWT, or None."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


class _Scanner:
    def __init__(self, forbidden: Mapping[str, str] | Iterable[str], hashes: bool, decode_jwts: bool) -> None:
        self.needles = normalise_forbidden(forbidden)
        self.hashes = hashes
        self.decode_jwts = decode_jwts
        self.findings: list[str] = []

    def report(self, path: str, what: str) -> None:
        finding = f"{path}: {what}"
        if finding not in self.findings:
            self.findings.append(finding)

    def text(self, text: str, path: str, where: str = "") -> None:
        """Report what a string (a value, or a key when ``where`` says so) contains."""
        variants = {text, unquote(text)}
        folded = {variant.casefold() for variant in variants}
        for needle, label in self.needles:
            if any(needle in variant for variant in folded):
                self.report(path, label + where)
        if self.hashes:
            for variant in variants:
                description = looks_like_hash(variant)
                if description:
                    self.report(path, description + where)
                    break
        if self.decode_jwts:
            for token in _JWT.findall(text):
                claims = _jwt_claims(token)
                if claims is not None:
                    self.value(claims, f"{path} (JWT claims)")

    def value(self, value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                key_text = str(key)
                here = child_path(path, key_text)
                if is_secret_key(key_text):
                    self.report(here, f"a field named {json.dumps(key_text)}")
                self.text(key_text, here, " (in the key)")
                self.value(item, here)
        elif isinstance(value, list | tuple | set | frozenset):
            for index, item in enumerate(value):
                self.value(item, child_path(path, index))
        elif isinstance(value, bytes):
            self.text(value.decode("utf-8", errors="replace"), path)
        elif isinstance(value, str):
            self.text(value, path)
        elif value is not None and not isinstance(value, bool | int | float):
            self.text(str(value), path)  # not JSON: scan what it would print as


def find_leaks(
    value: Any,
    forbidden: Mapping[str, str] | Iterable[str] = (),
    *,
    hashes: bool = True,
    decode_jwts: bool = True,
    root: str = "$",
) -> list[str]:
    """Every place in ``value`` (any JSON value) where a forbidden value, a password hash or a
    password field appears, as ``"<path>: <what>"`` strings in the order found (empty: no leak)."""
    scanner = _Scanner(forbidden, hashes, decode_jwts)
    scanner.value(value, root)
    return scanner.findings


def scan_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    forbidden: Mapping[str, str] | Iterable[str] = (),
    *,
    hashes: bool = True,
) -> list[str]:
    """Leaks in HTTP headers (a mapping, or name-value pairs so repeated headers all count), each
    reported as ``header <name>: <what>``."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    scanner = _Scanner(forbidden, hashes, decode_jwts=True)
    for name, value in pairs:
        scanner.text(str(value), f"header {str(name).lower()}")
    return scanner.findings


def scan_response(
    response: Any, forbidden: Mapping[str, str] | Iterable[str] = (), *, hashes: bool = True
) -> list[str]:
    """Leaks in a response (anything with ``.headers`` and ``.text``, such as an ``httpx.Response``):
    its body, parsed as JSON when it is JSON and scanned as text otherwise, then its headers."""
    text = response.text
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    headers = response.headers
    pairs = headers.multi_items() if hasattr(headers, "multi_items") else headers
    return find_leaks(body, forbidden, hashes=hashes, root="body $") + scan_headers(pairs, forbidden, hashes=hashes)


def summarise(findings: list[str], limit: int = 4) -> str:
    """The first ``limit`` findings joined for a message, with how many more there are."""
    shown = "; ".join(findings[:limit])
    return shown + (f"; and {len(findings) - limit} more" if len(findings) > limit else "")
