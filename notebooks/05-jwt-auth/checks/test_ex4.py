"""Exercise 4: register_customer and authenticate."""

import asyncio
import time

import pytest

from grader.checks import bookshop, expect

pytestmark = pytest.mark.exercise("ex4")

NEW = {"name": "Katherine", "email": "katherine@example.com", "password": "Katherine computes orbits"}

# Key lines of the hints.
NEW_CUSTOMER = "customer = Customer(name=name, email=email, hashed_password=hashed, is_admin=False)"
VERIFY_ONCE = "password_ok = await asyncio.to_thread(verify_password, password, hashed)"
REFUSE_LOGIN = 'if customer is None or not password_ok:\n    raise InvalidCredentials("incorrect email or password")'


@pytest.fixture
def app_mode() -> str:
    """The services behind plain routes (the `client` fixture's app), so the grader times them over HTTP."""
    return "services"


async def login_attempts(learner, db, auth_checks, attempts):
    observed = await learner.probe(auth_checks.authenticate_probe, database_url=db.url, attempts=attempts)
    expect(observed.ok, f"`authenticate(uow, email, password)` could not be called: {observed.describe_error()}.")
    return observed.value


@pytest.mark.points(1)
async def test_register_customer(learner, tables, shop, auth_checks):
    """register_customer stores a new customer with an argon2id hash of the password and commits"""
    await shop.seed(with_orders=False)
    observed = await learner.probe(auth_checks.register_probe, database_url=tables.url, **NEW)
    expect(observed.ok, f"`register_customer(...)` could not be called: {observed.describe_error()}.")
    answer = observed.value
    expect(
        answer["raised"] is None,
        f"`register_customer(uow, 'Katherine', 'katherine@example.com', ...)` raised {answer['raised']}: "
        f"{answer['message']}",
        "Work inside the unit of work: add the new Customer through its repository, then commit.",
        answer="uow.customers.add(customer)\nawait uow.commit()",
    )
    rows = tables.rows(
        "SELECT id, name, email, hashed_password, is_admin FROM customers WHERE email = ?", (NEW["email"],)
    )
    expect(
        len(rows) == 1,
        f"After register_customer returned, {len(rows)} customers with that email are in the database.",
        "Nothing is stored until the unit of work commits, inside its `async with` block.",
        answer="await uow.commit()",
    )
    row = rows[0]
    returned = answer["value"]
    expect(
        returned.get("type") == "Customer" and returned.get("id") == row["id"],
        f"register_customer returned {returned}, expected the new Customer with its id ({row['id']}).",
    )
    expect(
        (row["name"], row["is_admin"]) == (NEW["name"], 0),
        f"The stored customer has name {row['name']!r} and is_admin {row['is_admin']!r}.",
        "Store the name given, and `is_admin=False`: registering never makes an admin.",
        answer=NEW_CUSTOMER,
    )
    hashed = row["hashed_password"]
    expect(
        isinstance(hashed, str)
        and hashed.startswith("$argon2id$")
        and auth_checks.grader_verifies(NEW["password"], hashed),
        f"The stored hashed_password is {auth_checks.describe_hash(hashed)}, expected an argon2id hash of the "
        "password.",
        "Store the hash that exercise 1's function makes of the password (in a worker thread), never the "
        "password itself.",
        answer=f"hashed = await asyncio.to_thread(hash_password, password)\n{NEW_CUSTOMER}",
    )


async def register_email(ns, database_url, email, side):
    """Probe: one side of a race, a register_customer call for `email` with its own unit of work."""
    from grader.checks.bookshop import race_side

    for needed in ("register_customer", "UnitOfWork"):
        if needed not in ns:
            raise NameError(f"name {needed!r} is not defined")

    async def register(sessions):
        name = ("Eve", "Mallory")[side]
        await ns["register_customer"](ns["UnitOfWork"](sessions), name, email, "a long enough password")

    return await race_side(ns, database_url, register, "registered")


@pytest.mark.points(1)
async def test_registration_race_for_one_email(learner, tables, shop):
    """two registrations at once with one email: one customer is stored, the other raises EmailTaken"""
    await shop.seed(with_orders=False)
    emails = ["eve@example.com", "eve.2@example.com"]
    outcomes = [await bookshop.race(learner, register_email, database_url=tables.url, email=email) for email in emails]
    for email, results in zip(emails, outcomes, strict=True):
        stored = len(tables.rows("SELECT id FROM customers WHERE email = ?", (email,)))
        expect(
            sorted(results) == ["EmailTaken", "registered"] and stored == 1,
            f"Two registrations with {email} at the same moment gave {results} and stored {stored} customers: one "
            "must be registered, the other raise EmailTaken."
            + (
                " The IntegrityError is the unique constraint refusing the second row."
                if "IntegrityError" in results
                else ""
            ),
            "Both calls can look the email up before either commits, and both find nothing: the unique constraint "
            "on `customers.email` decides, at commit.",
            answer="except IntegrityError as error:\n"
            "    if not is_unique_violation(error):\n"
            "        raise\n"
            "    raise EmailTaken(email) from None",
        )


