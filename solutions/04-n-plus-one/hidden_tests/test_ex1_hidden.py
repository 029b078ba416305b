import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")


@pytest.mark.points(1)
async def test_list_authors_pages(call_service, tables, catalogue):
    """list_authors pages are stable: ordered by id, limit and offset respected"""
    catalogue.fill_small(tables)
    pages = []
    for offset in (0, 2, 4, 6):
        call = await call_service("list_authors", "books", reverse=True, limit=2, offset=offset)
        pages.append(catalogue.ids(call.expect_ok()))
    catalogue.expect_pages(
        "list_authors with limit=2 and offsets 0, 2, 4, 6", pages, [1, 2, 3, 4, 5], "Author", service=True
    )
    expect(pages[-1] == [], f"`{call.expression}` returned {pages[-1]} past the last author, expected [].")


# The relationships as chapter 01 declares them: the key line of a model that lost lazy="raise".
MODEL_LINES = {
    "Author.books": 'books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise")',
    "Book.author": 'author: Mapped[Author] = relationship(back_populates="books", lazy="raise")',
}


async def relationship_loading(ns):
    """How each relationship of the models loads by default."""
    from sqlalchemy import inspect

    for name in ("Author", "Book"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    found = {}
    for owner, key in (("Author", "books"), ("Book", "author")):
        relationships = inspect(ns[owner]).relationships
        found[f"{owner}.{key}"] = relationships[key].lazy if key in relationships else None
    return found


@pytest.mark.points(1)
async def test_relationships_keep_lazy_raise(call_service, learner, tables, catalogue):
    """the books are loaded by the query while Author.books and Book.author keep lazy="raise\""""
    observed = await learner.probe(relationship_loading)
    expect(observed.ok, f"Inspecting the models raised {observed.describe_error()}.")
    for key, lazy in observed.value.items():
        expect(
            lazy == "raise",
            f'{key} has lazy="{lazy}" instead of lazy="raise": '
            + (
                "every query for its class now loads it, needed or not."
                if lazy in ("selectin", "joined", "subquery", "immediate")
                else "a forgotten load now becomes a lazy load (MissingGreenlet under asyncio, an N+1 in sync code)."
            ),
            'Keep the models of chapter 01 as they are (lazy="raise") and choose the loading per query with '
            "`.options(selectinload(...))` or `.options(joinedload(...))`.",
            answer=MODEL_LINES.get(key, ""),
        )
    catalogue.fill_small(tables)
    call = await call_service("list_authors", "books", limit=5, offset=0)
    call.expect_ok()
