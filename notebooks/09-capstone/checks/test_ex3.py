"""Exercise 3: app.models describes the bookshop's five tables."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex3")


@pytest.mark.points(2)
async def test_models_describe_the_bookshop(probe, fixtures, schema):
    """importing app.models puts the five tables on Base.metadata, with the shared columns and constraints"""
    described = fixtures.expect_probe_ok(await probe(fixtures.models_probe), "Importing app.models")
    missing = [name for name, present in described["exported"].items() if not present]
    expect(
        not missing,
        f"app.models does not export {', '.join(missing)}.",
        "app/models/__init__.py imports Base from base.py and every model from its module.",
        answer="from app.models.base import Base\n"
        "from app.models.catalogue import Author, Book\n"
        "from app.models.customers import Customer\n"
        "from app.models.orders import Order, OrderLine",
    )
    problems = schema.differences(schema.of_models(described["tables"]), schema.EXPECTED)
    expect(
        not problems,
        "The models do not describe the bookshop's schema: " + "; ".join(problems[:8]) + ".",
        "A table missing from Base.metadata is a model module that app/models/__init__.py does not import. "
        "`Mapped[int]` is NOT NULL; uniqueness is a keyword argument of mapped_column; a foreign key is a "
        "`ForeignKey` that names its target column as a string.",
        answer="email: Mapped[str] = mapped_column(String(320), unique=True)\n"
        'customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)',
    )


@pytest.mark.points(1)
async def test_unloaded_relationships_raise(probe, db, fixtures):
    """reading Order.lines, OrderLine.order or OrderLine.book without loading it raises (lazy="raise")"""
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.unloaded_relationships_probe, database_url=db.url),
        "Storing an order with a line, then reading its relationships",
    )
    key_line = (
        'lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise")  # Order\n'
        'order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")  # OrderLine\n'
        'book: Mapped[Book] = relationship(lazy="raise")  # OrderLine'
    )
    for name, read in answer.items():
        expect(
            read["raised"] != "AttributeError",
            f"{name} is not an attribute of the model: {read['value']}",
            "Declare each relationship of the contract on its model, named as the contract names it.",
            answer=key_line,
        )
        expect(
            read["raised"] is not None and "lazy='raise'" in read["value"],
            f"Reading {name} of an object loaded without it gave "
            + (f"{read['raised']}: {read['value']}" if read["raised"] else f"the value {read['value']}")
            + ': expected the error of lazy="raise", which names what was not loaded.',
            'With lazy="raise", a relationship that the query did not load raises at once; under asyncio a lazy '
            "load is a MissingGreenlet instead, and an eager default loads it behind every query.",
            answer=key_line,
        )