@pytest.mark.points(1)
async def test_emails_are_normalised(learner, tables, shop, auth_checks):
    """an email is stored trimmed and case-folded: another spelling of it is taken, and logs in"""
    await shop.seed(with_orders=False)
    spelled = " Katherine.J@Example.COM "
    observed = await learner.probe(auth_checks.register_probe, database_url=tables.url, **NEW | {"email": spelled})
    expect(observed.ok, f"`register_customer(...)` could not be called: {observed.describe_error()}.")
    rows = tables.rows("SELECT email FROM customers WHERE name = ?", (NEW["name"],))
    stored = [row["email"] for row in rows]
    hint = (
        "Normalise the email first in register_customer, with the given `normalise_email`: one spelling is "
        "stored and looked up."
    )
    key_line = "email = normalise_email(email)"
    expect(
        stored == ["katherine.j@example.com"],
        f"`register_customer(uow, 'Katherine', {spelled!r}, ...)` stored the emails {stored}, expected "
        "['katherine.j@example.com'].",
        hint,
        answer=key_line,
    )
    again = await learner.probe(
        auth_checks.register_probe, database_url=tables.url, **NEW | {"email": "KATHERINE.J@example.com"}
    )
    expect(
        again.ok and again.value["raised"] == "EmailTaken",
        "Registering 'KATHERINE.J@example.com' after ' Katherine.J@Example.COM ' "
        f"{'raised ' + str(again.value['raised']) if again.ok and again.value['raised'] else 'succeeded'}, "
        "expected EmailTaken: it is the same address.",
        hint,
        answer=key_line,
    )
    (result,) = await login_attempts(learner, tables, auth_checks, [["katherine.J@EXAMPLE.com", NEW["password"]]])
    expect(
        result["raised"] is None,
        f"authenticate with 'katherine.J@EXAMPLE.com' {auth_checks.outcome(result, 'id')}, expected Katherine.",
        "authenticate looks the email up as normalise_email spells it (given): keep that line.",
    )


@pytest.mark.points(1)
async def test_authenticate(learner, tables, shop, auth_checks):
    """authenticate returns the customer for the right password and raises InvalidCredentials for a wrong one"""
    await shop.seed(with_orders=False, login=(1, 2))
    results = await login_attempts(
        learner,
        tables,
        auth_checks,
        [
            ["ada@example.com", shop.PASSWORDS[1]],
            ["grace@example.com", shop.PASSWORDS[2]],
            ["ada@example.com", shop.PASSWORDS[2]],
        ],
    )
    for result, expected in zip(results[:2], (1, 2), strict=True):
        expect(
            result["raised"] is None and result["id"] == expected,
            f"authenticate with customer {expected}'s email and password {auth_checks.outcome(result, 'id')}, "
            f"expected customer {expected}.",
            "Look the customer up by email (given) and verify the password against that customer's stored hash.",
            answer=VERIFY_ONCE,
        )
    wrong = results[2]
    expect(
        wrong["raised"] == "InvalidCredentials",
        f"authenticate with Ada's email and Grace's password "
        f"{'raised ' + str(wrong['raised']) if wrong['raised'] else 'returned customer ' + repr(wrong['id'])}, "
        "expected InvalidCredentials.",
        "Raise InvalidCredentials when verify_password returns False.",
        answer=REFUSE_LOGIN,
    )


