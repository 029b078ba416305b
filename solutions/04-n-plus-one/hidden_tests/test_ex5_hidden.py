import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex5")

APPS = {"test_author_stats_pages": {"page_size": 2, "reverse": True}}


@pytest.fixture
def app_kwargs(request, db):
    return {"database_url": db.url} | APPS.get(request.function.__name__, {})


@pytest.mark.points(2)
async def test_author_stats_one_statement(client, db, sql, catalogue, why_it_failed, pages_from_ex3):
    """GET /authors/stats sends exactly one statement with 5 and with 200 authors"""
    catalogue.fill_small(db)
    await catalogue.expect_ok(await client.get("/authors/stats?page_size=100"), why_it_failed)
    small = list(sql.last)
    catalogue.fill_large(db)
    body = await catalogue.expect_ok(await client.get("/authors/stats?page_size=100"), why_it_failed)
    large = list(sql.last)
    expect(
        catalogue.ids(body) == list(range(1, 101)),
        f"With {catalogue.LARGE} authors, GET /authors/stats?page_size=100 returned {len(body)} rows "
        f"({catalogue.describe_ids(body)}), expected authors 1 to 100.",
        "Order by Author.id and pass the page's limit and offset.",
        answer="return await author_stats(session, limit=page.limit, offset=page.offset)",
    )
    catalogue.expect_flat(
        "GET /authors/stats?page_size=100",
        small,
        large,
        1,
        "Count and sum in the database: one select of columns and aggregates, with an outer join and a "
        "GROUP BY. Loading the books (selectinload) or counting per author costs more.",
        answer=".outerjoin(Book, Book.author_id == Author.id)\n.group_by(Author.id, Author.name)",
    )


@pytest.mark.points(1)
async def test_author_stats_pages(client, db, catalogue, why_it_failed, pages_from_ex3):
    """GET /authors/stats is paginated with PageDep and ordered by id"""
    catalogue.fill_small(db)
    pages = []
    for number in range(1, 5):
        body = await catalogue.expect_ok(await client.get(f"/authors/stats?page={number}"), why_it_failed, 2)
        pages.append(catalogue.ids(body))
        if not body:
            break
    catalogue.expect_pages("GET /authors/stats?page=1, 2, ... (page_size 2 from the settings)", pages, [1, 2, 3, 4, 5])
    expect(pages[0] == [1, 2], f"GET /authors/stats?page=1 returned {pages[0]} with page_size 2 in the settings.")
