"""Exercise 4: register_customer and authenticate."""

import asyncio
import time

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

NEW = {"name": "Katherine", "email": "katherine@example.com", "password": "Katherine computes orbits"}


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
        "Enter the unit of work (`async with uow:`), add the Customer through `uow.customers.add`, commit.",
    )
    rows = tables.rows(
        "SELECT id, name, email, hashed_password, is_admin FROM customers WHERE email = ?", (NEW["email"],)
    )
    expect(
        len(rows) == 1,
        f"After register_customer returned, {len(rows)} customers with that email are in the database.",
        "Commit inside the unit of work: `await uow.commit()`.",
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
    )
    hashed = row["hashed_password"]
    expect(
        isinstance(hashed, str)
        and hashed.startswith("$argon2id$")
        and auth_checks.grader_verifies(NEW["password"], hashed),
        f"The stored hashed_password is {auth_checks.describe_hash(hashed)}, expected an argon2id hash of the "
        "password.",
        "`hashed_password=hash_password(password)`; never the password itself.",
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
            "Look the customer up by email (`uow.customers.get_by_email(email)`) and "
            "`verify_password(password, customer.hashed_password)`.",
        )
    wrong = results[2]
    expect(
        wrong["raised"] == "InvalidCredentials",
        f"authenticate with Ada's email and Grace's password "
        f"{'raised ' + str(wrong['raised']) if wrong['raised'] else 'returned customer ' + repr(wrong['id'])}, "
        "expected InvalidCredentials.",
        "Raise InvalidCredentials when verify_password returns False.",
    )


async def timed(request) -> tuple[object, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


async def wait_while_hashing(client, service: str, call) -> tuple[float, float]:
    """(seconds one call takes alone, the shortest delay of a request that does nothing while two calls run).

    A blocked loop answers nothing until the hashing is done, in every trial; the best of three trials
    keeps a busy machine from passing for a blocked loop. The delay is counted from the moment the
    request was due, so it is the same whether the app runs in another process (the request waits) or
    on this thread's loop, in the notebook's check (the pause before it overruns)."""
    response, _ = await timed(call())
    expect(
        response.status_code == 200,
        f"{service} could not serve a valid request: it answered {response.status_code} {response.text[:200]}.",
        "The other checks of this exercise say what is wrong with it; fix those first.",
    )
    alone = min([(await timed(call()))[1] for _ in range(2)])
    waits = []
    for _ in range(3):
        in_flight = [asyncio.create_task(call()) for _ in range(2)]
        started = time.perf_counter()
        await asyncio.sleep(alone / 4)  # both calls are hashing now
        await client.get("/probe/ping")
        waits.append(time.perf_counter() - started - alone / 4)
        await asyncio.gather(*in_flight)
    return alone, min(waits)


# Below this a call has no hashing worth moving off the loop (a fast hash fails the argon2 checks instead).
NOTHING_TO_WAIT_FOR = 0.02


@pytest.mark.points(1)
async def test_hashing_runs_off_the_event_loop(client, tables, shop):
    """while register_customer and authenticate hash a password, the app answers other requests"""
    await shop.seed(with_orders=False, login=(1,))
    ada = {"email": "ada@example.com", "password": shop.PASSWORDS[1]}
    emails = (f"reader{n}@example.com" for n in range(100))

    def log_in():
        return client.post("/probe/login", json=ada)

    def register():
        return client.post("/probe/register", json={"name": "Reader", "email": next(emails), "password": "read on"})

    for service, call in (("authenticate", log_in), ("register_customer", register)):
        alone, waited = await wait_while_hashing(client, service, call)
        expect(
            alone < NOTHING_TO_WAIT_FOR or waited < alone / 2,
            f"While two {service} calls were hashing, a request that does nothing was answered "
            f"{waited * 1000:.0f} ms late (one {service} call alone takes {alone * 1000:.0f} ms): the event loop "
            "was busy hashing, so every other request of the app waited too.",
            "argon2 is CPU work: it blocks the thread that runs it, here the one thread that serves every request. "
            "`asyncio.to_thread(function, *args)` runs a function in a worker thread and can be awaited.",
        )
