"""Forge JSON Web Tokens for checks: valid ones, and every kind a careful API must refuse.

Runs in the grader's process and depends on nothing but the standard library: the tokens are built
byte by byte (base64url JSON, HMAC signatures), so a check can make exactly the token it means,
including ones no JWT library would produce (``alg: none``, a payload changed after signing).

    claims = standard_claims("1", at=now)                     # sub, iat, exp = now + 15 minutes, iss, aud
    good = sign(claims, TEST_KEY)                             # HS256, what the app itself would issue
    sign(claims, TEST_KEY, algorithm="HS512")                 # the right key, another algorithm
    sign(claims, "another key of at least 32 bytes....")      # another key
    unsigned(claims)                                          # alg: none, empty signature
    tamper(good, sub="2")                                     # payload changed, old signature kept
    sign(standard_claims("1", at=now, exp=None), TEST_KEY)    # a claim left out
    read(good)                                                # (header, claims), unverified
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

HMAC_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# The key the apps the checks build sign with: random, 43 bytes, printed in no tutorial. The grader knows
# it, so a check forges exactly the token it means instead of logging in (argon2 is slow on purpose).
TEST_KEY = "AMZEUkiEJgmTJLbATYODFuv6B14pwI7ZVU301B00j8I"
# Who issues the bookshop's tokens and whom they are for: the settings' defaults (chapter 05).
ISSUER = "bookshop"
AUDIENCE = "bookshop-api"
_OMIT = object()


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def encode_json(value: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def numeric_date(at: datetime) -> int:
    """A JWT NumericDate: whole seconds since 1970 (a naive datetime is taken as UTC)."""
    from grader.checks.clock import seconds

    return seconds(at)


def standard_claims(
    subject: Any = "1",
    *,
    at: datetime,
    minutes: float = 15,
    exp: Any = _OMIT,
    iat: Any = _OMIT,
    sub: Any = _OMIT,
    **extra: Any,
) -> dict[str, Any]:
    """``sub``, ``iat``, ``exp``, ``iss`` and ``aud`` as an app issuing a token at ``at`` would write them,
    plus ``extra``.

    Pass ``exp=None`` (or ``iat=None``, ``sub=None``, ``iss=None``, ``aud=None``) to leave a claim out, or
    a value to replace it (datetimes become NumericDates). Extra claims with the value None are left out too.
    """
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": numeric_date(at),
        "exp": numeric_date(at + timedelta(minutes=minutes)),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    for name, value in {"exp": exp, "iat": iat, "sub": sub, **extra}.items():
        if value is _OMIT:
            continue
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = numeric_date(value) if isinstance(value, datetime) else value
    return claims


def signature(signing_input: str, key: str | bytes, algorithm: str) -> str:
    if algorithm not in HMAC_ALGORITHMS:
        raise ValueError(f"only {sorted(HMAC_ALGORITHMS)} can be signed here, not {algorithm!r}")
    secret = key.encode() if isinstance(key, str) else key
    return b64url_encode(hmac.new(secret, signing_input.encode("ascii"), HMAC_ALGORITHMS[algorithm]).digest())


def sign(
    claims: dict[str, Any], key: str | bytes, algorithm: str = "HS256", header: dict[str, Any] | None = None
) -> str:
    """A token with ``claims``, signed with ``key`` by an HMAC ``algorithm``; ``header`` adds or replaces fields."""
    head = {"alg": algorithm, "typ": "JWT", **(header or {})}
    signing_input = f"{encode_json(head)}.{encode_json(claims)}"
    return f"{signing_input}.{signature(signing_input, key, algorithm)}"


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    """An unsecured JWT (RFC 7519, section 6): header ``alg: none`` and an empty signature.
    ``alg`` may be a variant spelling (``"None"``, ``"NONE"``) that some verifiers miss."""
    return f"{encode_json({'alg': alg, 'typ': 'JWT'})}.{encode_json(claims)}."


def read(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token, without verifying anything (raises ValueError if malformed)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"a JWT has 3 dot-separated parts, this one has {len(parts)}")
    try:
        return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a JWT: {exc}") from None


def verifies(token: str, key: str | bytes, algorithm: str = "HS256") -> bool:
    """Whether ``token`` carries a valid ``algorithm`` signature made with ``key`` (and says so in its header)."""
    try:
        header, _ = read(token)
    except ValueError:
        return False
    signing_input, _, given = token.rpartition(".")
    return header.get("alg") == algorithm and hmac.compare_digest(signature(signing_input, key, algorithm), given)


def tamper(token: str, **changes: Any) -> str:
    """``token`` with its claims changed (a value of None removes a claim) and the old signature kept."""
    head, body, sig = token.split(".")
    claims = json.loads(b64url_decode(body))
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = numeric_date(value) if isinstance(value, datetime) else value
    return f"{head}.{encode_json(claims)}.{sig}"


def bearer(token: str) -> dict[str, str]:
    """The request header that sends ``token`` (an empty string sends ``Authorization: Bearer ``)."""
    return {"Authorization": f"Bearer {token}"}
