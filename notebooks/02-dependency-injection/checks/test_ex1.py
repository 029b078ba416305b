"""Exercise 1: Settings, get_settings and SettingsDep."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

PAGE_SIZE = "page_size: int = Field(default=20, ge=1, le=100)"


async def settings_from_defaults_and_environment(ns):
    import os

    if "Settings" not in ns:
        raise NameError("name 'Settings' is not defined")
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("BOOKSHOP_")}
    try:
        defaults = ns["Settings"]()
        os.environ["BOOKSHOP_PAGE_SIZE"] = "5"
        os.environ["BOOKSHOP_DATABASE_URL"] = "sqlite+aiosqlite:///from-environment.sqlite"
        from_env = ns["Settings"]()
    finally:
        os.environ.pop("BOOKSHOP_PAGE_SIZE", None)
        os.environ.pop("BOOKSHOP_DATABASE_URL", None)
        os.environ.update(saved)
    return {
        "defaults": [defaults.database_url, defaults.page_size],
        "environment": [from_env.database_url, from_env.page_size],
    }


async def page_size_from_environment(ns, values):
    """Settings() with BOOKSHOP_PAGE_SIZE set to each value in turn: the page_size it gives, or what it raised."""
    import os

    if "Settings" not in ns:
        raise NameError("name 'Settings' is not defined")
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("BOOKSHOP_")}
    seen = {}
    try:
        for value in values:
            os.environ["BOOKSHOP_PAGE_SIZE"] = value
            try:
                seen[value] = ns["Settings"]().page_size
            except Exception as exc:  # a ValidationError is the answer for a value out of range
                seen[value] = type(exc).__name__
    finally:
        os.environ.pop("BOOKSHOP_PAGE_SIZE", None)
        os.environ.update(saved)
    return seen


async def settings_seen_by_two_apps(ns):
    """Two apps with different settings in app.state; a route on each reads them through SettingsDep."""
    import httpx
    from fastapi import FastAPI

    for name in ("Settings", "SettingsDep"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    settings_dep = ns["SettingsDep"]
    seen = []
    for page_size in (7, 3):
        app = FastAPI()
        app.state.settings = ns["Settings"](
            database_url=f"sqlite+aiosqlite:///app-{page_size}.sqlite", page_size=page_size
        )

        async def page(settings):
            return {"page_size": settings.page_size}

        page.__annotations__ = {"settings": settings_dep}
        app.add_api_route("/page", page, methods=["GET"])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/page")
        seen.append([response.status_code, response.json() if response.status_code == 200 else response.text])
    return seen


@pytest.mark.points(1)
async def test_settings_defaults_and_environment(learner):
    """Settings has the contract's defaults and reads BOOKSHOP_* variables"""
    observed = await learner.probe(settings_from_defaults_and_environment)
    expect(observed.ok, f"`Settings()` raised {observed.describe_error()}.", "Give both fields a default value.")
    expect(
        observed.value["defaults"] == ["sqlite+aiosqlite:///bookshop.sqlite", 20],
        f"`Settings()` gave database_url, page_size = {observed.value['defaults']}, "
        "expected 'sqlite+aiosqlite:///bookshop.sqlite' and 20.",
        "Declare `database_url: str = ...` and `page_size: int = ...` in the class body.",
        answer='database_url: str = "sqlite+aiosqlite:///bookshop.sqlite"; '
        "page_size: int = Field(default=20, ge=1, le=100)",
    )
    expect(
        observed.value["environment"] == ["sqlite+aiosqlite:///from-environment.sqlite", 5],
        f"With BOOKSHOP_PAGE_SIZE=5 and BOOKSHOP_DATABASE_URL set, `Settings()` gave {observed.value['environment']}.",
        'Keep `model_config = SettingsConfigDict(env_prefix="BOOKSHOP_")` and the field names of the contract.',
    )


@pytest.mark.points(1)
async def test_get_settings_reads_the_app(learner):
    """get_settings returns the settings of the app handling the request"""
    observed = await learner.probe(settings_seen_by_two_apps)
    expect(observed.ok, f"Building a route on `SettingsDep` raised {observed.describe_error()}.")
    first, second = observed.value
    expect(
        first[0] == 200 and second[0] == 200,
        f"A route using `SettingsDep` answered {first[0]} and {second[0]}: {first[1]} / {second[1]}.",
        "get_settings asks for the `Request` by declaring a parameter of that type; `request.app` is the app "
        "handling it, and the contract says where that app keeps its settings.",
        answer="return request.app.state.settings",
    )
    expect(
        first[1] == {"page_size": 7} and second[1] == {"page_size": 3},
        f"Two apps whose settings say page_size 7 and 3 saw {first[1]['page_size']} and {second[1]['page_size']} "
        "through `SettingsDep`: get_settings ignores the app's settings.",
        "Return the settings of the app handling the request, not a `Settings()` made at import time or cached "
        "with lru_cache.",
        answer="return request.app.state.settings",
    )


@pytest.mark.points(1)
async def test_page_size_bounds_from_environment(learner):
    """BOOKSHOP_PAGE_SIZE 1 and 100 give that page_size; -3 and 250 make Settings() raise ValidationError"""
    observed = await learner.probe(page_size_from_environment, values=["1", "100", "-3", "250"])
    expect(observed.ok, f"Building `Settings()` from BOOKSHOP_PAGE_SIZE raised {observed.describe_error()}.")
    seen = observed.value
    expect(
        seen["1"] == 1 and seen["100"] == 100,
        f"With BOOKSHOP_PAGE_SIZE=1 and =100, `Settings().page_size` gave {seen['1']!r} and {seen['100']!r}: "
        "both ends of 1 to 100 are allowed.",
        "The contract's bounds are inclusive: 1 and 100 are valid page sizes.",
        answer=PAGE_SIZE,
    )
    accepted = [f"{value} (page_size {seen[value]!r})" for value in ("-3", "250") if seen[value] != "ValidationError"]
    expect(
        not accepted,
        f"`Settings()` accepted BOOKSHOP_PAGE_SIZE={', '.join(accepted)}: page_size must be at least 1 and at most "
        "100, or a negative page or one of thousands of rows is one environment variable away.",
        "Give the field its bounds beside its default, and pydantic refuses anything outside them, "
        "from the environment as from code.",
        answer=PAGE_SIZE,
    )
