import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.fixture
def app_kwargs(db):
    return {"database_url": db.url, "factory": "bare", "page_size": 7, "probe_routes": True}


@pytest.mark.points(1)
async def test_page_bounds(client):
    """page below 1 and page_size outside 1..100 answer 422; the bounds themselves are accepted"""
    for query, expected in (
        ("?page_size=1", {"limit": 1, "offset": 0}),
        ("?page=5&page_size=100", {"limit": 100, "offset": 400}),
    ):
        response = await client.get(f"/probe/page{query}")
        expect(
            response.status_code == 200 and response.json() == expected,
            f"For {query}, a route depending on `PageDep` answered {response.status_code} {response.text[:200]}, "
            f"expected 200 and {expected}.",
            "Page n starts after the n - 1 pages before it; page 1 at offset 0."
            if response.status_code == 200
            else "page_size may be anything from 1 to 100: both bounds are inclusive.",
            answer="return Page(limit=size, offset=(page - 1) * size)"
            if response.status_code == 200
            else "page_size: Annotated[int | None, Query(ge=1, le=100)] = None",
        )
    for query in ("?page=0", "?page=-1", "?page_size=0", "?page_size=101", "?page_size=-5", "?page=two"):
        response = await client.get(f"/probe/page{query}")
        expect(
            response.status_code == 422,
            f"For {query}, a route depending on `PageDep` answered {response.status_code}, expected 422.",
            "Declare the bounds on the query parameters themselves, with `Query` in their `Annotated` types; "
            "FastAPI then answers 422 before your code runs.",
            answer="page: Annotated[int, Query(ge=1)] = 1,\n"
            "page_size: Annotated[int | None, Query(ge=1, le=100)] = None,",
        )
