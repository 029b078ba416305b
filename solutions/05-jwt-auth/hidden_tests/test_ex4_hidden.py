import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

VERIFY_ONCE = "password_ok = await asyncio.to_thread(verify_password, password, hashed)"
REFUSE_LOGIN = 'if customer is None or not password_ok:\n    raise InvalidCredentials("incorrect email or password")'


@pytest.mark.points(1)
async def test_email_taken(learner, tables, shop, auth_checks):
    """registering an email that is in use raises EmailTaken and stores nothing"""
    await shop.seed(with_orders=False)
    before = tables.snapshot()
    observed = await learner.probe(
        auth_checks.register_probe,
        database_url=tables.url,
        name="Ada again",
        email="ada@example.com",
        password="x" * 12,
    )
    expect(observed.ok, f"`register_customer(...)` could not be called: {observed.describe_error()}.")
    answer = observed.value
    expect(
        answer["raised"] == "EmailTaken",
        f"Registering ada@example.com a second time {auth_checks.outcome(answer)}, expected EmailTaken.",
        "Look the email up before adding anyone, and turn the IntegrityError of a race at commit into EmailTaken too.",
        answer="if await uow.customers.get_by_email(email) is not None:\n    raise EmailTaken(email)",
    )
    expect(tables.snapshot() == before, "Registering a taken email changed the database.")


async def wrong_password_then_unknown_email(learner, tables, shop, auth_checks):
    """What authenticate did for Ada's email with a wrong password, then for an email nobody has."""
    attempts = [["ada@example.com", "not Ada's password"], ["nobody@example.com", "not Ada's password"]]
    return await auth_checks.attempt_logins(learner, tables, shop, attempts, login=(1,))


@pytest.mark.points(1)
async def test_failures_look_the_same(learner, tables, shop, auth_checks):
    """an unknown email and a wrong password raise the same InvalidCredentials, with the same message"""
    wrong, unknown = await wrong_password_then_unknown_email(learner, tables, shop, auth_checks)
    expect(
        (wrong["raised"], unknown["raised"]) == ("InvalidCredentials", "InvalidCredentials"),
        f"A wrong password raised {wrong['raised']} and an unknown email raised {unknown['raised']}; expected "
        "InvalidCredentials for both.",
        "One exception for both failures: an attacker must not learn which emails have accounts.",
        answer=REFUSE_LOGIN,
    )
    expect(
        wrong["message"] == unknown["message"],
        f"A wrong password and an unknown email raised InvalidCredentials with different messages "
        f"({wrong['message']!r} and {unknown['message']!r}): the message tells which emails have accounts.",
        "One fixed message for both failures, one that does not say which part was wrong.",
        answer=REFUSE_LOGIN,
    )


@pytest.mark.points(1)
async def test_unknown_email_verifies_a_hash(learner, tables, shop, auth_checks):
    """for an unknown email, authenticate still verifies the password against a hash (same work, same time)"""
    wrong, unknown = await wrong_password_then_unknown_email(learner, tables, shop, auth_checks)
    expect(
        wrong["verifications"] == 1,
        f"For a wrong password authenticate verified {wrong['verifications']} password hashes, expected 1.",
        "Verify the password exactly once, after the lookup, whatever it found.",
        answer=VERIFY_ONCE,
    )
    expect(
        unknown["verifications"] == 1,
        f"For an unknown email authenticate verified {unknown['verifications']} password hashes, and for a wrong "
        "password 1: the unknown email is answered a tenth of a second sooner, and that timing tells an attacker "
        "which emails have accounts.",
        "When no customer has the email, verify the password against `DUMMY_HASH` anyway and ignore the result; "
        "do not return (or raise) before verifying.",
        answer=f"hashed = customer.hashed_password if customer is not None else DUMMY_HASH\n{VERIFY_ONCE}",
    )
