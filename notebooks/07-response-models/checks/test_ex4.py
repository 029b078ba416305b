"""Exercise 4: POST /customers, GET and PATCH /customers/me answer CustomerOut and refuse extra fields."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

LIN = {"name": "Lin", "email": "lin@example.com", "password": "Lin's long password"}
REGISTER_HINT = (
    "Call the provided `register_customer` with the body's fields; return the new customer as a CustomerOut."
)
REGISTER_ANSWER = (
    "customer = await register_customer(uow, body.name, body.email, body.password)\n"
    "return CustomerOut.model_validate(customer)"
)
PATCH_ANSWER = (
    "updated = await update_customer(uow, customer.id, body.model_dump(exclude_none=True))\n"
    "return CustomerOut.model_validate(updated)"
)


@pytest.mark.points(2)
async def test_register_and_me_answer_customer_out(client, shop):
    """POST /customers answers 201 and exactly CustomerOut; GET /customers/me too"""
    shop.seed()
    response = await client.post("/customers", json=LIN)
    body = await shop.expect_status(
        response, 201, "POST /customers with a new email", REGISTER_HINT, answer=REGISTER_ANSWER
    )
    shop.expect_keys("POST /customers", body, shop.CUSTOMER_OUT)
    row = shop.customer_by_email(LIN["email"])
    expect(
        row is not None,
        "POST /customers answered 201 but stored no customer with that email.",
        REGISTER_HINT,
        REGISTER_ANSWER,
    )
    expected = {"id": row["id"], "name": "Lin", "email": "lin@example.com"}
    expect(
        body == expected,
        f"POST /customers answered {body}, expected {expected} (the stored customer).",
        REGISTER_HINT,
        REGISTER_ANSWER,
    )
    response = await client.get("/customers/me", headers=shop.auth(row["id"]))
    body = await shop.expect_status(
        response, 200, "GET /customers/me", "Return `CustomerOut.model_validate(customer)` for the CurrentCustomer."
    )
    shop.expect_keys("GET /customers/me", body, shop.CUSTOMER_OUT)
    expect(body == expected, f"GET /customers/me answered {body}, expected {expected}.")


@pytest.mark.points(2)
async def test_register_refuses_is_admin(client, shop):
    """a registration with is_admin is refused with 422 and stores nothing"""
    shop.seed()
    response = await client.post("/customers", json=LIN | {"is_admin": True})
    row = shop.customer_by_email(LIN["email"])
    if response.status_code == 201:
        admin = bool(row and row["is_admin"])
        expect(
            False,
            "POST /customers with `is_admin: true` answered 201"
            + (" and created an admin: mass assignment." if admin else ": the field was silently dropped."),
            "The route's body is CustomerIn, whose InputModel has `extra='forbid'`: an unknown field is a 422.",
        )
    await shop.expect_status(
        response, 422, "POST /customers with `is_admin: true`", "CustomerIn must refuse unknown fields (exercise 1)."
    )
    expect(row is None, "POST /customers with `is_admin: true` answered 422 but stored the customer anyway.")


@pytest.mark.points(1)
async def test_patch_me_refuses_is_admin(client, shop):
    """PATCH /customers/me with is_admin is refused with 422 and changes nothing"""
    shop.seed()
    before = shop.customers()
    body = {"email": "ada@admins.example", "is_admin": True}
    response = await client.patch("/customers/me", json=body, headers=shop.auth(1))
    after = shop.customers()
    if response.status_code == 200:
        admin = any(row["is_admin"] for row in after)
        expect(
            False,
            f"PATCH /customers/me with {body} answered 200"
            + (" and made Ada an admin: mass assignment." if admin else ": is_admin was dropped instead of refused."),
            "The PATCH body's model refuses what it does not declare, as CustomerIn does: an unknown field is a 422.",
            answer="class CustomerUpdate(InputModel):  # InputModel has extra='forbid'",
        )
    await shop.expect_status(
        response, 422, f"PATCH /customers/me with {body}", "CustomerUpdate must refuse unknown fields."
    )
    expect(after == before, f"PATCH /customers/me with {body} answered 422 but changed the stored customer.")


@pytest.mark.points(1)
async def test_patch_me_changes_only_what_was_sent(client, shop):
    """PATCH /customers/me changes the fields sent, keeps the others, answers CustomerOut"""
    shop.seed()
    hint = (
        "Pass `update_customer` only the fields that were sent and not null (a dump of the body that leaves out "
        "None), then return the updated customer as a CustomerOut."
    )
    response = await client.patch("/customers/me", json={"name": "Ada Lovelace"}, headers=shop.auth(1))
    body = await shop.expect_status(response, 200, "PATCH /customers/me with a new name", hint, answer=PATCH_ANSWER)
    shop.expect_keys("PATCH /customers/me", body, shop.CUSTOMER_OUT)
    expected = {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"}
    expect(body == expected, f"PATCH /customers/me {{name}} answered {body}, expected {expected}.", hint, PATCH_ANSWER)
    new = {"name": None, "email": "ada@lovelace.example"}
    response = await client.patch("/customers/me", json=new, headers=shop.auth(1))
    body = await shop.expect_status(
        response, 200, "PATCH /customers/me with a new email and `name: null`", hint, answer=PATCH_ANSWER
    )
    row = shop.customer(1)
    expected = {"id": 1, "name": "Ada Lovelace", "email": "ada@lovelace.example"}
    expect(
        body == expected and {k: row[k] for k in ("id", "name", "email")} == expected,
        f"PATCH /customers/me with {new} answered {body} and stored name={row['name']!r}, email={row['email']!r}; "
        f"expected {expected}: a field left out or null stays as it is.",
        hint,
        PATCH_ANSWER,
    )


@pytest.mark.points(1)
async def test_customer_routes_declare_response_models(shop, declared):
    """POST /customers, GET and PATCH /customers/me declare a response model and build no Response"""
    routes = {route["route"]: route for route in await shop.audit()}
    missing = [name for name in shop.CUSTOMER_ROUTES if name not in routes]
    expect(
        not missing,
        f"The app has no route {missing}.",
        "Add the routes to `router = APIRouter()`; create_app includes it.",
    )
    declared([routes[name] for name in shop.CUSTOMER_ROUTES])


@pytest.mark.points(1)
async def test_taken_email_is_a_409_that_repeats_nothing(client, shop):
    """a taken email answers 409 without the email or the name of the customer who has it, and changes nothing"""
    shop.seed()
    await shop.expect_taken_email_refused(client, owner=3, newcomer="Mallory", patcher=2)
