import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex3")

HTTP_IN_SERVICE = (
    "Services raise domain exceptions (AuthorNotFound, DuplicateBook); the route turns them into statuses."
)


def raised(observed, call, expected):
    """Check that the service raised ``expected`` (by name) and not something else."""
    answer = bookshop.service_answer(observed, call)
    if answer["raised"] is None:
        expect(False, f"`{call}` returned {answer['value']!r} instead of raising {expected}.")
    expect(
        answer["raised"] == expected,
        f"`{call}` raised {answer['raised']} ({answer['message']}), expected {expected}.",
        HTTP_IN_SERVICE if answer["http"] else "",
    )


@pytest.mark.points(1)
async def test_get_unknown_author(call_service, tables, seeder):
    """get_author raises AuthorNotFound for an unknown id"""
    seeder(tables, authors=[(1, "Ted Chiang")])
    raised(await call_service("get_author", 2), "get_author(session, 2)", "AuthorNotFound")


@pytest.mark.points(1)
async def test_book_for_unknown_author(call_service, tables, seeder):
    """create_book raises AuthorNotFound for an unknown author and writes nothing"""
    seeder(tables, authors=[(1, "Ted Chiang")])
    call = "create_book(session, title='Exhalation', price_cents=1800, stock=1, author_id=42)"
    observed = await call_service("create_book", title="Exhalation", price_cents=1800, stock=1, author_id=42)
    expect(
        not (observed.ok and observed.value.get("raised") == "IntegrityError"),
        f"`{call}` raised IntegrityError: the database refused the row, the service never checked.",
        "Look the author up first, with the service that already raises AuthorNotFound, and let it out.",
        answer="await get_author(session, author_id)",
    )
    raised(observed, call, "AuthorNotFound")
    expect(tables.rows("SELECT * FROM books") == [], f"`{call}` raised, but a book was written anyway.")


@pytest.mark.points(1)
async def test_duplicate_title(call_service, tables, seeder):
    """create_book raises DuplicateBook for a title the author already has, and only for that author"""
    seeder(tables, authors=[(1, "Ted Chiang"), (2, "Greg Egan")], books=[(1, "Exhalation", 1800, 1, 1)])
    call = "create_book(session, title='Exhalation', price_cents=999, stock=1, author_id=1)"
    raised(
        await call_service("create_book", title="Exhalation", price_cents=999, stock=1, author_id=1),
        call,
        "DuplicateBook",
    )
    expect(
        len(tables.rows("SELECT * FROM books")) == 1,
        f"`{call}` raised DuplicateBook, but a second copy was written anyway.",
        "The unique constraint of chapter 01 refuses a second copy: keep Book's `__table_args__` as given.",
    )
    other = await call_service("create_book", title="Exhalation", price_cents=999, stock=1, author_id=2)
    expect(
        other.ok and other.value["raised"] is None,
        "Another author could not publish a book titled 'Exhalation': "
        f"{other.value['raised'] if other.ok else other.describe_error()}.",
        "The rule is per author: filter on both `Book.author_id` and `Book.title`.",
    )


@pytest.mark.points(1)
async def test_list_books_limit_and_order(call_service, tables, seeder):
    """list_books returns at most `limit` books, ordered by id"""
    seeder(
        tables,
        authors=[(1, "Ted Chiang")],
        books=[(5, "E", 100, 1, 1), (2, "B", 100, 1, 1), (4, "D", 100, 1, 1), (1, "A", 100, 1, 1), (3, "C", 100, 1, 1)],
    )
    observed = await call_service("list_books", limit=3)
    expect(observed.ok, f"`list_books(session, limit=3)` could not run: {observed.describe_error()}.")
    if observed.value["raised"] is not None:
        expect(False, f"`list_books(session, limit=3)` raised {observed.value['raised']} {observed.value['message']}")
    value = observed.value["value"]
    ids = [
        book.get("id") if isinstance(book, dict) else book for book in (value if isinstance(value, list) else [value])
    ]
    expect(
        ids == [1, 2, 3],
        f"`list_books(session, limit=3)` returned books {ids}, expected [1, 2, 3].",
        "Let the database order the books by id and stop at `limit`: both belong in the select.",
        answer="books = await session.scalars(select(Book).order_by(Book.id).limit(limit))",
    )
