"""Exercise 3: the services."""

import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex3")


def outcome(observed, call):
    """The service's result, or a failed check naming what it raised."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is not None:
        expect(False, f"`{call}` raised {answer['raised']}: {answer['message']}")
    return answer["value"]


@pytest.mark.points(1)
async def test_create_and_get_author(call_service, db):
    """create_author commits the author; get_author finds it again"""
    created = outcome(
        await call_service("create_author", "Ursula K. Le Guin"), "create_author(session, 'Ursula K. Le Guin')"
    )
    expect(
        isinstance(created, dict) and created.get("type") == "Author" and isinstance(created.get("id"), int),
        f"`create_author` returned {created!r}, expected the new Author with its id.",
        "Add the author to the session and commit before returning it: the database gives the id at the INSERT.",
        answer="session.add(author); await session.commit()",
    )
    rows = db.rows("SELECT id, name FROM authors")
    expect(
        rows == [{"id": created["id"], "name": "Ursula K. Le Guin"}],
        f"After create_author, the authors table holds {rows}.",
        "Did you commit? Closing a session rolls back what was not committed.",
        answer="await session.commit()",
    )
    found = outcome(await call_service("get_author", created["id"]), f"get_author(session, {created['id']})")
    expect(
        isinstance(found, dict) and found.get("name") == "Ursula K. Le Guin",
        f"`get_author(session, {created['id']})` returned {found!r}.",
        "`session.get` loads a row by its primary key.",
        answer="author = await session.get(Author, author_id)",
    )


@pytest.mark.points(1)
async def test_create_book_and_list(call_service, tables, seeder):
    """create_book commits the book; list_books returns it"""
    seeder(tables, authors=[(1, "N. K. Jemisin")])
    call = "create_book(session, title='The Fifth Season', price_cents=1599, stock=3, author_id=1)"
    book = outcome(
        await call_service("create_book", title="The Fifth Season", price_cents=1599, stock=3, author_id=1), call
    )
    rows = tables.rows("SELECT title, price_cents, stock, author_id FROM books")
    expect(
        rows == [{"title": "The Fifth Season", "price_cents": 1599, "stock": 3, "author_id": 1}],
        f"After `{call}`, the books table holds {rows}.",
        "Create the Book with all four values, add it and commit.",
        answer="book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)",
    )
    expect(
        isinstance(book, dict) and book.get("type") == "Book" and book.get("title") == "The Fifth Season",
        f"`create_book` returned {book!r}, expected the new Book.",
    )
    listed = outcome(await call_service("list_books", limit=10), "list_books(session, limit=10)")
    expect(
        isinstance(listed, list) and [b.get("title") for b in listed if isinstance(b, dict)] == ["The Fifth Season"],
        f"`list_books(session, limit=10)` returned {listed!r}.",
        "Return a list of Book objects: `session.scalars` gives the objects a `select` of the class finds.",
        answer="books = await session.scalars(select(Book).order_by(Book.id).limit(limit))",
    )


async def create_title(ns, database_url, title, side):
    """Probe: one side of a race, a create_book call for `title` with its own session."""
    from grader.checks.bookshop import race_side

    if "create_book" not in ns:
        raise NameError("name 'create_book' is not defined")

    async def create(sessions):
        async with sessions() as session:
            await ns["create_book"](session, title=title, price_cents=999, stock=1, author_id=1)

    return await race_side(ns, database_url, create, "created")


@pytest.mark.points(1)
async def test_duplicate_title_race(learner, tables, seeder):
    """two create_book calls at once for one title: one book is written, the other raises DuplicateBook"""
    titles = ["Kindred", "Dawn", "Imago", "Wild Seed"]
    seeder(tables, authors=[(1, "Octavia E. Butler")])
    outcomes = [await bookshop.race(learner, create_title, database_url=tables.url, title=title) for title in titles]
    counts = {
        row["title"]: row["copies"] for row in tables.rows("SELECT title, COUNT(*) AS copies FROM books GROUP BY title")
    }
    for title, results in zip(titles, outcomes, strict=True):
        written = counts.get(title, 0)
        expect(
            written == 1,
            f"Two create_book calls for {title!r} at the same moment wrote {written} books ({results}).",
            "The unique constraint of chapter 01 (`uq_books_author_id_title`) keeps one title per author: "
            "leave Book's `__table_args__` as given.",
        )
        expect(
            sorted(results) == ["DuplicateBook", "created"],
            f"Two create_book calls for {title!r} at the same moment gave {results}: one must create the book, "
            "the other raise DuplicateBook."
            + (" The IntegrityError is the database refusing the second row." if "IntegrityError" in results else ""),
            "Both calls can look for the title before either inserts, and both find nothing. The database's "
            "refusal is the rule: catch IntegrityError at commit.",
        )
