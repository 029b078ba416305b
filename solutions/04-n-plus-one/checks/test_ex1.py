"""Exercise 1: list_authors loads every author's books in a constant number of statements."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

BUDGET_HINT = (
    "Load the books of the whole page at once, with a loader option on the query. A query per author "
    "(a loop, or `session.refresh(author, ['books'])`) grows with the page."
)
BUDGET_ANSWER = "select(Author).options(selectinload(Author.books))"


@pytest.mark.points(1)
async def test_list_authors_loads_books(call_service, tables, catalogue):
    """list_authors returns the authors ordered by id, each with their books loaded"""
    catalogue.fill_small(tables)
    call = await call_service("list_authors", "books", limit=10, offset=0)
    authors = catalogue.sort_nested(call.expect_ok())
    expected = catalogue.expected_authors()
    expect(
        catalogue.ids(authors) == catalogue.ids(expected),
        f"`{call.expression}` returned the authors {catalogue.ids(authors)}, expected {catalogue.ids(expected)}.",
        "Select Author objects ordered by their primary key, then keep `limit` of them after skipping `offset`.",
        answer=".order_by(Author.id).limit(limit).offset(offset)",
    )
    for got, want in zip(authors, expected, strict=True):
        expect(
            got == want,
            f"`{call.expression}` gave author {want['id']} the books {catalogue.ids(got.get('books'))}, "
            f"expected {catalogue.ids(want['books'])}.",
            "Load each author's books in the query, with a loader option; an author without books then has an "
            "empty list.",
            answer=".options(selectinload(Author.books))",
        )


@pytest.mark.points(2)
async def test_list_authors_statement_count(call_service, tables, catalogue):
    """list_authors sends the same number of statements, at most 2, with 5 and with 200 authors"""
    catalogue.fill_small(tables)
    small = await call_service("list_authors", "books", limit=100, offset=0)
    small.expect_ok()
    catalogue.fill_large(tables)
    large = await call_service("list_authors", "books", limit=100, offset=0)
    authors = large.expect_ok()
    expect(
        catalogue.ids(authors) == list(range(1, 101)),
        f"With {catalogue.LARGE} authors, `{large.expression}` returned {len(authors)} authors "
        f"({catalogue.describe_ids(authors)}), expected authors 1 to 100.",
        "Order by the primary key, then apply the limit and the offset the call was given.",
        answer=".order_by(Author.id).limit(limit).offset(offset)",
    )
    catalogue.expect_flat(
        f"`{large.expression}`", small.statements, large.statements, 2, BUDGET_HINT, answer=BUDGET_ANSWER
    )
