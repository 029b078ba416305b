import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

FORBID_HINT = (
    "PATCH's body is CustomerUpdate, an InputModel with `extra='forbid'`: only name and email can reach "
    "update_customer, which stores every key it gets."
)


@pytest.mark.points(2)
async def test_patch_me_refuses_privileged_fields(client, shop):
    """PATCH /customers/me with is_admin, id or a hash is refused with 422 and changes nothing"""
    shop.seed()
    before = shop.customers()
    attempts = [
        {"is_admin": True},
        {"name": "Ada", "is_admin": True},
        {"hashed_password": shop.hash_of("Mallory's own password")},
        {"id": 99},
    ]
    for body in attempts:
        response = await client.patch("/customers/me", json=body, headers=shop.auth(1))
        after = shop.customers()
        if response.status_code == 200:
            written = [
                key
                for key in body
                if any(row.get(key) != old.get(key) for row, old in zip(after, before, strict=False))
            ]
            admin = any(row["is_admin"] for row in after)
            expect(
                False,
                f"PATCH /customers/me with {shop.short(body)} answered 200"
                + (
                    f" and wrote {written or 'it'} onto the stored customer: mass assignment"
                    + (", Ada is now an admin." if admin else ".")
                    if after != before
                    else ": the field was silently dropped instead of refused."
                ),
                FORBID_HINT,
            )
        await shop.expect_status(response, 422, f"PATCH /customers/me with {shop.short(body)}", FORBID_HINT)
        expect(after == before, f"PATCH /customers/me with {shop.short(body)} answered 422 but changed the customers.")


@pytest.mark.points(2)
async def test_email_taken_repeats_nothing(client, shop):
    """a 409 for a taken email repeats neither the email nor anything of the customer who has it"""
    shop.seed()
    before = shop.customers()
    hint = "Let EmailTaken go up to chapter 06's handlers: the table's 409 has a fixed detail."
    forbidden = {"grace@example.com": "the email that was sent (Grace's)", "Grace": "the name of the customer"}
    response = await client.post(
        "/customers", json={"name": "Eve", "email": "grace@example.com", "password": "Eve's long password"}
    )
    await shop.expect_status(response, 409, "POST /customers with Grace's email", hint)
    shop.expect_no_leaks("The 409 answer to a registration with a taken email", response, forbidden)
    response = await client.patch("/customers/me", json={"email": "grace@example.com"}, headers=shop.auth(1))
    await shop.expect_status(response, 409, "PATCH /customers/me to Grace's email", hint)
    shop.expect_no_leaks("The 409 answer to PATCH /customers/me with a taken email", response, forbidden)
    expect(shop.customers() == before, "A refused registration or PATCH (409) changed the customers table.")
