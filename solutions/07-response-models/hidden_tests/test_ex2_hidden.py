import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

KEYS = {
    "CustomerPublic": {"id", "name"},
    "CustomerOut": {"id", "name", "email"},
    "OrderLineOut": {"book_id", "quantity"},
    "OrderOut": {"id", "customer_id", "lines"},
}


@pytest.mark.points(1)
async def test_output_schemas_serialise_nothing_else(schemas, shop):
    """built from a row or a dict with a hash and is_admin, each schema dumps exactly its keys"""
    dumps = await schemas.dumps()
    for name, keys in KEYS.items():
        entry = dumps[name]
        expect("error" not in entry, f"{entry.get('error')}.", f"Define `class {name}(BaseModel)` as contracted.")
        for source in ("orm", "dict"):
            what = "an ORM object" if source == "orm" else "a dict with more keys (a hash, is_admin, a password)"
            expect(
                source in entry,
                f"`{name}.model_validate(...)` of {what} failed: {entry.get(source + '_error')}.",
                "Keep `from_attributes=True` and the contract's field types.",
            )
            dump = entry[source]
            findings = shop.find_leaks(dump, {"Lin's own password": "the password"})
            expect(
                not findings and set(dump) == keys,
                f"`{name}` validated from {what} dumps the keys {sorted(dump)}, expected exactly {sorted(keys)}"
                + (f": {shop.summarise(findings)}." if findings else "."),
                "Leave `extra` at its default on output schemas: extra='allow' keeps every unknown key of a dict "
                "(a hash, is_admin) and serialises it. No computed fields or serializers that add keys.",
            )
            if name == "OrderOut":
                for line in dump.get("lines", []):
                    expect(
                        set(line) == {"book_id", "quantity"},
                        f"`OrderOut` validated from {what} dumps a line with the keys {sorted(line)}.",
                        "OrderOut's lines are OrderLineOut schemas, and OrderLineOut has exactly book_id and quantity.",
                        answer="lines: list[OrderLineOut]  # in OrderOut",
                    )
