"""Exercise 2: output schemas declare exactly their fields and read ORM objects."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

OUTPUTS = {
    "CustomerPublic": ["id", "name"],
    "CustomerOut": ["email", "id", "name"],
    "OrderLineOut": ["book_id", "quantity"],
    "OrderOut": ["customer_id", "id", "lines"],
}
FROM_ORM = {
    "CustomerPublic": {"id": 7, "name": "Lin"},
    "CustomerOut": {"id": 7, "name": "Lin", "email": "lin@example.com"},
    "OrderLineOut": {"book_id": 2, "quantity": 3},
    "OrderOut": {"id": 5, "customer_id": 7, "lines": [{"book_id": 2, "quantity": 3}]},
}


def contract_part(value, expected):
    """The part of ``value`` that ``expected`` describes: its keys, in nested objects and lists too."""
    if isinstance(expected, dict) and isinstance(value, dict):
        return {key: contract_part(value.get(key), want) for key, want in expected.items()}
    if isinstance(expected, list) and isinstance(value, list) and expected:
        return [contract_part(item, expected[0]) for item in value]
    return value


@pytest.mark.points(2)
async def test_output_schemas_declare_exactly_their_fields(schemas):
    """CustomerPublic, CustomerOut, OrderLineOut and OrderOut declare exactly the contract's fields"""
    described = await schemas.describe(*OUTPUTS)
    for name, fields in OUTPUTS.items():
        declared = described[name]["fields"]
        extra = sorted(set(declared) - set(fields))
        missing = sorted(set(fields) - set(declared))
        secret = [field for field in extra if field in ("hashed_password", "password", "is_admin")]
        expect(
            not secret,
            f"`{name}` declares {secret}: every route that answers with {name} sends it.",
            "An output schema lists only what its audience may see: never the hash, never is_admin. "
            "`from_attributes=True` reads exactly the declared fields, so the hash stays in the row.",
        )
        expect(
            not extra and not missing,
            f"`{name}` declares {declared}"
            + (f"; extra {extra}" if extra else "")
            + (f"; missing {missing}" if missing else "")
            + f". The contract: exactly {fields}.",
            "CustomerPublic: id, name. CustomerOut adds email. OrderLineOut: book_id, quantity. "
            "OrderOut: id, customer_id, lines.",
        )


@pytest.mark.points(1)
async def test_output_schemas_read_orm_objects(schemas):
    """each output schema validates from an ORM object (from_attributes) with the right values"""
    dumps = await schemas.dumps()
    for name, expected in FROM_ORM.items():
        entry = dumps[name]
        expect("error" not in entry, f"{entry.get('error')}.", f"Define `class {name}(BaseModel)` as contracted.")
        expect(
            "orm" in entry,
            f"`{name}.model_validate(orm_object)` failed: {entry.get('orm_error')}.",
            "Keep `model_config = ConfigDict(from_attributes=True)`: without it pydantic accepts only dicts. "
            "OrderOut's `lines` holds OrderLineOut schemas, which read the order's line objects.",
            answer="lines: list[OrderLineOut]  # in OrderOut",
        )
        got = contract_part(entry["orm"], expected)
        expect(
            got == expected,
            f"`{name}.model_validate(orm_object)` gave {got} for the contract's fields, expected {expected}.",
            "Name the fields exactly as the model's columns: `from_attributes` reads the attribute of that name.",
        )


# Noor, whose row and dicts carry more than any schema declares: a hash, is_admin, a password, a role, a discount.
NOOR = {
    "password": "Noor's secret phrase",
    "customer": {"id": 12, "name": "Noor", "email": "noor@example.org", "is_admin": True},
    "order_id": 31,
    "lines": [[40, 6, 2], [41, 3, 1]],
    "extra": {"password": "Noor's secret phrase", "role": "owner"},
    "line_extra": {"price_cents": 1250, "discount": 5},
}


@pytest.mark.points(1)
async def test_output_schemas_dump_no_extra_keys(schemas):
    """built from a row or a dict with more keys (a hash, is_admin, a role), each output schema dumps exactly its own"""
    dumps = await schemas.dumps(NOOR)
    for name, fields in OUTPUTS.items():
        entry = dumps[name]
        expect("error" not in entry, f"{entry.get('error')}.", f"Define `class {name}(BaseModel)` as contracted.")
        for source, what in (("orm", "Noor's row"), ("dict", "a dict of Noor's with more keys")):
            expect(
                source in entry,
                f"`{name}.model_validate(...)` of {what} failed: {entry.get(source + '_error')}.",
                "Keep `from_attributes=True` and the contract's field types.",
            )
            dump = entry[source]
            expect(
                sorted(dump) == fields,
                f"`{name}` validated from {what} dumps the keys {sorted(dump)}, expected exactly {fields}.",
                "Leave `extra` at its default on output schemas: extra='allow' keeps every unknown key of a dict "
                "(a hash, is_admin) and serialises it. No computed fields or serializers that add keys.",
            )
            for line in dump.get("lines", []) if name == "OrderOut" else []:
                expect(
                    sorted(line) == OUTPUTS["OrderLineOut"],
                    f"`OrderOut` validated from {what} dumps a line with the keys {sorted(line)}.",
                    "OrderOut's lines are OrderLineOut schemas: each dumps book_id and quantity only.",
                    answer="lines: list[OrderLineOut]  # in OrderOut",
                )