async def timed(request) -> tuple[object, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


# How often a request that does nothing is sent while the calls run, and how many rounds are tried.
PING_EVERY = 0.005
ROUNDS = 3


async def lateness_while(client, in_flight: list[asyncio.Task]) -> float:
    """The most any ping was late while ``in_flight`` ran: due every PING_EVERY seconds, late by the time from
    when it was due to its answer. Counted from when it was due, it is the same whether the app runs in
    another process (the request waits there) or on this thread's loop, in the notebook's check (the sleep
    before it overruns)."""
    worst = 0.0
    while not all(task.done() for task in in_flight):
        due = time.perf_counter() + PING_EVERY
        await asyncio.sleep(PING_EVERY)
        await client.get("/probe/ping")
        worst = max(worst, time.perf_counter() - due)
    await asyncio.gather(*in_flight)
    return worst


async def wait_while_hashing(client, service: str, call, log_in) -> tuple[float, float]:
    """(seconds one hash takes, how late a request that does nothing was at worst while two calls ran).

    A blocked loop holds up the ping that falls due during a hash for the whole hash, in every round; a
    loop that stays free answers each ping in a few milliseconds. Up to ROUNDS rounds, ending with the first
    in which no ping waited half a hash: a busy machine can make a free loop look blocked for a round, a
    blocked loop never looks free. A hash is timed as a login alone (one lookup and one verification; a
    registration adds a commit, which a loaded disk can make many times longer) before and after each round,
    and the quickest login so far is the yardstick: a machine that was busy while a login was timed and quiet
    during the round would otherwise let a blocked loop pass."""
    response, _ = await timed(call())
    expect(
        response.status_code == 200,
        f"{service} could not serve a valid request: it answered {response.status_code} {response.text[:200]}.",
        "The other checks of this exercise say what is wrong with it; fix those first.",
    )
    hash_time = waited = float("inf")
    for _ in range(ROUNDS):
        before = (await timed(log_in()))[1]
        waited = min(waited, await lateness_while(client, [asyncio.create_task(call()) for _ in range(2)]))
        hash_time = min(hash_time, before, (await timed(log_in()))[1])
        if waited < hash_time / 2:
            break
    return hash_time, waited


# Below this a call has no hashing worth moving off the loop (a fast hash fails the argon2 checks instead).
NOTHING_TO_WAIT_FOR = 0.02


@pytest.mark.points(1)
async def test_hashing_runs_off_the_event_loop(full_cost_hashing, client, tables, shop):
    """while register_customer and authenticate hash a password, the app answers other requests"""
    await shop.seed(with_orders=False, login=(1,))
    ada = {"email": "ada@example.com", "password": shop.PASSWORDS[1]}
    emails = (f"reader{n}@example.com" for n in range(100))

    def log_in():
        return client.post("/probe/login", json=ada)

    def register():
        return client.post("/probe/register", json={"name": "Reader", "email": next(emails), "password": "read on"})

    for service, call in (("authenticate", log_in), ("register_customer", register)):
        hash_time, waited = await wait_while_hashing(client, service, call, log_in)
        expect(
            hash_time < NOTHING_TO_WAIT_FOR or waited < hash_time / 2,
            f"While two {service} calls were hashing, a request that does nothing was answered "
            f"{waited * 1000:.0f} ms late (one password hash takes about {hash_time * 1000:.0f} ms): the event "
            "loop was busy hashing, so every other request of the app waited too.",
            "argon2 is CPU work: it blocks the thread that runs it, here the one thread that serves every request. "
            "`asyncio.to_thread(function, *args)` runs a function in a worker thread and can be awaited.",
            answer=VERIFY_ONCE
            if service == "authenticate"
            else "hashed = await asyncio.to_thread(hash_password, password)",
        )


async def unknown_email_then_wrong_password(learner, tables, shop, auth_checks):
    """What authenticate did for an email nobody has, then for Grace's email with a wrong password."""
    attempts = [["someone@example.com", "a guess at a password"], ["grace@example.com", "a guess at a password"]]
    return await auth_checks.attempt_logins(learner, tables, shop, attempts, login=(2,))


@pytest.mark.points(1)
async def test_unknown_email_and_wrong_password_look_alike(learner, tables, shop, auth_checks):
    """an unknown email and a wrong password raise the same exception with the same message"""
    unknown, wrong = await unknown_email_then_wrong_password(learner, tables, shop, auth_checks)
    expect(
        (unknown["raised"], unknown["message"]) == (wrong["raised"], wrong["message"]),
        f"An unknown email raised {unknown['raised']} ({unknown['message']!r}) and a wrong password "
        f"{wrong['raised']} ({wrong['message']!r}): the difference tells an attacker which emails have accounts.",
        "What should someone who guesses emails learn from the answer?",
        answer=REFUSE_LOGIN,
    )
    expect(
        unknown["raised"] == "InvalidCredentials",
        f"An unknown email and a wrong password raised {unknown['raised']}, expected InvalidCredentials.",
        "authenticate raises the InvalidCredentials defined above for both.",
        answer=REFUSE_LOGIN,
    )


@pytest.mark.points(1)
async def test_unknown_email_costs_a_verification(learner, tables, shop, auth_checks):
    """for an unknown email, authenticate verifies the password against a hash, as for a known one"""
    unknown, wrong = await unknown_email_then_wrong_password(learner, tables, shop, auth_checks)
    expect(
        (unknown["verifications"], wrong["verifications"]) == (1, 1),
        f"authenticate verified {unknown['verifications']} password hash(es) for an unknown email and "
        f"{wrong['verifications']} for a wrong password, expected 1 and 1: an answer that comes a tenth of a second "
        "sooner tells which emails have no account.",
        "Argon2 is slow on purpose. What does an unknown email cost your function, and what does a known one?",
        answer=f"hashed = customer.hashed_password if customer is not None else DUMMY_HASH\n{VERIFY_ONCE}",
    )
