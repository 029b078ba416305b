"""Exercise 2: PROBLEM_TYPES and domain_error_handler answer each domain exception with its problem."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

TABLE_HINT = (
    "Each domain exception needs its entry in PROBLEM_TYPES, a ProblemType with its status and a type of its own "
    "under PROBLEMS; domain_error_handler answers with problem_response, from every field of the entry."
)


@pytest.fixture
def app_kwargs(db):
    """A bare app whose routes raise domain exceptions, with domain_error_handler for each class in PROBLEM_TYPES."""
    return {"database_url": db.url, "mode": "domain"}


@pytest.mark.points(1)
async def test_domain_errors_have_their_status(client, contract, problem_table):
    """each domain exception is answered with a problem of its status: 404, 409, 401 or 403"""
    for name, status in contract.DOMAIN_STATUS.items():
        expect(
            name in problem_table,
            f"PROBLEM_TYPES has no entry for {name}: a {name} raised in a route is an unhandled 500.",
            TABLE_HINT,
            answer=contract.table_entry(name),
        )
        response = await client.get(f"/raise/{name}")
        contract.expect_problem(response, f"A route raising {name}", status, TABLE_HINT, contract.DOMAIN_HANDLER)


@pytest.mark.points(1)
async def test_detail_comes_from_the_table(client, contract, problem_table):
    """the problem's detail is the table's, whatever the exception's message says"""
    planted = {"OutOfStock": "book 3 has 2 copies left", "CustomerNotFound": "no customer grace@example.com"}
    for name, message in planted.items():
        response = await client.get(f"/raise/{name}", params={"message": message})
        body = contract.expect_problem(response, f"A route raising {name}", contract.DOMAIN_STATUS[name], TABLE_HINT)
        detail = problem_table.get(name, {}).get("detail")
        expect(
            message not in response.text and body.get("detail") == detail,
            f"A route raising {name}({message!r}) answered the detail {body.get('detail')!r}, expected the table's "
            f"{detail!r}: an exception's message is for the log, and may hold an email or a stock level.",
            "The handler builds the answer from the table entry it found, not from the exception it was given.",
            answer=contract.DOMAIN_HANDLER,
        )


@pytest.mark.points(1)
async def test_unauthenticated_problems_ask_for_bearer(client, contract):
    """InvalidCredentials and InvalidToken answer 401 with WWW-Authenticate: Bearer"""
    for name in ("InvalidCredentials", "InvalidToken"):
        response = await client.get(f"/raise/{name}")
        contract.expect_problem(response, f"A route raising {name}", 401, TABLE_HINT, contract.DOMAIN_HANDLER)
        contract.expect_header(
            response,
            f"A route raising {name}",
            "WWW-Authenticate",
            "Bearer",
            "RFC 6750 asks for the challenge on every bearer 401: the two 401 entries of PROBLEM_TYPES carry the "
            "headers `BEARER`, and domain_error_handler passes the entry's headers on.",
            contract.table_entry(name),
        )


@pytest.mark.points(1)
async def test_each_domain_problem_has_its_own_type_and_title(client, contract, problem_table):
    """CustomerNotFound, BookNotFound, OrderNotFound and OutOfStock answer with a type URI of their own and a title"""
    # The first half of DOMAIN_STATUS, in its order; the hidden twin holds the other half to the same rule.
    names = list(contract.DOMAIN_STATUS)[: len(contract.DOMAIN_STATUS) // 2]
    owners: dict[str, str] = {}
    for name in names:
        kind = problem_table.get(name)
        expect(kind is not None, f"PROBLEM_TYPES has no entry for {name}.", TABLE_HINT, contract.table_entry(name))
        expect(
            isinstance(kind["type"], str) and kind["type"].startswith(("http://", "https://")),
            f"PROBLEM_TYPES gives {name} the type {kind['type']!r}: a domain problem needs an absolute http(s) URI "
            "of its own, since 'about:blank' says nothing the status does not.",
            "Name each kind of problem with a URI under PROBLEMS, as the given BookNotFound entry does.",
            answer=contract.table_entry(name),
        )
        expect(
            kind["type"] not in owners,
            f"PROBLEM_TYPES gives {name} the type {kind['type']!r}, which {owners.get(kind['type'])} has too: a "
            "client that branches on the type cannot tell the two apart.",
            "One type URI per exception class.",
            answer=contract.table_entry(name),
        )
        owners[kind["type"]] = name
        expect(
            isinstance(kind["title"], str) and bool(kind["title"].strip()),
            f"PROBLEM_TYPES gives {name} the title {kind['title']!r}, expected a short summary of the kind.",
            "ProblemType's fields are status, type, title, detail and headers, in that order.",
            answer=contract.table_entry(name),
        )
        response = await client.get(f"/raise/{name}", params={"message": f"{name} in the type check"})
        body = contract.expect_problem(response, f"A route raising {name}", kind["status"], TABLE_HINT)
        answered = {member: body.get(member) for member in ("type", "title")}
        expected = {member: kind[member] for member in ("type", "title")}
        expect(
            answered == expected,
            f"A route raising {name} answered {answered}, but its PROBLEM_TYPES entry says {expected}.",
            "domain_error_handler hands every field of the entry it found to problem_response.",
            answer=contract.DOMAIN_HANDLER,
        )


@pytest.mark.points(1)
async def test_subclass_gets_the_problem_of_its_parent(client, contract, problem_table):
    """a subclass of a domain exception is answered with its parent's problem, headers included"""
    hint = (
        "Looking the exact class up in PROBLEM_TYPES misses a subclass, and the app hands a subclass to its "
        "parent's handler. The classes of `type(exc).__mro__` come nearest first: answer the first one in the table."
    )
    for name in ("CustomerNotFound", "InvalidToken"):
        kind = problem_table.get(name, {})
        label = f"A route raising a subclass of {name}"
        response = await client.get(f"/raise/{name}", params={"subclass": "true"})
        body = contract.expect_problem(response, label, kind.get("status", 0), hint, contract.DOMAIN_HANDLER)
        expect(
            body.get("type") == kind.get("type"),
            f"{label} answered the type {body.get('type')!r}, expected {name}'s {kind.get('type')!r}.",
            hint,
            answer=contract.DOMAIN_HANDLER,
        )
    contract.expect_header(
        response,
        "A route raising a subclass of InvalidToken",
        "WWW-Authenticate",
        "Bearer",
        "The subclass's answer is its parent's entry, headers included.",
        contract.DOMAIN_HANDLER,
    )
