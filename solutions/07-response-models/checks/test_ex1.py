"""Exercise 1: every input model refuses fields it does not declare, and accepts valid bodies."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex1")

CUSTOMER = {"name": "Lin", "email": "lin@example.com", "password": "Lin's long password"}
LINE = {"book_id": 1, "quantity": 2}
# (model, a valid body, the same body with one field too many, that field, where pydantic reports it)
SMUGGLED = [
    ("CustomerIn", CUSTOMER, CUSTOMER | {"is_admin": True}, "is_admin", ["is_admin"]),
    ("CustomerUpdate", {"name": "Lin"}, {"name": "Lin", "is_admin": True}, "is_admin", ["is_admin"]),
    (
        "CustomerUpdate",
        {},
        {"hashed_password": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"},
        "hashed_password",
        ["hashed_password"],
    ),
    ("OrderLineIn", LINE, LINE | {"price_cents": 1}, "price_cents", ["price_cents"]),
    ("OrderIn", {"lines": [LINE]}, {"lines": [LINE], "customer_id": 2}, "customer_id", ["customer_id"]),
    ("OrderIn", {"lines": [LINE]}, {"lines": [LINE | {"price_cents": 1}]}, "price_cents", ["lines", 0, "price_cents"]),
]
INPUTS = ("CustomerIn", "CustomerUpdate", "OrderLineIn", "OrderIn")
FIELDS = {
    "CustomerIn": ["email", "name", "password"],
    "CustomerUpdate": ["email", "name"],
    "OrderLineIn": ["book_id", "quantity"],
    "OrderIn": ["lines"],
}
UPDATE_FIELDS = (
    "name: str | None = Field(default=None, min_length=1, max_length=200)\n"
    "email: str | None = Field(default=None, min_length=3, max_length=320, pattern=EMAIL_PATTERN)"
)


@pytest.mark.points(2)
async def test_inputs_refuse_unknown_fields(schemas, input_verdict):
    """CustomerIn, CustomerUpdate, OrderLineIn and OrderIn refuse a field they do not declare"""
    for model, valid, smuggled, field, loc in SMUGGLED:
        answer = await schemas.validate(model, valid)
        expect(
            answer["valid"],
            f"`{model}` refused the valid body {valid}: {answer.get('errors')}.",
            "Keep the fields and constraints of the contract.",
        )
        answer = await schemas.validate(model, smuggled)
        if answer["valid"]:
            message, hint, key_line = input_verdict(model, smuggled, field, answer)
            expect(False, message, hint, key_line)
        errors = answer["errors"]
        expect(
            {"type": "extra_forbidden", "loc": loc} in errors,
            f"`{model}` refused {smuggled}, but not with an `extra_forbidden` error at {loc}: {errors}.",
            "Forbid unknown fields in the model's configuration (pydantic's `extra` setting) instead of declaring "
            "the field and rejecting it in a validator.",
            answer='model_config = ConfigDict(extra="forbid")  # in InputModel',
        )


@pytest.mark.points(1)
async def test_inputs_accept_valid_bodies(schemas):
    """valid bodies pass; CustomerUpdate's fields are optional and keep CustomerIn's constraints"""
    cases = [
        ("CustomerIn", CUSTOMER, True, "a complete registration"),
        ("CustomerIn", CUSTOMER | {"password": "short"}, False, "a 5-character password"),
        ("CustomerUpdate", {}, True, "an empty update (nothing to change)"),
        ("CustomerUpdate", {"email": "lin@example.org"}, True, "an update of the email alone"),
        ("CustomerUpdate", {"name": None, "email": "lin@example.org"}, True, "a name sent as null"),
        ("CustomerUpdate", {"name": ""}, False, "an empty name"),
        ("CustomerUpdate", {"email": "not an email"}, False, "an email without @"),
        ("OrderIn", {"lines": [LINE, {"book_id": 2, "quantity": 1}]}, True, "an order of two lines"),
        ("OrderIn", {"lines": []}, False, "an order without lines"),
    ]
    for model, body, valid, what in cases:
        answer = await schemas.validate(model, body)
        expect(
            answer["valid"] == valid,
            f"`{model}` {'refused' if valid else 'accepted'} {what}: {body}"
            + (f" ({answer.get('errors')})." if not answer["valid"] else "."),
            "Each field of CustomerUpdate may be left out or sent as null, and keeps the Field constraints it has "
            "in CustomerIn; the other models are given as they are.",
            answer=UPDATE_FIELDS,
        )
    answer = await schemas.validate("CustomerUpdate", {})
    expect(
        answer["dump"] == {"name": None, "email": None},
        f"`CustomerUpdate()` dumps as {answer['dump']}, expected {{'name': None, 'email': None}}.",
        "CustomerUpdate declares exactly `name` and `email`, both defaulting to None.",
        answer=UPDATE_FIELDS,
    )


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
