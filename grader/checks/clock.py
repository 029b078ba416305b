"""A clock that checks can set and move, so that expiry is tested without sleeping.

The bookshop gets *now* from a ``get_clock`` dependency returning an object with ``now() -> datetime``
(timezone-aware UTC). A check overrides that dependency with a ``MovableClock`` inside the learner's
process (in the probe that builds the app) and moves it later with another probe. Probes are compiled
separately and share nothing but imported modules, so the clocks live in a registry here, by name:

    # in the app probe (learner process)
    from grader.checks.clock import shared_clock, parse_time
    clock = shared_clock("app", parse_time(clock_at))
    app.dependency_overrides[ns["get_clock"]] = lambda: clock

    # in a later probe (learner process), or through ``move_clock_probe``
    shared_clock("app").move_to(parse_time(to))

Times cross the process boundary as ISO 8601 strings (``format_time``/``parse_time``). ``start_time``
is the real time in whole seconds: checks start the app's clock there, so a learner's code that also
compares with the computer's clock (PyJWT's own ``exp`` check) agrees with the app's clock until a
check moves it, and a check that moves it tells the two apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MovableClock:
    """``now()`` returns a time the check chose, until the check moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware(at)

    def now(self) -> datetime:
        return self.at

    def move_to(self, at: datetime) -> None:
        self.at = _aware(at)

    def advance(self, **delta: float) -> None:
        """Move forward (or back, with negative values) by ``timedelta(**delta)``."""
        self.at = self.at + timedelta(**delta)


_CLOCKS: dict[str, MovableClock] = {}


def shared_clock(name: str, at: datetime | None = None) -> MovableClock:
    """The clock registered under ``name``; with ``at``, (re)start it there (a new clock object)."""
    if at is not None:
        _CLOCKS[name] = MovableClock(at)
    if name not in _CLOCKS:
        raise LookupError(f"no clock named {name!r} was started")
    return _CLOCKS[name]


def start_time() -> datetime:
    """The current real time, UTC, in whole seconds (JWT dates are whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(at: datetime) -> str:
    return _aware(at).isoformat()


def parse_time(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text))


def seconds(at: datetime) -> int:
    """A JWT NumericDate: whole seconds since 1970."""
    return int(_aware(at).timestamp())


def _aware(at: datetime) -> datetime:
    """Naive datetimes are taken as UTC; the clock always answers in UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def move_clock_probe(ns, name, to):
    """Probe (send with ``learner.probe(move_clock_probe, name="app", to=format_time(...))``): move the
    shared clock ``name`` of the learner's process to the ISO time ``to``."""
    from grader.checks.clock import parse_time, shared_clock

    shared_clock(name).move_to(parse_time(to))
    return to
