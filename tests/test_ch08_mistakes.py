"""Chapter 08's checks grade the learner's *tests*: these cases are real graded submissions.

Each case takes the solution notebook, replaces some exercise cells with test code that makes one known
mistake (tests that assert nothing, a test that fails on the bookshop as given, a suite that misses
some bugs, a test that never ends, a test that keeps state between runs), grades it like a real
submission (sandboxed learner process, visible and hidden checks) and asserts that exactly the
expected checks fail, with messages that name the cause. The selected cases are graded in one
``grader grade --jobs 2`` batch. A last test runs the solution's tests with real pytest and
pytest-asyncio, to show that what learners write here is ordinary pytest code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from support import (
    ROOT,
    VARIANTS_CASE,
    VENV_BIN,
    assert_diagnosed,
    assert_full_marks,
    graded_mistakes,
    run,
    tail,
)

from grader.models import SubmissionResult

CHAPTER = "08-testing"
VISIBLE = (
    "test_register_tests",
    "test_register_tests_catch_the_practice_bug",
    "test_catalogue_tests",
    "test_auth_tests",
    "test_orders_tests",
    "test_privacy_tests",
)
HIDDEN = (
    "test_catches_password_hash_in_response",
    "test_catches_email_taken_answering_400",
    "test_catches_n_plus_one",
    "test_catches_page_off_by_one",
    "test_catches_expired_token_accepted",
    "test_catches_wrong_password_accepted",
    "test_catches_stock_not_taken",
    "test_catches_last_copy_refused",
    "test_catches_missing_rollback",
    "test_catches_out_of_stock_answering_404",
    "test_catches_leaking_500",
    "test_catches_other_customers_order_shown",
)


@dataclass(frozen=True)
class Mistake:
    cells: dict[str, str]  # grade_id -> the mistaken code
    failing: tuple[str, ...]  # every check that must fail
    messages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # check -> fragments of its output
    max_seconds: float | None = None  # the grading must take at most this long


# The same requests as the solution, and no assertion at all.
NO_ASSERTIONS = {
    "ex1-solution": """
async def test_register_answers_201_and_the_customer(client):
    await client.post("/customers", json={"name": "Ada", "email": "ada@example.com", "password": "correct horse"})


async def test_register_same_email_twice_answers_409(client):
    ada = {"name": "Ada", "email": "ada@example.com", "password": "correct horse"}
    await client.post("/customers", json=ada)
    await client.post("/customers", json=ada)
""",
    "ex2-solution": """
async def test_catalogue_authors_query_budget(client, shop, statements):
    await shop.add_authors(30, books_each=2)
    await client.get("/authors?page_size=50")


async def test_catalogue_pages_follow_each_other(client, shop):
    for number in range(5):
        await shop.add_book(f"Book {number}")
    for number in (1, 2, 3):
        await client.get(f"/books?page={number}&page_size=2")
""",
    "ex3-solution": """
async def test_auth_login_then_me(client, shop):
    await shop.add_customer(email="ada@example.com", password="correct horse battery")
    await client.post("/auth/token", data={"username": "ada@example.com", "password": "correct horse battery"})
    await client.get("/customers/me")


async def test_auth_wrong_password_is_401(client, shop):
    await shop.add_customer(email="ada@example.com", password="correct horse battery")
    await client.post("/auth/token", data={"username": "ada@example.com", "password": "wrong"})


async def test_auth_token_expires_after_15_minutes(client, shop, clock, token_for):
    ada = await shop.add_customer()
    clock.advance(minutes=16)
    await client.get("/customers/me", headers=bearer(token_for(ada)))
""",
    "ex4-solution": """
async def test_orders_take_the_stock(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=5)
    await client.post("/orders", json={"lines": [{"book_id": book.id, "quantity": 2}]}, headers=bearer(token_for(ada)))
    await shop.stock(book.id)


