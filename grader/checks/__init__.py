"""Helpers for writing checks: verdicts with a message and a hint, never a traceback.

A hint has two levels (``grader.authoring.hints``): ``hint`` nudges (which tool, which rule, where to look)
and is shown with every failure; ``answer`` is the key line, shown once the same check has failed before.
"""

from __future__ import annotations


class CheckFailure(AssertionError):
    """A failed check. ``message`` names the behaviour, ``hint`` the likely cause, ``answer`` the key line."""

    def __init__(self, message: str, hint: str = "", answer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.answer = answer


def expect(condition: object, message: str, hint: str = "", answer: str = "") -> None:
    """Fail the check with ``message`` (what is wrong), ``hint`` (why, and what to try) and ``answer`` (the
    line that fixes it, held back until the check fails again)."""
    if not condition:
        raise CheckFailure(message, hint, answer)
