import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

PAGE_SIZE = "page_size: int = Field(default=20, ge=1, le=100)"
SETTINGS_DEP = "SettingsDep = Annotated[Settings, Depends(get_settings)]"


async def page_size_bounds(ns):
    if "Settings" not in ns:
        raise NameError("name 'Settings' is not defined")
    accepted = {}
    for value in (0, 1, 100, 101, -5):
        try:
            accepted[str(value)] = ns["Settings"](page_size=value).page_size == value
        except Exception as exc:  # ValidationError is expected for values out of range
            accepted[str(value)] = type(exc).__name__
    return accepted


async def describe_settings_dep(ns):
    from grader.checks.bookshop import describe_alias

    return describe_alias(ns, "SettingsDep", ns.get("Settings"), "get_settings")


@pytest.mark.points(1)
async def test_page_size_bounds(learner):
    """page_size accepts 1 to 100 and rejects anything else"""
    observed = await learner.probe(page_size_bounds)
    expect(observed.ok, f"Building `Settings(page_size=...)` raised {observed.describe_error()}.")
    accepted = observed.value
    expect(
        accepted["1"] is True and accepted["100"] is True,
        f"`Settings(page_size=1)` / `Settings(page_size=100)` gave {accepted['1']!r} / {accepted['100']!r}.",
        "The bounds are inclusive: `ge=1, le=100`.",
        answer=PAGE_SIZE,
    )
    rejected = [value for value in ("0", "101", "-5") if accepted[value] != "ValidationError"]
    expect(
        not rejected,
        f"`Settings(page_size=...)` accepted {', '.join(rejected)}: page_size must be between 1 and 100.",
        "pydantic's `Field(...)` takes the bounds of a number as keyword arguments, beside its default.",
        answer=PAGE_SIZE,
    )


@pytest.mark.points(1)
async def test_settings_dep_alias(learner):
    """SettingsDep is Annotated[Settings, Depends(get_settings)]"""
    observed = await learner.probe(describe_settings_dep)
    expect(observed.ok, f"Inspecting `SettingsDep` raised {observed.describe_error()}.")
    found = observed.value
    expect(
        found["defined"],
        "`SettingsDep` is not defined.",
        "Declare an `Annotated` alias that names the settings type and the dependency that provides it.",
        answer=SETTINGS_DEP,
    )
    expect(
        found["annotated"] and found["type_ok"],
        "`SettingsDep` is not `Annotated[Settings, ...]`.",
        "In an `Annotated` alias the type the route receives comes first, then the dependency that provides it.",
        answer=SETTINGS_DEP,
    )
    expect(
        found["depends_on"],
        "`SettingsDep` does not depend on `get_settings` (or get_settings was defined again after it).",
        "Put `Depends(get_settings)` in the alias, and define the alias after get_settings in the same cell.",
        answer=SETTINGS_DEP,
    )