async def test_orders_the_last_copies_can_be_bought(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=2)
    await client.post("/orders", json={"lines": [{"book_id": book.id, "quantity": 2}]}, headers=bearer(token_for(ada)))


async def test_orders_refused_order_leaves_nothing(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=1)
    await client.post("/orders", json={"lines": [{"book_id": book.id, "quantity": 3}]}, headers=bearer(token_for(ada)))
    await shop.count(Order)
""",
    "ex5-solution": """
async def test_privacy_unexpected_error_is_a_bare_500(app, client):
    def broken():
        raise RuntimeError("secret")

    app.dependency_overrides[get_session] = broken
    await client.get("/books")


async def test_privacy_other_customers_order_is_404(client, shop, token_for):
    grace = await shop.add_customer("Grace Hopper", "grace@example.com")
    await client.get("/orders/1", headers=bearer(token_for(grace)))
""",
}


def only_assert_true(cells: dict[str, str]) -> dict[str, str]:
    """Every test body replaced by `assert True`."""
    return {
        grade_id: "\n\n\n".join(f"{header}\n    assert True" for header in re.findall(r"^async def .*:$", source, re.M))
        for grade_id, source in cells.items()
    }


FAILS_ON_REFERENCE = """
async def test_register_answers_201_and_the_customer(client):
    response = await client.post(
        "/customers", json={"name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 200


async def test_register_same_email_twice_answers_409(client):
    ada = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery"}
    assert (await client.post("/customers", json=ada)).status_code == 201
    assert (await client.post("/customers", json=ada)).status_code == 409
"""

# Three tests of orders that catch the stock not taken and the 404, but test no boundary (1 copy of 2)
# and never look at the database after a refusal.
WEAK_ORDER_TESTS = """
async def test_orders_take_the_stock(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=5)
    order = {"lines": [{"book_id": book.id, "quantity": 2}]}
    response = await client.post("/orders", json=order, headers=bearer(token_for(ada)))
    assert response.status_code == 201
    assert await shop.stock(book.id) == 3


async def test_orders_one_of_two_copies(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=2)
    order = {"lines": [{"book_id": book.id, "quantity": 1}]}
    response = await client.post("/orders", json=order, headers=bearer(token_for(ada)))
    assert response.status_code == 201


async def test_orders_refused_order_is_409(client, shop, token_for):
    ada = await shop.add_customer()
    plenty = await shop.add_book("Kindred", stock=5)
    scarce = await shop.add_book("Dawn", stock=1)
    lines = [{"book_id": plenty.id, "quantity": 2}, {"book_id": scarce.id, "quantity": 3}]
    response = await client.post("/orders", json={"lines": lines}, headers=bearer(token_for(ada)))
    assert response.status_code == 409
"""

# The weak tests, plus one that passes the first time it runs and fails ever after.
STATEFUL_ORDER_TESTS = (
    """
RUNS = []


async def test_orders_first_run_only(client):
    RUNS.append(1)
    assert len(RUNS) == 1
"""
    + WEAK_ORDER_TESTS
)

ENDLESS_TESTS = """
import asyncio


async def test_privacy_busy_forever(client):
    await client.get("/books")
    while True:
        pass


async def test_privacy_waits_forever(client):
    await asyncio.Event().wait()
"""

SUITE_FAILS = ("fail on the reference bookshop",)
MISTAKES = {
    "tests that assert nothing": Mistake(
        NO_ASSERTIONS,
        VISIBLE + HIDDEN,
        {
            "test_register_tests": (
                "None of your 2 test(s) named test_register... failed on a copy of the bookshop with this bug: "
                "every request answered with 200 and an empty JSON object",
            ),
            "test_catches_missing_rollback": ("None of your 14 test(s) failed", "Your suite would have let it through"),
        },
    ),
    "tests that only assert True": Mistake(
        only_assert_true(NO_ASSERTIONS),
        VISIBLE + HIDDEN,
        {"test_catches_leaking_500": ("None of your 14 test(s) failed",)},
    ),
    "a test that fails on the bookshop as given": Mistake(
        {"ex1-solution": FAILS_ON_REFERENCE},
        VISIBLE[:2] + HIDDEN,
        {
            "test_register_tests": (
                "1 of your tests fail on the reference bookshop",
                "test_register_answers_201_and_the_customer (`assert response.status_code == 200` failed "
                "(response.status_code = 201))",
            ),
            "test_catches_n_plus_one": (*SUITE_FAILS, "test_register_answers_201_and_the_customer"),
        },
    ),
    "a suite that catches only some bugs": Mistake(
        {"ex4-solution": WEAK_ORDER_TESTS},
        ("test_catches_last_copy_refused", "test_catches_missing_rollback"),
        {
            "test_catches_last_copy_refused": (
                "None of your 14 test(s) failed on a copy of the bookshop with this bug: ordering exactly the "
                "copies left is refused",
                "Test the boundary",
            ),
            "test_catches_missing_rollback": ("a commit where a rollback belongs", "shop.count"),
        },
    ),
    "a test that passes only on its first run": Mistake(
        {"ex4-solution": STATEFUL_ORDER_TESTS},
        ("test_catches_last_copy_refused", "test_catches_missing_rollback"),
        {
            "test_catches_last_copy_refused": (
                "test_orders_first_run_only (",
                "but also when run again on the bookshop as given",
            ),
        },
    ),
    "tests that never end": Mistake(
        {"ex5-solution": ENDLESS_TESTS},
        ("test_privacy_tests", *HIDDEN),
        {
            "test_privacy_tests": (
                "2 of your tests fail on the reference bookshop",
                "test_privacy_busy_forever (did not finish within 2 s",
                "test_privacy_waits_forever (did not finish within 2 s",
            ),
            "test_catches_leaking_500": (*SUITE_FAILS, "test_privacy_busy_forever"),
        },
        max_seconds=60,
    ),
}

# Correct tests written differently from the solution (own fixtures, parametrize, helpers, another
# override): every check passes.
VARIANTS = {
    "ex1-solution": """
CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery"}


async def test_register_answers_201_and_the_customer(client):
    response = await client.post("/customers", json=CUSTOMER)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "email"}
    assert (body["name"], body["email"]) == ("Ada Lovelace", "ada@example.com")


async def test_register_same_email_twice_answers_409(client):
    statuses = [(await client.post("/customers", json=CUSTOMER)).status_code for _ in range(2)]
    assert statuses == [201, 409]
""",
    "ex2-solution": """
async def authors_request(client, statements, url):
    statements.clear()
    response = await client.get(url)
    assert response.status_code == 200
    return response.json(), len(statements)


async def test_catalogue_authors_query_budget(client, shop, statements):
    await shop.add_authors(3, books_each=1)
    _, small = await authors_request(client, statements, "/authors")
    await shop.add_authors(40, books_each=1)
    body, large = await authors_request(client, statements, "/authors?page_size=100")
    assert len(body) == 43 and [len(a["books"]) for a in body] == [1] * 43
    assert small == large <= 2


@pytest.mark.parametrize(("page", "expected"), [(1, [1, 2, 3]), (2, [4, 5, 6]), (3, [7])])
async def test_catalogue_pages_follow_each_other(client, shop, page, expected):
    for number in range(7):
        await shop.add_book(f"Book {number}")
    response = await client.get(f"/books?page={page}&page_size=3")
    assert [book["id"] for book in response.json()] == expected
""",
    "ex3-solution": """
@pytest.fixture
async def ada(shop):
    return await shop.add_customer(email="ada@example.com", password="correct horse battery")


async def log_in(client, password):
    return await client.post("/auth/token", data={"username": "ada@example.com", "password": password})


async def test_auth_login_then_me(client, ada):
    token = (await log_in(client, "correct horse battery")).json()["access_token"]
    me = await client.get("/customers/me", headers=bearer(token))
    assert me.json() == {"id": ada.id, "name": ada.name, "email": "ada@example.com"}


async def test_auth_wrong_password_is_401(client, ada):
    response = await log_in(client, "Tr0ub4dor&3")
    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize(("seconds", "status"), [(899, 200), (900, 401), (3600, 401)])
async def test_auth_token_expiry(client, ada, clock, token_for, seconds, status):
    headers = bearer(token_for(ada))
    clock.advance(seconds=seconds)
    assert (await client.get("/customers/me", headers=headers)).status_code == status
""",
    "ex4-solution": """
@pytest.fixture
def headers(shop, token_for):
    async def make():
        return bearer(token_for(await shop.add_customer()))
    return make


@pytest.mark.parametrize("quantity", [1, 3])
async def test_orders_stock_goes_down(client, shop, headers, quantity):
    book = await shop.add_book(stock=3)
    order = {"lines": [{"book_id": book.id, "quantity": quantity}]}
    response = await client.post("/orders", json=order, headers=await headers())
    assert response.status_code == 201
    assert await shop.stock(book.id) == 3 - quantity


async def test_orders_one_too_many(client, shop, headers):
    book = await shop.add_book(stock=3)
    order = {"lines": [{"book_id": book.id, "quantity": 4}]}
    response = await client.post("/orders", json=order, headers=await headers())
    assert (response.status_code, response.json()["title"]) == (409, "Out of stock")


async def test_orders_all_or_nothing(client, shop, headers):
    first, second = await shop.add_book("A", stock=2), await shop.add_book("B", stock=0)
    lines = [{"book_id": first.id, "quantity": 1}, {"book_id": second.id, "quantity": 1}]
    assert (await client.post("/orders", json={"lines": lines}, headers=await headers())).status_code == 409
    assert [await shop.stock(first.id), await shop.count(Order), await shop.count(OrderLine)] == [2, 0, 0]
""",
    "ex5-solution": """
async def test_privacy_crash_says_nothing(app, client, shop, token_for):
    def no_unit_of_work():
        raise KeyError("SELECT * FROM customers")

    headers = bearer(token_for(await shop.add_customer()))
    app.dependency_overrides[get_uow] = no_unit_of_work
    response = await client.post("/orders", json={"lines": [{"book_id": 1, "quantity": 1}]}, headers=headers)
    assert response.status_code == 500
    assert response.json()["detail"] == "The server could not handle this request. The error was logged."
    assert "KeyError" not in response.text and "SELECT" not in response.text


async def test_privacy_orders_are_private(client, shop, token_for):
    ada, grace = await shop.add_customer(), await shop.add_customer("Grace", "grace@example.com")
    book = await shop.add_book()
    lines = [{"book_id": book.id, "quantity": 1}]
    order = await client.post("/orders", json={"lines": lines}, headers=bearer(token_for(ada)))
    response = await client.get(f"/orders/{order.json()['id']}", headers=bearer(token_for(grace)))
    assert response.status_code == 404
""",
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    cases = {case: m.cells for case, m in MISTAKES.items()}
    return graded_mistakes(request, tmp_path_factory, CHAPTER, cases, VARIANTS)


def test_valid_variants_get_full_marks(graded: dict[str, SubmissionResult]) -> None:
    assert_full_marks(graded[VARIANTS_CASE])


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake, result = MISTAKES[case], graded[case]
    assert_diagnosed(result, mistake.cells, mistake.failing, mistake.messages)
    caught = sum(test.max_score for test in result.tests if test.status == "passed")
    assert result.score == caught, "a mutant caught earns its points, and only those"
    if mistake.max_seconds is not None:
        assert result.execution_time < mistake.max_seconds, f"grading took {result.execution_time} s"


def test_solution_tests_run_under_real_pytest(tmp_path: Path) -> None:
    """The reference app as a module, the test kit as conftest.py, the solution's tests as a test file:
    pytest with pytest-asyncio passes them all, unchanged but for the imports a project would have."""
    notebook = nbformat.read(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id", ""): cell.source for cell in notebook.cells}
    solutions = [source for grade_id, source in by_id.items() if grade_id.endswith("-solution")]
    reference_app = ROOT / "solutions" / CHAPTER / "checks" / "reference_app.py"
    (tmp_path / "bookshop.py").write_text(reference_app.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "conftest.py").write_text("from bookshop import *\n" + by_id["testkit"], encoding="utf-8")
    imports = "import pytest\nfrom bookshop import *\nfrom conftest import bearer\n\n\n"
    (tmp_path / "test_bookshop.py").write_text(imports + "\n\n\n".join(solutions), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8"
    )
    completed = run([VENV_BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", tmp_path], cwd=tmp_path)
    assert completed.returncode == 0, tail(completed)
    assert re.search(r"\b12 passed\b", completed.stdout), tail(completed)


# -- the runner itself, in this process (fast) ------------------------------------------------------

RUNNER_NAMESPACE = """
import asyncio
import pytest

CALLS = []


@pytest.fixture
def number():
    return 7


@pytest.fixture
async def doubled(number):
    CALLS.append("setup")
    yield number * 2
    CALLS.append("teardown")


async def test_fixtures(doubled, number, limit=3):
    assert doubled == 2 * number


@pytest.mark.parametrize(("a", "b"), [(1, 2), pytest.param(2, 4, id="two")])
def test_pairs(a, b, number):
    assert b == 2 * a


async def test_busy():
    while True:
        pass


async def test_swallows_exceptions():
    while True:
        try:
            pass
        except Exception:
            pass


async def test_waits_forever():
    await asyncio.Event().wait()


def test_unknown(nonexistent):
    pass


async def test_todo():
    raise NotImplementedError()
"""


def runner_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "learner"}
    exec(compile(RUNNER_NAMESPACE, "<cell>", "exec"), namespace)
    return namespace


def test_runner_resolves_fixtures_like_pytest_and_stops_endless_tests() -> None:
    import asyncio
    import time

    from grader.checks import suite

    namespace = runner_namespace()
    cases = suite.select_tests(namespace)
    assert [case.name for case in cases] == [
        "test_fixtures",
        "test_pairs[0]",
        "test_pairs[two]",
        "test_busy",
        "test_swallows_exceptions",
        "test_waits_forever",
        "test_unknown",
        "test_todo",
    ]
    started = time.monotonic()
    results = asyncio.run(suite.run_cases(cases, suite.collect_fixtures(namespace), timeout=0.5, budget=60))
    outcomes = {r["name"]: (r["outcome"], r["reason"]) for r in results}
    assert time.monotonic() - started < 10
    assert outcomes["test_fixtures"] == ("passed", "")
    assert namespace["CALLS"] == ["setup", "teardown"], "an async generator fixture is torn down after its test"
    assert outcomes["test_pairs[0]"][0] == outcomes["test_pairs[two]"][0] == "passed"
    assert outcomes["test_busy"][0] == "failed" and "did not finish within 0.5 s" in outcomes["test_busy"][1]
    assert outcomes["test_swallows_exceptions"][0] == "failed", "the watchdog's exception is not an Exception"
    assert outcomes["test_waits_forever"][0] == "failed"
    assert "no fixture named 'nonexistent'" in outcomes["test_unknown"][1]
    assert outcomes["test_todo"][0] == "not_written"


def test_runner_swaps_an_app_in_and_back() -> None:
    from grader.checks import suite

    namespace = runner_namespace() | {"VALUE": "learner's own"}
    with suite.swapped_in(namespace, suite.build_app_module("VALUE = 'app'\nOTHER = 1\n")):
        assert (namespace["VALUE"], namespace["OTHER"]) == ("app", 1)
    assert namespace["VALUE"] == "learner's own" and "OTHER" not in namespace
    with pytest.raises(suite.PatchError):
        suite.apply_patch("x = 1\nx = 1\n", [["x = 1", "x = 2"]])
