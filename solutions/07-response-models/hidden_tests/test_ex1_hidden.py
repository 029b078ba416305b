import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

INPUTS = ("CustomerIn", "CustomerUpdate", "OrderLineIn", "OrderIn")
FIELDS = {
    "CustomerIn": ["email", "name", "password"],
    "CustomerUpdate": ["email", "name"],
    "OrderLineIn": ["book_id", "quantity"],
    "OrderIn": ["lines"],
}


@pytest.mark.points(1)
async def test_no_input_declares_privileged_fields(schemas, shop):
    """every input model inherits InputModel, forbids extras and declares no privileged field"""
    described = await schemas.describe("InputModel", *INPUTS)
    expect(
        described["InputModel"]["extra"] == "forbid",
        f"InputModel has extra={described['InputModel']['extra']!r}, expected 'forbid'.",
        "Unknown fields are refused in InputModel's configuration.",
        answer='model_config = ConfigDict(extra="forbid")  # in InputModel',
    )
    for name in INPUTS:
        entry = described[name]
        privileged = sorted(set(entry["fields"]) & shop.PRIVILEGED)
        expect(
            not privileged,
            f"`{name}` declares {privileged}: a declared field is an accepted field, so any client may set it.",
            "Input models declare only what a client may choose. The id comes from the database, the customer "
            "from the token, is_admin and the hash never from a request.",
        )
        expect(
            entry["fields"] == FIELDS[name],
            f"`{name}` declares {entry['fields']}, expected exactly {FIELDS[name]}.",
            "Keep the fields of the contract.",
        )
        expect(
            entry["input_model"] and entry["extra"] == "forbid",
            f"`{name}` has extra={entry['extra']!r}"
            + ("" if entry["input_model"] else " and does not inherit InputModel")
            + ": every input model forbids unknown fields.",
            "Inherit from InputModel and do not override its model_config.",
        )
