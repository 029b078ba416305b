import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")


@pytest.fixture
def app_kwargs(db):
    return {"database_url": db.url, "mode": "domain"}


@pytest.mark.points(1)
async def test_problem_types_are_specific(client, contract, problem_table):
    """EmailTaken, InvalidCredentials, InvalidToken and NotAllowed answer with a unique type URI, title and detail"""
    # The second half of DOMAIN_STATUS, in its order: the visible twin holds the first half to the same rule.
    names = list(contract.DOMAIN_STATUS)[len(contract.DOMAIN_STATUS) // 2 :]
    for name in names:
        kind = problem_table.get(name)
        expect(
            kind is not None,
            f"PROBLEM_TYPES has no entry for {name}.",
            "Add the eight domain exceptions.",
            answer=contract.table_entry(name),
        )
        expect(
            isinstance(kind["type"], str) and kind["type"].startswith(("http://", "https://")),
            f"PROBLEM_TYPES gives {name} the type {kind['type']!r}: a domain problem needs its own absolute URI "
            "(about:blank says nothing more than the status).",
            'Use a URI under PROBLEMS: f"{PROBLEMS}/book-not-found".',
            answer=contract.table_entry(name),
        )
        # Unique across the whole table: a type copied from an entry the visible check holds counts too.
        sharing = sorted(
            other for other, entry in problem_table.items() if other != name and entry["type"] == kind["type"]
        )
        expect(
            not sharing,
            f"PROBLEM_TYPES gives {name} the type {kind['type']!r}, which {' and '.join(sharing)} also has: clients "
            "branch on the type, so each kind of problem needs its own.",
            "One type URI per exception class.",
            answer=contract.table_entry(name),
        )
        expect(
            all(isinstance(kind[member], str) and kind[member].strip() for member in ("title", "detail")),
            f"PROBLEM_TYPES gives {name} the title {kind['title']!r} and the detail {kind['detail']!r}: both must be "
            "non-empty strings.",
            "ProblemType(status, type, title, detail, headers).",
            answer=contract.table_entry(name),
        )
        response = await client.get(f"/raise/{name}")
        body = contract.expect_problem(
            response,
            f"A route raising {name}",
            kind["status"],
            "Answer with the table's entry.",
            contract.DOMAIN_HANDLER,
        )
        for member in ("type", "title", "detail"):
            expect(
                body.get(member) == kind[member],
                f"A route raising {name} answered the {member} {body.get(member)!r}, but PROBLEM_TYPES says "
                f"{kind[member]!r}.",
                "domain_error_handler builds the problem from every field of the table entry.",
                answer=contract.DOMAIN_HANDLER,
            )


@pytest.mark.points(1)
async def test_detail_is_never_the_exception_message(client, contract):
    """the problem's detail comes from the table, never from the exception's message"""
    planted = {
        "InvalidToken": "Signature verification failed",
        "EmailTaken": "ada.lovelace@example.com",
        "BookNotFound": "SELECT books.id FROM books WHERE books.id = 7",
    }
    for name, message in planted.items():
        response = await client.get(f"/raise/{name}", params={"message": message})
        contract.expect_problem(response, f"A route raising {name}", contract.DOMAIN_STATUS[name], "")
        expect(
            message not in response.text,
            f"A route raising {name}({message!r}) answered {response.text[:300]}: the exception's message reached "
            "the client.",
            "An exception's message is for developers and the log: PyJWT's reason helps whoever forges tokens, "
            "EmailTaken carries an email. Send the table's `detail`, not `str(exc)`.",
            answer=contract.DOMAIN_HANDLER,
        )


@pytest.mark.points(1)
async def test_subclass_is_answered_like_its_parent(client, contract, problem_table):
    """a subclass of a domain exception gets the problem of its nearest parent in the table"""
    for name in ("BookNotFound", "OutOfStock"):
        response = await client.get(f"/raise/{name}", params={"subclass": "true"})
        hint = (
            "`PROBLEM_TYPES[type(exc)]` fails (KeyError, a 500) for a subclass, which the app hands to the parent's "
            "handler. Walk the classes of `type(exc).__mro__` and take the first one in PROBLEM_TYPES."
        )
        kind = problem_table.get(name, {})
        body = contract.expect_problem(
            response, f"A route raising a subclass of {name}", kind.get("status", 0), hint, contract.DOMAIN_HANDLER
        )
        expect(
            body.get("type") == kind.get("type"),
            f"A route raising a subclass of {name} answered the type {body.get('type')!r}, expected {name}'s "
            f"{kind.get('type')!r}.",
            hint,
            answer=contract.DOMAIN_HANDLER,
        )
