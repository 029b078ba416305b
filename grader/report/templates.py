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
    return env


def points(value: float) -> str:
    """3.0 -> "3", 2.5 -> "2.5": points as people write them."""
    return f"{value:g}"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
