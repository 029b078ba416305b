"""Exercise 4: list_titles."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

AUTHOR = "INSERT INTO authors (id, name) VALUES (:id, :name)"
BOOK = "INSERT INTO books (title, price_cents, stock, author_id) VALUES (:title, :price_cents, 1, :author_id)"
SEED = [
    (AUTHOR, {"id": 1, "name": "Ursula K. Le Guin"}),
    (AUTHOR, {"id": 2, "name": "Octavia E. Butler"}),
    (AUTHOR, {"id": 3, "name": "Ted Chiang"}),
    (BOOK, {"title": "The Left Hand of Darkness", "price_cents": 1100, "author_id": 1}),
    (BOOK, {"title": "Kindred", "price_cents": 999, "author_id": 2}),
    (BOOK, {"title": "A Wizard of Earthsea", "price_cents": 899, "author_id": 1}),
    (BOOK, {"title": "The Dispossessed", "price_cents": 1250, "author_id": 1}),
]


# The key line of list_titles.
STATEMENT = "statement = select(Book.title).where(Book.author_id == author_id).order_by(Book.title)"


def read_lazy_relationship(call) -> bool:
    return bool(call.error and "lazy='raise'" in call.error["message"])


def lazy_load_hint(call) -> str:
    if read_lazy_relationship(call):
        return (
            'author.books is not loaded (lazy="raise"): ask for the titles with a select, filtered on the foreign key.'
        )
    return ""


@pytest.mark.points(2)
async def test_titles_of_one_author(bookshop):
    """list_titles returns one author's titles, A to Z"""
    call = await bookshop.call("list_titles", 1, seed=SEED)
    expect(
        call.ok,
        f"`{call.expression}` raised {call.describe_error()}.",
        lazy_load_hint(call),
        answer=STATEMENT if read_lazy_relationship(call) else "",
    )
    expect(
        call.type == "list" and call.item_types in ([], ["str"]),
        f"`{call.expression}` returned a {call.type} of {', '.join(call.item_types) or 'no items'}, "
        "expected a list of str.",
        "`session.scalars` gives the first column of each row, and `.all()` a list of them; `session.execute` "
        "gives rows.",
        answer="return list((await session.scalars(statement)).all())",
    )
    expected = ["A Wizard of Earthsea", "The Dispossessed", "The Left Hand of Darkness"]
    expect(
        sorted(call.value) == expected,
        f"`{call.expression}` returned {call.value}, expected the titles {expected}.",
        "Filter the select on the book's foreign key.",
        answer=STATEMENT,
    )
    expect(
        call.value == expected,
        f"`{call.expression}` returned {call.value}: not A to Z.",
        "Let the database sort: the select needs an ORDER BY.",
        answer=STATEMENT,
    )


@pytest.mark.points(1)
async def test_no_books(bookshop):
    """list_titles of an author without books, or of no author, is []"""
    for author_id in (3, 404):
        call = await bookshop.call("list_titles", author_id, seed=SEED if author_id == 3 else [])
        expect(
            call.ok,
            f"`{call.expression}` raised {call.describe_error()}.",
            lazy_load_hint(call),
            answer=STATEMENT if read_lazy_relationship(call) else "",
        )
        expect(call.value == [], f"`{call.expression}` returned {call.value!r}, expected [].")
