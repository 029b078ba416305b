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
