"""grader.checks.pii finds what must not leave an API, wherever it hides, and nothing else."""

from __future__ import annotations

import base64
import json

import httpx

from grader.checks.pii import find_leaks, looks_like_hash, scan_headers, scan_response, summarise

ARGON2 = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
BCRYPT = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
SHA256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
FORBIDDEN = {"grace@example.com": "Grace's email", "Ada's analytical engine": "Ada's password"}


def jwt_with(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_forbidden_values_are_found_by_path_in_any_case_and_inside_text():
    value = {
        "items": [{"id": 1, "email": "GRACE@example.com"}],
        "detail": "registered: grace@example.com",
        "note": "typed Ada's analytical engine",
    }
    assert find_leaks(value, FORBIDDEN) == [
        "$.items[0].email: Grace's email",
        "$.detail: Grace's email",
        "$.note: Ada's password",
    ]


def test_hashes_are_found_whoever_made_them():
    for hashed in (ARGON2, BCRYPT, SHA256, "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA", "$6$rounds=5000$salt$hash"):
        assert looks_like_hash(hashed), hashed
        assert find_leaks({"value": hashed}) != [], hashed
    assert find_leaks({"value": ARGON2}, hashes=False) == []


def test_secret_keys_are_reported_even_when_empty():
    assert find_leaks({"hashed_password": None, "Password": "", "password_hash": None}) == [
        '$.hashed_password: a field named "hashed_password"',
        '$.Password: a field named "Password"',
        '$.password_hash: a field named "password_hash"',
    ]


def test_keys_odd_paths_and_jwt_claims():
    value = {"by email": {"grace@example.com": 3}, "token": jwt_with({"sub": "1", "email": "grace@example.com"})}
    assert find_leaks(value, FORBIDDEN) == [
        '$["by email"]["grace@example.com"]: Grace\'s email (in the key)',
        "$.token (JWT claims).email: Grace's email",
    ]
    assert find_leaks([[None, True, 12, 2.5, ["grace@example.com"]]], FORBIDDEN) == ["$[0][4][0]: Grace's email"]


def test_clean_values_and_short_needles_report_nothing():
    value = {"id": 2, "name": "Grace", "email": "ada@example.com", "ok": True, "n": None, "hex": "abc123"}
    assert find_leaks(value, FORBIDDEN) == []
    assert find_leaks({"id": 12}, ["12", ""]) == []  # numbers never leak; short or empty needles are ignored
    assert find_leaks({"greeting": "hi Grace"}, ["Gr"]) == []


def test_headers_and_responses_are_scanned_url_decoded():
    assert scan_headers([("Location", "/login?next=/x&email=grace%40example.com")], FORBIDDEN) == [
        "header location: Grace's email"
    ]
    response = httpx.Response(409, json={"detail": "grace@example.com is taken"}, headers={"X-Debug": ARGON2})
    assert scan_response(response, FORBIDDEN) == [
        "body $.detail: Grace's email",
        "header x-debug: an argon2 password hash",
    ]
    plain = httpx.Response(500, text="Traceback ... Ada's analytical engine")
    assert scan_response(plain, FORBIDDEN) == ["body $: Ada's password"]


def test_summary_is_bounded():
    findings = [f"$[{i}]: x" for i in range(7)]
    assert summarise(findings, limit=2) == "$[0]: x; $[1]: x; and 5 more"
    assert summarise([]) == ""
