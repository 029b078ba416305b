"""Seeded bugs for exercise 5 (what must not get out). Every check runs the learner's whole suite."""

import pytest

pytestmark = pytest.mark.exercise("ex5")

LEAKING_500 = (
    "an unexpected error answers 500 with the exception's class and message in the body",
    [
        [
            '    return problem_response(500, "The server could not handle this request. The error was logged.")\n',
            '    return problem_response(500, f"{type(exc).__name__}: {exc}")\n',
        ]
    ],
    "Override `get_session` (in `app.dependency_overrides`) with a function that raises, then compare the "
    "whole body of the 500 with the bare problem.",
    ("test_privacy",),
    "def broken_session():\n"
    '    raise RuntimeError("connection refused: postgres://bookshop:hunter2@db.internal:5432")\n\n'
    "app.dependency_overrides[get_session] = broken_session",
)
OTHER_CUSTOMERS_ORDER_SHOWN = (
    "GET /orders/{id} shows another customer's order",
    [
        [
            "    order = await session.scalar(statement.where(Order.customer_id == customer_id))",
            "    order = await session.scalar(statement)",
        ]
    ],
    "Two customers: one orders, the other asks for that order by id and must get 404.",
    ("test_privacy",),
    'theirs = await client.get(f"/orders/{order_id}", headers=bearer(token_for(grace)))  # Ada\'s order\n'
    "assert theirs.status_code == 404",
)


@pytest.mark.points(2)
async def test_catches_leaking_500(suite, bugs):
    """your tests catch a seeded bug: a 500 that shows the exception"""
    await suite.expect_catches(bugs.Mutant(*LEAKING_500))


@pytest.mark.points(2)
async def test_catches_other_customers_order_shown(suite, bugs):
    """your tests catch a seeded bug: another customer's order is shown"""
    await suite.expect_catches(bugs.Mutant(*OTHER_CUSTOMERS_ORDER_SHOWN))
