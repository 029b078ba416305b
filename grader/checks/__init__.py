"""Helpers for writing checks: verdicts with a message and a hint, never a traceback."""

from __future__ import annotations


class CheckFailure(AssertionError):
    """A failed check. ``message`` names the behaviour, ``hint`` the likely cause."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def expect(condition: object, message: str, hint: str = "") -> None:
    """Fail the check with ``message`` (what is wrong) and ``hint`` (why, and what to try)."""
    if not condition:
        raise CheckFailure(message, hint)
