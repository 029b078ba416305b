import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex6")

BCRYPT = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
CASES = [
    ("write to grace@example.com", ["grace@example.com"], ["$"], "a string alone"),
    ([[1, "x"], [True, None, 2.5, "grace@example.com"]], ["grace@example.com"], ["$[1][3]"], "lists in lists"),
    (
        {"grace@example.com": {"orders": 2}, "ok": {"deep": [{"hash": BCRYPT}]}},
        ["grace@example.com"],
        ["$.grace@example.com", "$.ok.deep[0].hash"],
        "a key that leaks, and a bcrypt hash deep down",
    ),
    ({"grace@example.com": "grace@example.com"}, ["grace@example.com"], ["$.grace@example.com"], "a key and its value"),
    ({"n": 12345, "b": False, "z": None}, ["12345", "False", "None"], [], "numbers, booleans and null"),
    ({"a": "", "b": "no secret here"}, [], [], "nothing forbidden"),
]


@pytest.mark.points(1)
async def test_find_leaks_walks_everything(learner):
    """find_leaks walks any JSON: nested lists, keys, scalars; each path once, in walk order"""
    for value, forbidden, expected, what in CASES:
        observed = await learner.call("find_leaks", value, forbidden)
        expect(observed.ok, f"`find_leaks` on {what} raised {observed.describe_error()}.")
        expect(
            observed.value == expected,
            f"`find_leaks` on {what} returned {observed.value!r}, expected {expected!r} "
            f"(value {value!r}, forbidden {forbidden!r}).",
            "Recurse into every dict value and list item; test dict keys like strings (reporting the item's "
            "path once); numbers, booleans and None never leak.",
        )
