"""Exercise 5: GET /authors/stats counts in SQL."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")


def expected_stats(authors, books):
    return [
        {
            "id": author_id,
            "name": name,
            "book_count": sum(1 for b in books if b[4] == author_id),
            "total_stock": sum(b[3] for b in books if b[4] == author_id),
        }
        for author_id, name in authors
    ]


@pytest.mark.points(1)
async def test_author_stats(client, db, catalogue, why_it_failed, pages_from_ex3):
    """GET /authors/stats answers book_count and total_stock per author, 0 for an author without books"""
    catalogue.fill_small(db)
    body = await catalogue.expect_ok(await client.get("/authors/stats"), why_it_failed)
    expected = expected_stats(catalogue.AUTHORS, catalogue.BOOKS)
    expect(
        isinstance(body, list) and catalogue.ids(body) == catalogue.ids(expected),
        f"GET /authors/stats returned the authors {catalogue.ids(body) or body}, expected {catalogue.ids(expected)}.",
        "Outer-join the books so that authors without books stay, group by author and order by id.",
        answer=".outerjoin(Book, Book.author_id == Author.id)",
    )
    for got, want in zip(body, expected, strict=True):
        expect(
            got == want,
            f"GET /authors/stats returned {got} for author {want['id']}, expected {want}.",
            "Count a column of the books, which counts only joined books, and turn the sum of no rows (NULL) "
            "into 0. AuthorStats has exactly id, name, book_count and total_stock.",
            answer='func.count(Book.id).label("book_count"),\n'
            'func.coalesce(func.sum(Book.stock), 0).label("total_stock"),',
        )
