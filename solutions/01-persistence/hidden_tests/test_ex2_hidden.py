import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

# The key line of each relationship.
RELATIONSHIPS = {
    "Author.books": 'books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise")',
    "Book.author": 'author: Mapped[Author] = relationship(back_populates="books", lazy="raise")',
}


async def read_unloaded_relationships(ns, url):
    """Load a book and an author without their relationships, then read those relationships."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    for name in ("Base", "Author", "Book"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ns["Base"].metadata.create_all)
            await connection.execute(text("INSERT INTO authors (id, name) VALUES (1, 'Octavia E. Butler')"))
            await connection.execute(
                text("INSERT INTO books (id, title, price_cents, stock, author_id) VALUES (1, 'Kindred', 999, 2, 1)")
            )
        outcomes = {}
        for owner, attribute in (("Book", "author"), ("Author", "books")):
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                loaded = await session.get(ns[owner], 1)
                try:
                    getattr(loaded, attribute)
                    outcomes[f"{owner}.{attribute}"] = {"type": "loaded", "message": ""}
                except Exception as exc:
                    outcomes[f"{owner}.{attribute}"] = {"type": type(exc).__name__, "message": str(exc)[:300]}
        return outcomes
    finally:
        await engine.dispose()


@pytest.mark.points(2)
async def test_unloaded_relationship_raises(learner, db):
    """reading an unloaded relationship raises InvalidRequestError (lazy="raise"), not MissingGreenlet"""
    observed = await learner.probe(read_unloaded_relationships, url=db.url)
    expect(
        observed.ok,
        f"Loading a book and an author raised {observed.describe_error()}.",
        "Run the cell of exercise 2 without errors; the columns must match the contract.",
    )
    for key, outcome in observed.value.items():
        expect(
            "MissingGreenlet" not in f"{outcome['type']} {outcome['message']}",
            f"Reading an unloaded `{key}` raised MissingGreenlet: it tried a lazy load, which cannot run "
            "outside `await`.",
            f'Declare {key} with `lazy="raise"`, so a forgotten load fails at once with a clear message.',
            answer=RELATIONSHIPS[key],
        )
        expect(
            outcome["type"] != "loaded",
            f"`{key}` was loaded although nobody asked for it: every query for its class loads it too.",
            'Use `lazy="raise"` and load related rows explicitly when you need them.',
            answer=RELATIONSHIPS[key],
        )
        expect(
            outcome["type"] == "InvalidRequestError",
            f"Reading an unloaded `{key}` raised {outcome['type']}: {outcome['message']}",
            'lazy="raise" makes it raise InvalidRequestError.',
            answer=RELATIONSHIPS[key],
        )
