import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

# The app each test needs, beyond the defaults (a plain table: custom markers would warn in a notebook).
APPS = {"test_pages_are_stable": {"page_size": 2, "reverse": True}}

BUDGET_HINT = (
    "The route calls list_books once; the author comes with each book in the same statement, loaded by "
    "the service's query. A query or `session.get(Author, ...)` per book is an N+1."
)
BUDGET_ANSWER = "books = await list_books(session, limit=page.limit, offset=page.offset)"


@pytest.fixture
def app_kwargs(request, db):
    return {"database_url": db.url} | APPS.get(request.function.__name__, {})


@pytest.mark.points(2)
async def test_books_statement_budget(client, db, sql, catalogue, why_it_failed, pages_from_ex3):
    """GET /books sends exactly one statement with 5 and with 200 books"""
    catalogue.fill_small(db)
    await catalogue.expect_ok(await client.get("/books?page_size=100"), why_it_failed)
    small = list(sql.last)
    catalogue.fill_large(db)
    body = await catalogue.expect_ok(await client.get("/books?page_size=100"), why_it_failed)
    large = list(sql.last)
    expect(
        catalogue.ids(body) == list(range(1, 101)),
        f"With {catalogue.LARGE} books, GET /books?page_size=100 returned {len(body)} books "
        f"({catalogue.describe_ids(body)}), expected books 1 to 100.",
        "Pass both the page's limit and its offset to list_books.",
        answer="books = await list_books(session, limit=page.limit, offset=page.offset)",
    )
    catalogue.expect_flat("GET /books?page_size=100", small, large, 1, BUDGET_HINT, "books", answer=BUDGET_ANSWER)


async def walk(client, url, why_it_failed, catalogue, limit=8):
    """The ids on pages 1, 2, ... of ``url`` up to the first empty page."""
    pages = []
    for number in range(1, limit + 1):
        separator = "&" if "?" in url else "?"
        body = await catalogue.expect_ok(await client.get(f"{url}{separator}page={number}"), why_it_failed, 2)
        pages.append(catalogue.ids(body))
        if not body:
            break
    return pages


@pytest.mark.points(1)
async def test_pages_are_stable(client, db, catalogue, why_it_failed, pages_from_ex3):
    """walking the pages of GET /authors and GET /books shows every row once, in id order"""
    catalogue.fill_small(db)
    authors = await walk(client, "/authors", why_it_failed, catalogue)
    catalogue.expect_pages("GET /authors?page=1, 2, ... (page_size 2 from the settings)", authors, [1, 2, 3, 4, 5])
    expect(
        authors[0] == [1, 2],
        f"GET /authors?page=1 returned {authors[0]} with page_size 2 in the app's settings.",
        "Without page_size the page size is `settings.page_size`: take the page from PageDep.",
        answer="authors = await list_authors(session, limit=page.limit, offset=page.offset)  # page: PageDep",
    )
    books = await walk(client, "/books?page_size=3", why_it_failed, catalogue)
    catalogue.expect_pages("GET /books?page_size=3&page=1, 2, ...", books, [1, 2, 3, 4, 5, 6, 7], "Book")


@pytest.mark.points(1)
async def test_routes_enforce_page_bounds(client, db, catalogue, why_it_failed):
    """GET /authors and GET /books answer 422 for a page or page_size out of bounds"""
    catalogue.fill_small(db)
    for url in ("/authors", "/books"):
        await catalogue.expect_ok(await client.get(f"{url}?page_size=100&page=1"), why_it_failed)
        for query in ("?page_size=101", "?page_size=0", "?page=0"):
            response = await client.get(url + query)
            expect(
                response.status_code == 422,
                f"GET {url}{query} answered {response.status_code}, expected 422.",
                "Take the page from `PageDep`, whose query parameters are bounded.",
                answer="async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:"
                if url == "/authors"
                else "async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:",
            )


@pytest.mark.points(1)
async def test_response_models_documented(client, catalogue, db):
    """the OpenAPI document shows what GET /authors and GET /books return"""
    response = await client.get("/openapi.json")
    expect(response.status_code == 200, f"GET /openapi.json answered {response.status_code}.")
    document = response.json()
    components = document.get("components", {}).get("schemas", {})
    for path, model, keys in (
        ("/authors", "AuthorWithBooks", {"id", "name", "books"}),
        ("/books", "BookWithAuthor", {"id", "title", "price_cents", "stock", "author_id", "author"}),
    ):
        operation = document.get("paths", {}).get(path, {}).get("get", {})
        schema = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        schema = schema.get("schema", {})
        reference = schema.get("items", {}).get("$ref", "") if schema.get("type") == "array" else ""
        properties = set(components.get(reference.rsplit("/", 1)[-1], {}).get("properties", {}))
        expect(
            properties == keys,
            f"The OpenAPI document does not show that GET {path} returns a list of {model} "
            f"(its 200 response schema is {schema or 'empty'}).",
            "Declare the response model on the route: its return annotation, or `response_model=`.",
            answer=f"-> list[{model}]  # or response_model=list[{model}]",
        )
