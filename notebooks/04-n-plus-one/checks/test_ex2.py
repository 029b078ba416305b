"""Exercise 2: list_books loads every book's author in one statement."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

BUDGET_HINT = (
    "Join the author into the same statement, with the loader option that adds a join. "
    "selectinload(Book.author) costs a second statement; a query per book grows with the page."
)
BUDGET_ANSWER = "select(Book).options(joinedload(Book.author))"


@pytest.mark.points(1)
async def test_list_books_loads_authors(call_service, tables, catalogue):
    """list_books returns the books ordered by id, each with its author loaded"""
    catalogue.fill_small(tables)
    call = await call_service("list_books", "author", limit=10, offset=0)
    books = call.expect_ok()
    expected = catalogue.expected_books()
    expect(
        catalogue.ids(books) == catalogue.ids(expected),
        f"`{call.expression}` returned the books {catalogue.ids(books)}, expected {catalogue.ids(expected)}.",
        "Select Book objects ordered by their primary key, then keep `limit` of them after skipping `offset`.",
        answer=".order_by(Book.id).limit(limit).offset(offset)",
    )
    for got, want in zip(books, expected, strict=True):
        expect(
            got == want,
            f"`{call.expression}` returned book {want['id']} as {got}, expected {want}.",
            "Load each book's author in the same statement, with a loader option.",
            answer=".options(joinedload(Book.author))",
        )


@pytest.mark.points(2)
async def test_list_books_one_statement(call_service, tables, catalogue):
    """list_books sends exactly one statement with 5 and with 200 books"""
    catalogue.fill_small(tables)
    small = await call_service("list_books", "author", limit=100, offset=0)
    small.expect_ok()
    catalogue.fill_large(tables)
    large = await call_service("list_books", "author", limit=100, offset=0)
    books = large.expect_ok()
    expect(
        catalogue.ids(books) == list(range(1, 101)),
        f"With {catalogue.LARGE} books, `{large.expression}` returned {len(books)} books "
        f"({catalogue.describe_ids(books)}), expected books 1 to 100.",
        "Order by the primary key, then apply the limit and the offset the call was given.",
        answer=".order_by(Book.id).limit(limit).offset(offset)",
    )
    catalogue.expect_flat(
        f"`{large.expression}`", small.statements, large.statements, 1, BUDGET_HINT, "books", answer=BUDGET_ANSWER
    )
