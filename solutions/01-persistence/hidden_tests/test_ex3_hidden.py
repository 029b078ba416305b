import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")

# The contract as SQLite stores it: column -> (declared type prefix, NOT NULL, primary key).
SCHEMA = {
    "authors": {"id": ("INTEGER", True), "name": ("VARCHAR", False)},
    "books": {
        "id": ("INTEGER", True),
        "title": ("VARCHAR", False),
        "price_cents": ("INTEGER", False),
        "stock": ("INTEGER", False),
        "author_id": ("INTEGER", False),
    },
}
AUTHOR = [("INSERT INTO authors (id, name) VALUES (:id, :name)", {"id": 1, "name": "Ursula K. Le Guin"})]


@pytest.mark.points(1)
async def test_schema_as_stated(bookshop, db):
    """the created tables have the contract's types, NOT NULL columns and foreign key"""
    observed = await bookshop.create_schema()
    expect(observed.ok, f"`await create_schema(engine)` raised {observed.describe_error()}.")
    for table, columns in SCHEMA.items():
        info = {row["name"]: row for row in db.rows(f'PRAGMA table_info("{table}")')}
        expect(info, f"create_schema did not create the table {table}.")
        for column, (declared, primary_key) in columns.items():
            row = info.get(column)
            expect(row is not None, f"The table {table} has no column {column}.")
            expect(
                row["type"].upper().startswith(declared),
                f"{table}.{column} is declared {row['type']!r}, expected {declared}.",
                "Prices are whole cents in an INTEGER column: `Mapped[int]`." if column == "price_cents" else "",
            )
            expect(bool(row["pk"]) == primary_key, f"{table}.{column}: primary key is {bool(row['pk'])}.")
            expect(
                primary_key or row["notnull"] == 1,
                f"{table}.{column} accepts NULL; the contract says NOT NULL.",
                "`Mapped[int]` / `Mapped[str]` are NOT NULL; `Mapped[... | None]` is not.",
            )
    keys = [(k["from"], k["table"], k["to"]) for k in db.rows('PRAGMA foreign_key_list("books")')]
    expect(
        keys == [("author_id", "authors", "id")],
        f"The foreign keys of books are {keys or 'none'}, expected author_id -> authors.id.",
        "Book.author_id needs a `ForeignKey` in its `mapped_column`, naming the table, then the column.",
        answer='author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))',
    )


@pytest.mark.points(2)
async def test_unknown_author_refused(bookshop, db):
    """add_book with an unknown author raises IntegrityError and stores nothing"""
    call = await bookshop.call("add_book", 999, "The Left Hand of Darkness", 1100, 1, seed=AUTHOR)
    expect(
        not call.ok,
        f"`{call.expression}` returned {call.value!r}, but no author has the id 999.",
        "Let the IntegrityError of the commit propagate: do not catch it and return a value.",
    )
    expect(
        call.raised("IntegrityError"),
        f"`{call.expression}` raised {call.describe_error()}, expected IntegrityError.",
        "Add the Book with `author_id=author_id` and commit; the database refuses the foreign key.",
        answer="book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)",
    )
    rows = db.rows("SELECT title FROM books")
    expect(not rows, f"After the refused add_book the table books holds {rows}.")


@pytest.mark.points(2)
async def test_no_connection_left_checked_out(bookshop):
    """add_author and add_book give their connection back, also after an error"""
    calls = [
        await bookshop.call("add_author", "Octavia E. Butler", seed=AUTHOR),
        await bookshop.call("add_book", 1, "The Dispossessed", 1250, 3),
    ]
    for call in calls:
        expect(call.ok, f"`{call.expression}` raised {call.describe_error()}.")
    calls.append(await bookshop.call("add_book", 999, "Orphan", 100, 1))
    expect(not calls[-1].ok, f"`{calls[-1].expression}` did not raise although no author has the id 999.")
    for call in calls:
        expect(
            call.checked_out == 0,
            f"After `{call.expression}` returned{' with an error' if call.error else ''}, "
            f"{call.checked_out} connection(s) were still checked out of the pool.",
            "Use the session as `async with sessionmaker() as session:` so it is closed, and its connection "
            "returned, however the block ends.",
        )
