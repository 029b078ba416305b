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
    await shop.expect_taken_email_refused(client, owner=2, newcomer="Eve", patcher=1)
