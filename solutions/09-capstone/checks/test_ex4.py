"""Exercise 4: the unit of work keeps what was committed and nothing else."""

import pytest

from grader.checks import expect
from grader.checks.bookshop import expect_no_open_transaction

pytestmark = pytest.mark.exercise("ex4")


@pytest.mark.points(2)
async def test_unit_of_work_keeps_only_commits(probe, db, fixtures):
    """a commit is kept; a plain exit and an error keep nothing; the error reaches the caller"""
    observed = await probe(fixtures.unit_of_work_probe, database_url=db.url)
    answer = fixtures.expect_probe_ok(observed, "Using UnitOfWork from app.repositories.unit_of_work")
    expect(
        answer["same"] is True,
        "`async with uow as entered:` gave something other than the unit of work itself.",
        "__aenter__ returns self.",
    )
    wrong = {name: kind for name, kind in answer["repositories"].items() if not kind.endswith("Repository")}
    expect(
        not wrong,
        f"Inside `async with uow:`, {', '.join(f'uow.{name} is {kind}' for name, kind in wrong.items())}.",
        "__aenter__ builds uow.authors, uow.books, uow.customers and uow.orders on the new session.",
        answer="self.session = self.sessionmaker()\n"
        "self.authors = AuthorRepository(self.session)  # books, customers and orders alike",
    )
    expect(
        answer["error"] == "propagated",
        "An exception raised inside `async with uow:` did not reach the caller: __aexit__ swallowed it.",
        "__aexit__ returns None (no `return True`, no `except` without `raise`).",
    )
    emails = {row["email"] for row in db.rows("SELECT email FROM customers")}
    expect(
        "committed@example.com" in emails,
        "A customer added and committed in the unit of work is not in the database.",
        "commit() commits the unit of work's session.",
        answer="await self.session.commit()",
    )
    expect(
        "uncommitted@example.com" not in emails,
        "A customer added without commit() is in the database after the block: leaving the block kept it.",
        "__aexit__ closes the session (which discards an unfinished transaction) and never commits.",
    )
    expect(
        "failed@example.com" not in emails,
        "A customer added (and flushed) in a block that raised is in the database.",
        "__aexit__ rolls back when the block raised: its exc_type argument tells.",
        answer="if exc_type is not None:\n    await self.rollback()",
    )
    expect(
        answer["readable"] == "committed",
        f"A customer loaded in the block could not be read after it: {answer['readable']!r}.",
        "On a normal exit close the session, without rollback(): rollback expires what the session loaded.",
    )
    expect(
        answer["checked_out"] == 0,
        f"{answer['checked_out']} connection(s) were still checked out after the blocks ended.",
        "Close the session in __aexit__ in every case (a `finally`).",
        answer="finally:\n    await self.session.close()\n    self.session = None",
    )
    expect_no_open_transaction(
        observed, db, "after the blocks ended", "Close the session in __aexit__ in every case (a `finally`)."
    )


def repository_results(results, calls):
    """The value of each repository call, or a failed check naming the calls that raised."""
    raised = [
        f"{call[0]}.{call[1]}{tuple(call[2])}: {result['raised']}"
        for call, result in zip(calls, results, strict=True)
        if result["raised"]
    ]
    expect(not raised, "A repository call raised: " + "; ".join(raised), "Run exercise 4's cells again after changes.")
    return [result["value"] for result in results]


async def call_repositories(probe, fixtures, db, calls):
    observed = await probe(fixtures.repository_probe, database_url=db.url, calls=calls)
    return fixtures.expect_probe_ok(observed, "Calling the repositories")


@pytest.fixture
async def orders_of_hedy_and_joan(probe, db, fixtures, shop):
    """The catalogue, Hedy (3) with orders 2, 3 and 5, Joan (4) with orders 1 and 4; each order has two lines."""
    fixtures.expect_probe_ok(await probe(fixtures.create_tables_probe, database_url=db.url), "Creating the tables")
    shop.fill()
    shop.add_customer(3, "hedy@example.com")
    shop.add_customer(4, "joan@example.com")
    for customer_id, first, last in ((4, 1, 1), (3, 2, 3), (4, 4, 4), (3, 5, 5)):
        shop.add_orders(customer_id, first, last)


