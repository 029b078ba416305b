"""Exercise 3: create_schema, add_author, add_book."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.mark.points(1)
async def test_create_schema(bookshop, db):
    """create_schema(engine) creates the tables authors and books"""
    observed = await bookshop.create_schema()
    expect(
        observed.ok,
        f"`await create_schema(engine)` raised {observed.describe_error()}.",
        "Do as the worked example does: open a transaction on the engine, and run `create_all`, which is "
        "synchronous, through the connection's `run_sync`.",
        answer="async with engine.begin() as conn: await conn.run_sync(Base.metadata.create_all)",
    )
    tables = db.tables()
    expect(
        {"authors", "books"} <= set(tables),
        f"After create_schema the database has the tables {tables or 'none'}, expected authors and books.",
        "Create the tables in the database of the engine you were given, with Base.metadata.",
        answer="async with engine.begin() as conn: await conn.run_sync(Base.metadata.create_all)",
    )
    expect(db.columns("authors") == ["id", "name"], f"The table authors has the columns {db.columns('authors')}.")
    expect(
        set(db.columns("books")) == {"id", "title", "price_cents", "stock", "author_id"},
        f"The table books has the columns {db.columns('books')}.",
    )


@pytest.mark.points(2)
async def test_add_author_and_book(bookshop, db):
    """add_author and add_book store their row and return its id"""
    first = await bookshop.call("add_author", "Ursula K. Le Guin")
    expect(first.ok, f"`{first.expression}` raised {first.describe_error()}.")
    expect(
        first.type == "int",
        f"`{first.expression}` returned {first.value!r} (type {first.type}), expected the new author's id.",
        "Return `author.id` (an int) after the commit.",
        answer="await session.commit(); return author.id",
    )
    second = await bookshop.call("add_author", "Octavia E. Butler")
    expect(second.ok, f"`{second.expression}` raised {second.describe_error()}.")
    authors = {row["id"]: row["name"] for row in db.rows("SELECT id, name FROM authors")}
    expect(
        authors == {first.value: "Ursula K. Le Guin", second.value: "Octavia E. Butler"},
        f"After two calls of add_author, returning {first.value!r} and {second.value!r}, the table authors "
        f"holds {authors}.",
        "Commit the session, and return the id the database gave the new row.",
    )
    book = await bookshop.call("add_book", second.value, "Kindred", 999, 2)
    expect(
        book.ok,
        f"`{book.expression}` raised {book.describe_error()}.",
        "Build the Book, add it, commit.",
        answer="book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)",
    )
    expect(book.type == "int", f"`{book.expression}` returned {book.value!r} (type {book.type}), expected an id.")
    rows = db.rows("SELECT id, title, price_cents, stock, author_id FROM books")
    expected = [{"id": book.value, "title": "Kindred", "price_cents": 999, "stock": 2, "author_id": second.value}]
    expect(rows == expected, f"After add_book the table books holds {rows}, expected {expected}.")
