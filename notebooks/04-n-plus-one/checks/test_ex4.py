"""Exercise 4: GET /authors and GET /books serve nested data within their statement budgets."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

BUDGET_HINT = (
    "The route calls list_authors once and converts its result; all loading happens in that one query. "
    "A query or `session.refresh` per author in the route is an N+1."
)
BUDGET_ANSWER = "authors = await list_authors(session, limit=page.limit, offset=page.offset)"


@pytest.mark.points(1)
async def test_get_authors(client, db, catalogue, why_it_failed, pages_from_ex3):
    """GET /authors answers a list of AuthorWithBooks, ordered by id"""
    catalogue.fill_small(db)
    body = await catalogue.expect_ok(await client.get("/authors"), why_it_failed)
    expected = catalogue.expected_authors()
    expect(
        isinstance(body, list) and catalogue.ids(body) == catalogue.ids(expected),
        f"GET /authors returned the authors {catalogue.ids(body) or body}, expected {catalogue.ids(expected)}.",
        "Call list_authors with the page's limit and offset; it orders by id.",
        answer="authors = await list_authors(session, limit=page.limit, offset=page.offset)",
    )
    for got, want in zip(catalogue.sort_nested(body), expected, strict=True):
        expect(
            got == want,
            f"GET /authors returned author {want['id']} as {got}, expected {want}.",
            "Convert each author to the response model, which has exactly id, name and books.",
            answer="return [AuthorWithBooks.model_validate(author) for author in authors]",
        )


@pytest.mark.points(1)
async def test_get_books(client, db, catalogue, why_it_failed, pages_from_ex3):
    """GET /books answers a list of BookWithAuthor, ordered by id"""
    catalogue.fill_small(db)
    body = await catalogue.expect_ok(await client.get("/books"), why_it_failed)
    expected = catalogue.expected_books()
    expect(
        isinstance(body, list) and catalogue.ids(body) == catalogue.ids(expected),
        f"GET /books returned the books {catalogue.ids(body) or body}, expected {catalogue.ids(expected)}.",
        "Call list_books with the page's limit and offset; it orders by id.",
        answer="books = await list_books(session, limit=page.limit, offset=page.offset)",
    )
    for got, want in zip(body, expected, strict=True):
        expect(
            got == want,
            f"GET /books returned book {want['id']} as {got}, expected {want}.",
            "Convert each book to the response model, which has the book's fields and its author.",
            answer="return [BookWithAuthor.model_validate(book) for book in books]",
        )


@pytest.mark.points(2)
async def test_authors_statement_budget(client, db, sql, catalogue, why_it_failed, pages_from_ex3):
    """GET /authors sends the same number of statements, at most 2, with 5 and with 200 authors"""
    catalogue.fill_small(db)
    await catalogue.expect_ok(await client.get("/authors?page_size=100"), why_it_failed)
    small = list(sql.last)
    catalogue.fill_large(db)
    body = await catalogue.expect_ok(await client.get("/authors?page_size=100"), why_it_failed)
    large = list(sql.last)
    expect(
        catalogue.ids(body) == list(range(1, 101)),
        f"With {catalogue.LARGE} authors, GET /authors?page_size=100 returned {len(body)} authors "
        f"({catalogue.describe_ids(body)}), expected authors 1 to 100.",
        "Pass both the page's limit and its offset to list_authors.",
        answer="authors = await list_authors(session, limit=page.limit, offset=page.offset)",
    )
    catalogue.expect_flat("GET /authors?page_size=100", small, large, 2, BUDGET_HINT, answer=BUDGET_ANSWER)
