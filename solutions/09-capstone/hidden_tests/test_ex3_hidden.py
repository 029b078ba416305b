import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")

RELATIONSHIPS = [
    ["Author", "books"],
    ["Book", "author"],
    ["Order", "lines"],
    ["OrderLine", "book"],
    ["OrderLine", "order"],
]


@pytest.mark.points(1)
async def test_relationships_raise(probe, fixtures):
    """Order.lines, OrderLine.order and OrderLine.book exist and are lazy="raise\""""
    described = fixtures.expect_probe_ok(await probe(fixtures.models_probe), "Importing app.models")
    found = {(owner, key): lazy for owner, key, lazy in described["relationships"]}
    for owner, key in RELATIONSHIPS:
        expect(
            (owner, key) in found,
            f"{owner}.{key} is not a relationship.",
            f"Declare `{key}` on {owner} with relationship(..., lazy='raise') (back_populates on both sides "
            "of Order.lines / OrderLine.order).",
            answer='lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")  # Order\n'
            'order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")  # OrderLine\n'
            'book: Mapped[Book] = relationship(lazy="raise")  # OrderLine',
        )
        expect(
            found[(owner, key)] == "raise",
            f'{owner}.{key} has lazy="{found[(owner, key)]}" instead of lazy="raise": a forgotten load would '
            "then fail with MissingGreenlet under asyncio, or quietly load (an N+1).",
            'Keep lazy="raise" and load what a response reads in the query (selectinload/joinedload).',
        )