@pytest.mark.points(1)
async def test_order_repository_returns_only_the_customers_orders(probe, db, fixtures, orders_of_hedy_and_joan):
    """get_for_customer and page_for_customer return a customer's own orders, with their lines, and no one else's"""
    calls = [
        ["orders", "get_for_customer", [5, 3], {}],
        ["orders", "get_for_customer", [4, 3], {}],
        ["orders", "page_for_customer", [3], {"limit": 10, "offset": 0}],
        ["orders", "page_for_customer", [3], {"limit": 2, "offset": 1}],
    ]
    own, other, page, later = repository_results(await call_repositories(probe, fixtures, db, calls), calls)
    filter_line = ".where(Order.id == order_id, Order.customer_id == customer_id)"
    expect(
        other is None,
        f"orders.get_for_customer(4, 3) returned order 4, which is Joan's, to Hedy: {other}.",
        "Look the order up by its id and its customer together: someone else's order is then not found at all.",
        answer=filter_line,
    )
    expect(
        own is not None and own.get("id") == 5 and own.get("lines") == [[1, 3], [2, 3]],
        f"orders.get_for_customer(5, 3) gave {own}, expected Hedy's order 5 with its two lines loaded.",
        "Select the order filtered on its id and its customer, with its lines loaded by a loader option.",
        answer=filter_line + "\n.options(selectinload(Order.lines))",
    )
    page_line = ".where(Order.customer_id == customer_id)\n.order_by(Order.id)\n.limit(limit)\n.offset(offset)"
    expect(
        isinstance(page, list) and [order.get("id") for order in page] == [2, 3, 5],
        f"orders.page_for_customer(3, limit=10, offset=0) gave the orders {[o.get('id') for o in page or []]}, "
        "expected Hedy's 2, 3 and 5 in id order (1 and 4 are Joan's).",
        "Filter on the customer, order by id, then limit and offset.",
        answer=page_line,
    )
    expect(
        isinstance(later, list) and [order.get("id") for order in later] == [3, 5],
        f"orders.page_for_customer(3, limit=2, offset=1) gave {[o.get('id') for o in later or []]}, expected [3, 5].",
        "Apply `limit` and `offset` after ordering by id.",
        answer=page_line,
    )
    expect(
        all(order.get("lines") is not None and len(order["lines"]) == 2 for order in page),
        f"orders.page_for_customer returned orders without their lines loaded: {page}.",
        "Load the lines in the query, with the loader option for a collection (as AuthorRepository.page does).",
        answer=".options(selectinload(Order.lines))",
    )


@pytest.mark.points(1)
async def test_customer_repository_gets_by_id_and_by_email(probe, db, fixtures, orders_of_hedy_and_joan):
    """customers.get and customers.get_by_email return the customer, or None when there is none"""
    calls = [
        ["customers", "get", [4], {}],
        ["customers", "get", [40], {}],
        ["customers", "get_by_email", ["hedy@example.com"], {}],
        ["customers", "get_by_email", ["nobody@example.org"], {}],
    ]
    joan, nobody, hedy, unknown = repository_results(await call_repositories(probe, fixtures, db, calls), calls)
    expect(
        (joan or {}).get("email") == "joan@example.com" and nobody is None,
        f"customers.get(4) gave {joan} and customers.get(40) gave {nobody}: expected Joan, then None.",
        "By id, the session's `get`: it returns the object, or None.",
        answer="return await self.session.get(Customer, customer_id)",
    )
    expect(
        (hedy or {}).get("id") == 3 and unknown is None,
        f"customers.get_by_email('hedy@example.com') gave {hedy} and an unknown address gave {unknown}: expected "
        "Hedy, then None.",
        "A select filtered on the email, run with the session's `scalar`: one object, or None.",
        answer="return await self.session.scalar(select(Customer).where(Customer.email == email))",
    )


@pytest.mark.points(1)
async def test_orders_page_costs_two_statements(probe, db, fixtures, shop, orders_of_hedy_and_joan):
    """a page of a customer's orders costs 2 statements, with 3 orders as with 60"""
    calls = [["orders", "page_for_customer", [3], {"limit": 60, "offset": 0}]]
    small = (await call_repositories(probe, fixtures, db, calls))[0]
    shop.add_orders(3, 6, 62)
    large = (await call_repositories(probe, fixtures, db, calls))[0]
    repository_results([small, large], calls * 2)
    expect(
        len(large["value"] or []) == 60,
        f"orders.page_for_customer(3, limit=60, offset=0) gave {len(large['value'] or [])} orders, expected 60.",
        "Filter on the customer, order by id, then limit and offset.",
    )
    shop.expect_flat(
        "orders.page_for_customer(3, limit=60, offset=0)",
        small["statements"],
        large["statements"],
        2,
        ("3 orders", "60"),
        "Load the lines of the whole page in one more statement with a loader option for a collection; a query "
        "per order grows with the page.",
        answer=".options(selectinload(Order.lines))",
    )


