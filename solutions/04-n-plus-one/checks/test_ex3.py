"""Exercise 3: get_page turns page and page_size into a limit and an offset."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.fixture
def app_kwargs(db):
    """A plain app (no router needed) whose settings say page_size 7, with a route that depends on PageDep."""
    return {"database_url": db.url, "factory": "bare", "page_size": 7, "probe_routes": True}


async def page_for(client, query: str) -> dict:
    """What a route depending on PageDep received for ``query``."""
    response = await client.get(f"/probe/page{query}")
    expect(
        response.status_code == 200,
        f"A route depending on `PageDep` answered {response.status_code} for `{query or 'no parameters'}`: "
        f"{response.text[:200]}",
        "get_page takes the settings and two query parameters and returns a Page; PageDep is an `Annotated` "
        "alias that names the type and the dependency that provides it.",
        answer="PageDep = Annotated[Page, Depends(get_page)]",
    )
    return response.json()


@pytest.mark.points(1)
async def test_page_defaults(client):
    """without page_size, a page holds settings.page_size rows; page 1 starts at offset 0"""
    first = await page_for(client, "")
    expect(
        first == {"limit": 7, "offset": 0},
        f"With no query parameters and page_size 7 in the app's settings, get_page gave {first}, "
        "expected limit 7, offset 0.",
        "Without page_size, take the page size from the app's settings; page 1 starts at offset 0.",
        answer="size = settings.page_size if page_size is None else page_size",
    )
    second = await page_for(client, "?page=2")
    expect(
        second == {"limit": 7, "offset": 7},
        f"For ?page=2 with page_size 7 in the settings, get_page gave {second}, expected limit 7, offset 7.",
        "Page 2 starts one page size after page 1, which starts at offset 0.",
        answer="return Page(limit=size, offset=(page - 1) * size)",
    )


@pytest.mark.points(1)
async def test_page_offsets(client):
    """page and page_size give offset (page - 1) * page_size"""
    for query, expected in (
        ("?page=3&page_size=10", {"limit": 10, "offset": 20}),
        ("?page_size=100", {"limit": 100, "offset": 0}),
        ("?page=4&page_size=1", {"limit": 1, "offset": 3}),
    ):
        seen = await page_for(client, query)
        expect(
            seen == expected,
            f"For {query}, get_page gave {seen}, expected {expected}.",
            "The page size is `page_size` when given; page n starts after the n - 1 pages before it.",
            answer="return Page(limit=size, offset=(page - 1) * size)",
        )


@pytest.mark.points(1)
async def test_page_size_is_bounded(client):
    """a page size over 100 or a page below 1 answers 422"""
    for query in ("?page_size=1000", "?page=0"):
        response = await client.get(f"/probe/page{query}")
        expect(
            response.status_code == 422,
            f"For {query}, a route depending on `PageDep` answered {response.status_code}, expected 422: a client "
            "may not ask for a page as large as it likes.",
            "Bounds belong on the query parameters, where FastAPI checks them before your code runs.",
            answer="page_size: Annotated[int | None, Query(ge=1, le=100)] = None",
        )
