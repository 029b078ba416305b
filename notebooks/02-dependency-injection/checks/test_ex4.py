"""Exercise 4: the routes."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

GLOBAL_SESSION = (
    "Take the session from `SessionDep` in every route. A module-level engine or sessionmaker "
    "(or `Settings().database_url`) writes to another database than the app's, and ignores test overrides."
)
SWALLOWED = "If this answered 500, check that get_session lets exceptions through (exercise 2)."


@pytest.fixture
def app_kwargs(db):
    """A plain app whose state holds settings (page_size 2) and a session factory on the test database."""
    return {"database_url": db.url, "factory": "bare", "page_size": 2}


@pytest.mark.points(1)
async def test_post_then_get_author(client, db):
    """POST /authors writes to the app's database; GET /authors/{author_id} reads it back"""
    response = await client.post("/authors", json={"name": "Ursula K. Le Guin"})
    rows = db.rows("SELECT id, name FROM authors")
    expect(
        len(rows) == 1,
        f"POST /authors answered {response.status_code}, and the database the app was built with holds "
        f"{len(rows)} author(s) instead of 1.",
        GLOBAL_SESSION,
    )
    expect(
        response.status_code == 201 and response.json() == {"id": rows[0]["id"], "name": "Ursula K. Le Guin"},
        f"POST /authors answered {response.status_code} {response.text}, expected 201 and the new AuthorOut.",
        "Keep the given route as it is: `@router.post('/authors', status_code=201)`.",
    )
    again = await client.get(f"/authors/{rows[0]['id']}")
    expect(
        again.status_code == 200 and again.json() == {"id": rows[0]["id"], "name": "Ursula K. Le Guin"},
        f"GET /authors/{rows[0]['id']} right after creating that author answered {again.status_code} {again.text}.",
        "The path is `/authors/{author_id}`; take the session from `SessionDep`.",
        answer='@router.get("/authors/{author_id}")',
    )


@pytest.mark.points(1)
async def test_get_author(client, db, seeder):
    """GET /authors/{author_id} answers 200 with the author, 404 for an unknown id"""
    seeder(db, authors=[(7, "Ted Chiang")])
    response = await client.get("/authors/7")
    expect(
        response.status_code == 200,
        f"GET /authors/7 answered {response.status_code} for an author that is in the app's database.",
        GLOBAL_SESSION if response.status_code == 404 else "The path is `/authors/{author_id}`.",
    )
    expect(response.json() == {"id": 7, "name": "Ted Chiang"}, f"GET /authors/7 returned {response.text}.")
    missing = await client.get("/authors/999")
    expect(
        missing.status_code == 404,
        f"GET /authors/999 answered {missing.status_code}, expected 404.",
        "Catch AuthorNotFound around the service call and raise an HTTPException with the contract's status. "
        + SWALLOWED,
        answer='raise HTTPException(status_code=404, detail=f"author {author_id} not found") from None',
    )


@pytest.mark.points(1)
async def test_post_book(client, db, seeder):
    """POST /books answers 201, 404 for an unknown author, 409 for a duplicate title"""
    seeder(db, authors=[(1, "N. K. Jemisin")])
    body = {"title": "The Fifth Season", "price_cents": 1599, "stock": 3, "author_id": 1}
    response = await client.post("/books", json=body)
    rows = db.rows("SELECT id, title, price_cents, stock, author_id FROM books")
    expect(
        response.status_code == 201 and len(rows) == 1,
        f"POST /books for an author in the app's database answered {response.status_code}, "
        f"and the app's database holds {len(rows)} book(s).",
        GLOBAL_SESSION
        if response.status_code in (201, 404)
        else "A created book answers 201: the route's decorator sets the status.",
        answer="" if response.status_code in (201, 404) else '@router.post("/books", status_code=201)',
    )
    expect(response.json() == rows[0], f"POST /books returned {response.text}, expected the BookOut {rows[0]}.")
    duplicate = await client.post("/books", json=body)
    expect(
        duplicate.status_code == 409,
        f"POST /books with a title the author already has answered {duplicate.status_code}, expected 409.",
        "Catch DuplicateBook around the service call and raise an HTTPException with the contract's status. "
        + SWALLOWED,
        answer='raise HTTPException(status_code=409, detail="this author already has a book with this title") '
        "from None",
    )
    unknown = await client.post("/books", json=body | {"author_id": 999})
    expect(
        unknown.status_code == 404,
        f"POST /books for author 999 answered {unknown.status_code}, expected 404.",
        "Catch AuthorNotFound around the service call and raise an HTTPException with the contract's status. "
        + SWALLOWED,
        answer='raise HTTPException(status_code=404, detail=f"author {body.author_id} not found") from None',
    )


@pytest.mark.points(1)
async def test_list_books_page_size(client, db, seeder):
    """GET /books lists books by id, at most the app's settings.page_size"""
    seeder(
        db,
        authors=[(31, "Ted Chiang")],
        books=[(33, "Omphalos", 1300, 1, 31), (31, "Exhalation", 1100, 1, 31), (32, "Anxiety", 1200, 1, 31)],
    )
    response = await client.get("/books")
    expect(response.status_code == 200, f"GET /books answered {response.status_code}.", GLOBAL_SESSION)
    books = response.json()
    titles = [book.get("title") for book in books] if isinstance(books, list) else books
    expect(
        isinstance(titles, list) and set(titles) <= {"Omphalos", "Exhalation", "Anxiety"} and titles,
        f"GET /books returned {titles}, not the books in the app's database (Exhalation, Anxiety, Omphalos).",
        GLOBAL_SESSION,
    )
    expect(
        titles == ["Exhalation", "Anxiety"],
        f"With page_size 2 in the app's settings, GET /books returned {titles}, "
        "expected the first two by id: ['Exhalation', 'Anxiety'].",
        "Let the route depend on the app's settings too, and pass their page size to the service; "
        "settings read when the cell runs (`Settings()`) are not the app's.",
        answer="books = await list_books(session, limit=settings.page_size)",
    )
    expect(
        books[0] == {"id": 31, "title": "Exhalation", "price_cents": 1100, "stock": 1, "author_id": 31},
        f"GET /books returned {books[0]} for book 31.",
        "Convert each book to a `BookOut`, as the given route does for an author.",
        answer="return [BookOut.model_validate(book) for book in books]",
    )
