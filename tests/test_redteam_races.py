"""Red team: read-then-write behind a module-level ``asyncio.Lock``, in chapter 03.

A lock in the module serialises the two racing calls when both run in one process, which is how the race
checks used to run them: the lost update never happened and the lock earned the race checks' points. A
server runs several worker processes, and a lock in one holds nothing in the other. The race checks now
run their two sides in two learner processes on the same database (the bridge holds each side's first
write until the other's is there), so the locked design fails them as the plain one does.
"""

from __future__ import annotations

import pytest
from support import edited_cell, failed_outputs, graded_mistakes
from test_ch03_mistakes import READ_THEN_WRITE

from grader.models import SubmissionResult

CHAPTER = "03-unit-of-work"

# The service reads the stock, compares and writes it back, all under one lock of the module.
LOCKED_SERVICE = "import asyncio\n\n_orders = asyncio.Lock()\n" + READ_THEN_WRITE.replace(
    "    async with uow:\n        if await uow.customers.get(customer_id) is None:",
    "    async with _orders, uow:\n        if await uow.customers.get(customer_id) is None:",
)


def locked_take_stock() -> str:
    """The repository's take_stock as read-compare-write under a module-level lock."""
    return "import asyncio\n\n_stock = asyncio.Lock()\n" + edited_cell(
        CHAPTER,
        "ex1-solution",
        (
            """        statement = (
            update(Book)
            .where(Book.id == book_id, Book.stock >= quantity)
            .values(stock=Book.stock - quantity)
        )
        result = await self.session.execute(statement)
        return result.rowcount == 1""",
            """        async with _stock:
            book = await self.session.get(Book, book_id)
            if book is None or book.stock < quantity:
                return False
            book.stock -= quantity
            await self.session.flush()
            return True""",
        ),
    )


SERVICE_RACES = ("test_place_order_race_for_last_copy", "test_post_order_race_for_last_copy")
PLAIN = "read then write"
CASES = {
    PLAIN: {"ex3-solution": READ_THEN_WRITE},
    "read then write under a module lock": {"ex3-solution": LOCKED_SERVICE},
    "take_stock read then write under a module lock": {"ex1-solution": locked_take_stock()},
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, CASES)


@pytest.mark.parametrize("case", [PLAIN, "read then write under a module lock"])
def test_a_lost_update_fails_both_race_checks_lock_or_not(graded: dict[str, SubmissionResult], case: str) -> None:
    failed = failed_outputs(graded[case])
    assert set(SERVICE_RACES) <= set(failed), sorted(failed)
    assert "2 copies were sold" in failed["test_post_order_race_for_last_copy"]


def test_the_lock_earns_nothing(graded: dict[str, SubmissionResult]) -> None:
    assert graded["read then write under a module lock"].score <= graded[PLAIN].score


@pytest.mark.parametrize("case", ["take_stock read then write under a module lock"])
def test_a_locked_take_stock_fails_the_atomicity_check(graded: dict[str, SubmissionResult], case: str) -> None:
    failed = failed_outputs(graded[case])
    assert "test_take_stock_is_atomic" in failed, sorted(failed)
    assert "stock is now" in failed["test_take_stock_is_atomic"] or "returned ['True', 'True']" in str(failed)
