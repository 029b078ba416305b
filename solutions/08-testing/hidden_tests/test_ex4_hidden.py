"""Seeded bugs for exercise 4 (orders). Every check runs the learner's whole suite."""

import pytest

pytestmark = pytest.mark.exercise("ex4")

STOCK_NOT_TAKEN = (
    "an order leaves the stock as it was",
    [[".values(stock=Book.stock - quantity)", ".values(stock=Book.stock)"]],
    "After an order, look at the stock behind the API: `await shop.stock(book.id)`.",
    ("test_orders",),
    "assert await shop.stock(book.id) == 3  # 5 in stock, 2 ordered",
)
LAST_COPY_REFUSED = (
    "ordering exactly the copies left is refused",
    [["Book.stock >= quantity", "Book.stock > quantity"]],
    "Test the boundary: a book with 2 copies, an order for 2.",
    ("test_orders",),
    "book = await shop.add_book(stock=2)\n"
    'last = await client.post("/orders", json={"lines": [{"book_id": book.id, "quantity": 2}]}, headers=headers)\n'
    "assert last.status_code == 201",
)
MISSING_ROLLBACK = (
    "a refused order keeps what was done before the refusal (a commit where a rollback belongs)",
    [["                await self.session.rollback()", "                await self.session.commit()"]],
    "Order a line that can be served and then one that cannot; after the 409, check the database: the "
    "first book's stock unchanged, no order, no order line (`shop.stock`, `shop.count`).",
    ("test_orders",),
    "assert await shop.stock(plenty.id) == 5  # the book of the line that could be served\n"
    "assert await shop.count(Order) == 0\n"
    "assert await shop.count(OrderLine) == 0",
)
OUT_OF_STOCK_IS_404 = (
    "an order for more copies than are in stock answers 404 instead of 409",
    [['    409, f"{PROBLEMS}/out-of-stock"', '    404, f"{PROBLEMS}/out-of-stock"']],
    "Assert the exact status code of a refused order.",
    ("test_orders",),
    "assert none_left.status_code == 409  # one copy more than is left",
)


@pytest.mark.points(2)
async def test_catches_stock_not_taken(suite, bugs):
    """your tests catch a seeded bug: orders do not take the stock"""
    await suite.expect_catches(bugs.Mutant(*STOCK_NOT_TAKEN))


@pytest.mark.points(2)
async def test_catches_last_copy_refused(suite, bugs):
    """your tests catch a seeded bug: the last copies cannot be bought"""
    await suite.expect_catches(bugs.Mutant(*LAST_COPY_REFUSED))


@pytest.mark.points(2)
async def test_catches_missing_rollback(suite, bugs):
    """your tests catch a seeded bug: a refused order is partly kept (missing rollback)"""
    await suite.expect_catches(bugs.Mutant(*MISSING_ROLLBACK))


@pytest.mark.points(2)
async def test_catches_out_of_stock_answering_404(suite, bugs):
    """your tests catch a seeded bug: out of stock answers 404 instead of 409"""
    await suite.expect_catches(bugs.Mutant(*OUT_OF_STOCK_IS_404))
