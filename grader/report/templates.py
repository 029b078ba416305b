"""The Jinja2 templates shipped in the wheel (``grader/templates/``), escaped as HTML."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("grader", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points"] = points
    env.filters["duration"] = duration
    return env


def points(value: float) -> str:
    """3.0 -> "3", 2.5 -> "2.5": points as people write them."""
    return f"{value:g}"


def duration(seconds: float) -> str:
    """How long, as people say it: "40 s", "12 min", "3 h 5 min", "2 d 4 h" (never "0.0 hours")."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
