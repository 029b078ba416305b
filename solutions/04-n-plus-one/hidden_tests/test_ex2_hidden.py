import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


@pytest.mark.points(1)
async def test_list_books_pages(call_service, tables, catalogue):
    """list_books pages are stable: ordered by id, limit and offset respected"""
    catalogue.fill_small(tables)
    pages = []
    for offset in (0, 3, 6, 9):
        call = await call_service("list_books", "author", reverse=True, limit=3, offset=offset)
        pages.append(catalogue.ids(call.expect_ok()))
    catalogue.expect_pages(
        "list_books with limit=3 and offsets 0, 3, 6, 9", pages, [1, 2, 3, 4, 5, 6, 7], "Book", service=True
    )
    expect(pages[-1] == [], f"`{call.expression}` returned {pages[-1]} past the last book, expected [].")