@pytest.mark.points(1)
async def test_unit_of_work_opens_once_at_a_time(probe, db, fixtures):
    """entering a unit of work inside its own block raises RuntimeError; uow.session is None outside the block"""
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.unit_of_work_nesting_probe, database_url=db.url), "Entering a UnitOfWork twice"
    )
    open_line = (
        "if self.session is not None:\n"
        '    raise RuntimeError("this unit of work is already open: one `async with uow:` at a time")'
    )
    expect(
        answer["again"] == "RuntimeError",
        "Entering a unit of work inside its own `async with` block "
        + ("went ahead" if answer["again"] == "entered" else f"raised {answer['again']}")
        + ": a second session replaces the first, whose changes are then neither committed nor rolled back."
        + (f" The block then raised {answer['error']}." if answer["error"] else ""),
        "__aenter__ refuses to open a unit of work that is open already: a session is there.",
        answer=open_line,
    )
    expect(
        answer["error"] is None,
        f"The outer block raised {answer['error']} after the refused second entry.",
        "Raise before touching anything: the open session stays the outer block's.",
        answer=open_line,
    )
    expect(
        answer["before"] == "NoneType" and answer["inside"] != "NoneType" and answer["after"] == "NoneType",
        f"uow.session was a {answer['before']} before the block, a {answer['inside']} inside it and a "
        f"{answer['after']} after it: expected None, a session, None.",
        "__init__ sets the session to None, __aenter__ opens one, __aexit__ closes it and sets it back to None.",
        answer="finally:\n    await self.session.close()\n    self.session = None",
    )


# The one commit the contract allows: the unit of work's own method, on the class and in the file exercise 4 names.
UNIT_OF_WORK_FILE, UNIT_OF_WORK = "app/repositories/unit_of_work.py", "UnitOfWork"


def commits_outside_commit(path: str, source: str) -> list[str]:
    """Where a file calls `.commit()` in any function but UnitOfWork's own `commit` method (in unit_of_work.py).

    Raises what ``ast.parse`` raises for source it cannot read (SyntaxError, ValueError, RecursionError, ...).
    """
    import ast

    tree = ast.parse(source)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == UNIT_OF_WORK]
    allowed = {
        id(member)
        for node in (classes if path == UNIT_OF_WORK_FILE else [])
        for member in node.body
        if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and member.name == "commit"
    }
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or id(function) in allowed:
            continue
        for node in ast.walk(function):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if called and node.func.attr == "commit":
                found.append(f"{path} line {node.lineno}, in {function.name}")
    return sorted(set(found))


@pytest.mark.points(1)
async def test_repositories_never_commit(learner, fixtures):
    """no repository calls commit(): only the unit of work's commit() does"""
    sources = fixtures.expect_probe_ok(
        await learner.probe(fixtures.sources_probe, folders=["app/repositories"]), "Reading app/repositories"
    )
    expect(
        bool(sources),
        "app/repositories/ holds no Python file, so there is no repository to read: exercise 4's cells write "
        "customers.py, orders.py and unit_of_work.py there.",
        "Run the setup cell at the top of the notebook, then exercise 4's cells.",
    )
    starters = sorted(path for path, source in sources.items() if "raise NotImplementedError" in source)
    expect(
        not starters,
        f"{', '.join(starters)} still raise NotImplementedError: exercise 4's files are the starter's.",
        "Write exercise 4's cells and run them.",
    )
    found, unreadable = [], []
    # The learner's files are parsed here, in the grading process: what ast.parse raises on them (the errors
    # grader/checks/source.py catches) is a failure of this check, never an error of the grader.
    for path, source in sorted(sources.items()):
        try:
            found += commits_outside_commit(path, source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            unreadable.append(f"{path} ({type(exc).__name__}: {str(exc)[:200]})")
    expect(
        not unreadable,
        f"{'; '.join(unreadable)} could not be read as Python, so whether it commits cannot be told.",
        "Fix the cell that writes the file and run it again.",
    )
    expect(
        not found,
        f"app/repositories/ commits outside the unit of work's commit(): {'; '.join(found)}. Each such call ends "
        "the business transaction there, and a failure later in the same unit of work can no longer undo it.",
        "Repositories add, get and query; the service ends the transaction once, with uow.commit(), when every "
        "step has succeeded.",
    )
