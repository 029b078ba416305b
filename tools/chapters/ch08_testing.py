"""Chapter 08, testing your API: the learner writes pytest-asyncio tests; seeded bugs grade them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ch08_app import API, DATA, IMPORTS, SECURITY, SERVICES, TESTKIT, reference_source
from nbbuild import ROOT, Notebook

CHAPTER = "08-testing"
nb = Notebook(CHAPTER, "08 · Testing your API: tests that catch bugs")
nb.md("""
**Questions**
- A test passes. What does that tell you about the code? And if it would pass on *any* code?
- How do you test an API without starting a server, and without one test's data leaking into the next?
- How do you test that a token expires after 15 minutes, without waiting 15 minutes?
- How do you test what happens when the database is down, if it never is during your tests?
- How does a test notice an N+1, when the page it loads is right, only slower?

**Objectives**
- Write `async` pytest tests for a FastAPI app with `httpx.AsyncClient` and `ASGITransport`, on a
  fresh database per test, with fixtures.
- Replace a dependency in a test with `app.dependency_overrides`: a clock you move, a cheap password
  hasher, a failure you inject.
- Assert what matters: the status code, the **whole** body, the state of the database afterwards, and
  the number of SQL statements.
- Judge a test suite by the bugs it catches (**mutation testing**), not by how many tests pass.

Until now you wrote the bookshop and the checks tested it. Here it is the other way round: the
bookshop is given (the cells below hold a compact version of chapters 01 to 07), and **you write
the tests**. The checks grade your tests the way mutation testing does: they run them against the
bookshop as given, where every test must pass, and then against copies of it with one small bug
seeded in each (a *mutant*). A mutant your tests fail on is **caught**; one they all pass on is a bug
your suite would have let through. You earn points per mutant caught. A test that asserts nothing
passes on every mutant, so it earns nothing.
""")
nb.md("""
## Provided: the bookshop

The whole API in four cells: settings and models, security (the clock, passwords, tokens), the
services (unit of work, orders), and the HTTP layer (schemas, problem details, dependencies, routes,
`create_app`). It follows the chapters before: `lazy="raise"` relationships and loader options, a
unit of work that commits once or rolls everything back, argon2 password hashes, tokens whose
expiry is judged by the app's `Clock`, errors as RFC 9457 problem details. Read it as the
specification of what your tests check; you do not change it.
""")
nb.provided("app-imports", IMPORTS)
nb.provided("app-data", DATA)
nb.provided("app-security", SECURITY)
nb.provided("app-services", SERVICES)
nb.md("""
What the API promises (the routes below): `POST /customers` registers (`201`, the customer without
any password; `409` if the email is taken). `POST /auth/token` logs in with a form (`username` is
the email) and answers `{"access_token", "token_type": "bearer"}`, or `401`. `GET /customers/me`
needs a token. `GET /authors` and `GET /books` are pages (`?page=`, `?page_size=`), ordered by id.
`POST /orders` takes every line's copies or none (`409` when a line cannot be served); `GET /orders`
and `GET /orders/{id}` show only the caller's own orders (another customer's order is a `404`).
Every error is `application/problem+json` with `type`, `title`, `status` and usually `detail`; an
unexpected error is a `500` that says nothing more.
""")
nb.provided("app-api", API)
nb.md("""
## Provided: the test kit

Tests need an app to talk to, a clean database, and a way to look behind the API. In a project
these **fixtures** live in `tests/conftest.py`; pytest gives each test the fixtures its parameters
name, built fresh for that test and torn down after it (the code after `yield`). Here they are:

- `app`: the bookshop (`create_app`) on a **fresh SQLite file** with its tables, and two dependency
  overrides: `get_clock` returns the test's `clock`, `get_password_hash` a cheap argon2 (a real one
  costs a tenth of a second per hash).
- `client`: an `httpx.AsyncClient` that sends requests straight into `app` through `ASGITransport`:
  no server, no network. An exception in the app comes back as a `500` response, as a real server
  answers.
- `clock`: a `FrozenClock` that stands still until the test calls `clock.advance(minutes=15)`.
- `shop`: data straight into the database (`add_customer()`, `add_book(...)`, `add_authors(n)`), and
  a look behind the API (`stock(book_id)`, `count(Order)`).
- `token_for`: `token_for(customer)` is an access token for that customer, issued now by `clock`.
- `statements`: the SQL of every statement the app sends from now on (a list; `.clear()` it).
- `database_url`, `tmp_path`: the test's database file, in the test's own temporary folder.

`bearer(token)` builds the `Authorization` header. Why a file and not `sqlite://` in memory: an
in-memory database shared through one connection lets a second session see uncommitted rows, so a
test of a rollback can pass when it should fail.

`await run_my_tests()` runs your tests in this notebook and prints one line per test. It runs them
the way pytest with pytest-asyncio would (your tests and these fixtures work unchanged in a
`tests/` folder with `asyncio_mode = "auto"`), with a time limit of a few seconds per test.
""")
nb.provided("testkit", TESTKIT)
nb.md("""
## Worked example: a test, line by line

`GET /books/{id}` for a book that does not exist must answer `404` as a problem. The test asks for
the fixtures it needs by naming them, sends one request, and checks the answer:
""")
nb.code("""
async def test_example_unknown_book_is_a_404_problem(client):
    response = await client.get("/books/999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "book 999 not found",
    }


async def test_example_book_with_its_author(client, shop):
    book = await shop.add_book("Kindred", stock=3, price_cents=999, author="Octavia E. Butler")
    response = await client.get(f"/books/{book.id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": book.id,
        "title": "Kindred",
        "price_cents": 999,
        "stock": 3,
        "author_id": book.author_id,
        "author": {"id": book.author_id, "name": "Octavia E. Butler"},
    }


await run_my_tests("test_example")
""")
nb.md("""
What happened for each test: `tmp_path` made a folder, `database_url` a file in it, `app` built the
bookshop on it and created the tables, `client` opened an HTTP client into that app; the test ran;
then everything was closed and removed. The second test never sees the first one's data, and its
book gets id 1 on an empty database.

Three things to notice:
- **`ASGITransport`** calls the app the way a server would, in the same process. It does not run
  the app's lifespan; the `app` fixture creates the tables itself. `raise_app_exceptions=False`
  turns a crash into a `500` response instead of an exception in the test, so a test can check
  what a client would see.
- **Dependency overrides.** `app.dependency_overrides[get_clock] = lambda: clock` makes every
  request that depends on `get_clock` get the test's clock. The key is the function itself, the one
  the routes depend on: an override keyed on `ClockDep` (the `Annotated` alias), or on a copy of
  `get_clock` defined again in another cell, is silently ignored.
- **Whole-body assertions.** `response.json() == {...}` fails on a missing field, a wrong value
  *and* a field that should not be there. Checking `response.json()["title"] == "Kindred"` would
  miss two of those three.

When a test fails, `run_my_tests` prints the line and, where it can, the values in it:
""")
nb.code("""
async def example_wrong_expectation(client, shop):
    book = await shop.add_book("Kindred", stock=3)
    response = await client.get(f"/books/{book.id}")
    assert response.json()["stock"] == 4


await run_my_tests(example_wrong_expectation)
""")
nb.md("""
## What makes a test catch bugs

A test catches a bug only if the bug changes something the test **asserts**. Take a mutant of the
bookshop: the same code with one change, `>=` turned into `>`, `201` into `200`, a `rollback()`
into a `commit()`, a `selectinload` removed. If every test still passes, nothing in the suite looks
at what changed. So:

- **Status codes, exactly.** `assert response.status_code == 201`, not `< 300` or `response.is_success`.
- **The whole body** (compare with a dict), so that a field that leaks is noticed too.
- **The database afterwards**, for what the response cannot show: was the stock taken, is there
  really no order after a refusal? (`shop.stock`, `shop.count`)
- **The boundaries**: the last copy, the 15th minute, the last page. Bugs live at `>=` versus `>`.
- **Cost**: the number of statements, with few rows and with many. An N+1 returns the right page.
- **The other side**: what must *not* happen (someone else's order, a password hash, a traceback).

### Predict, then run

Two tests of `GET /books` on the same three books. Then a mutant made by hand: `list_books` ordered
by title instead of id. `run_my_tests(..., replace={"list_books": ...})` runs the tests with that
name of the notebook replaced, so the route calls the mutant. Before you run the cell: which test
passes on the bookshop as given? Which one fails on the mutant?
""")
nb.code("""
async def status_and_count(client, shop):
    for title in ("Kindred", "Dawn", "Bloodchild"):
        await shop.add_book(title)
    response = await client.get("/books")
    assert response.status_code == 200
    assert len(response.json()) == 3


async def ids_in_order(client, shop):
    ids = [(await shop.add_book(title)).id for title in ("Kindred", "Dawn", "Bloodchild")]
    response = await client.get("/books")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()] == ids


async def list_books_by_title(session, *, limit, offset):
    statement = select(Book).options(joinedload(Book.author)).order_by(Book.title).limit(limit).offset(offset)
    return list(await session.scalars(statement))


print("The bookshop as given:")
await run_my_tests(status_and_count, ids_in_order)
print("With list_books ordered by title:")
await run_my_tests(status_and_count, ids_in_order, replace={"list_books": list_books_by_title})
""")
nb.md("""
Both pass on the bookshop as given; only `ids_in_order` fails on the mutant. `status_and_count` is
not wrong, it is **weak**: three books in the wrong order are still three books. The same
reasoning grades you. The checks keep a set of mutants of the bookshop to themselves, and each one
you catch is worth points. Two rules, both enforced:

- Every test must **pass on the bookshop as given**. A test that fails there cannot tell a bug from
  no bug; while any test fails on the reference app, your suite catches nothing.
- A test must **assert something that can fail**. `assert True`, or no assertion at all, passes on
  every mutant.

(The hand-made tests above are named without `test_`, so they are not part of your suite. Every
function whose name starts with `test` is, including the two examples.)

## Exercise 1 (fill in the blanks): registration

The bookshop promises: `POST /customers` with `name`, `email` and `password` answers `201` and the
new customer as exactly `{"id", "name", "email"}` (an integer id; nothing else, a password hash
least of all). The same email a second time answers `409`, as a problem
(`application/problem+json` with `"status": 409`).

**Contract**: complete the two tests. Your tests for this exercise are named `test_register_...`;
they must pass on the bookshop as given and fail on a bookshop that answers every request with
`200` and `{}`. The check also runs them against a practice mutant it shows you: `POST /customers`
answering `200` instead of `201`. Others stay hidden.
""")
nb.solution(
    "ex1-solution",
    """
async def test_register_answers_201_and_the_customer(client):
    response = await client.post(
        "/customers", json={"name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery"}
    )
    # The status code, and the whole body: exactly id (any integer), name and email.
    ### BEGIN SOLUTION
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body == {"id": body["id"], "name": "Ada Lovelace", "email": "ada@example.com"}
    ### END SOLUTION


async def test_register_same_email_twice_answers_409(client):
    ada = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery"}
    first = await client.post("/customers", json=ada)
    second = await client.post("/customers", json=ada | {"name": "Ada King"})
    # The first registration succeeds; the second is a 409 problem.
    ### BEGIN SOLUTION
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["status"] == 409
    ### END SOLUTION
""",
)
nb.code("""
await run_my_tests("test_register")
""")
nb.check("ex1", 6)
nb.md("""
<details><summary>Hint</summary>

- `response.status_code == 201`; `body = response.json()` is a dict.
- You cannot know the id in advance, but you can compare the whole body with a dict that takes the
  id from the body itself: `assert body == {"id": body["id"], "name": ..., "email": ...}`. Any extra
  field then fails the test.
- A problem's content type is in `response.headers["content-type"]`.
</details>

## Exercise 2 (fill in the blanks): the catalogue, its cost and its pages

The bookshop promises: `GET /authors` answers each author with all their books, in **at most 2**
SQL statements, however many authors there are (`selectinload`: one statement for the authors, one
for all their books). `GET /books?page=N&page_size=S` answers the `S` books after the first
`(N - 1) * S`, ordered by id: the pages follow each other without a gap or an overlap.

An N+1 is invisible in the body: the page is right, only one statement per author slower. Count the
statements with **few** rows and with **many**; the two counts must be equal.

**Contract**: complete the two tests, named `test_catalogue_...`, with the same rules as exercise 1.
""")
nb.solution(
    "ex2-solution",
    """
async def test_catalogue_authors_query_budget(client, shop, statements):
    await shop.add_authors(2, books_each=2)
    statements.clear()
    few = await client.get("/authors")
    assert few.status_code == 200
    with_two_authors = len(statements)

    await shop.add_authors(30, books_each=2)
    statements.clear()
    many = await client.get("/authors?page_size=50")
    # All 32 authors, 2 books each; as many statements as with 2 authors, and at most 2.
    ### BEGIN SOLUTION
    assert many.status_code == 200
    authors = many.json()
    assert len(authors) == 32
    assert all(len(author["books"]) == 2 for author in authors)
    assert len(statements) == with_two_authors
    assert len(statements) <= 2
    ### END SOLUTION


async def test_catalogue_pages_follow_each_other(client, shop):
    ids = [(await shop.add_book(f"Book {number}")).id for number in range(5)]
    pages = []
    for number in (1, 2, 3):
        response = await client.get(f"/books?page={number}&page_size=2")
        assert response.status_code == 200
        pages.append([book["id"] for book in response.json()])
    # Page 1 holds the first two books, page 2 the next two, page 3 the last one.
    ### BEGIN SOLUTION
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    ### END SOLUTION
""",
)
nb.check("ex2", 5)
nb.md("""
<details><summary>Hint</summary>

- `len(statements)` after the request is what that request sent (the fixture collects from the
  moment the test starts; `statements.clear()` starts over).
- Compare the count with many rows to the count with few: equal means no N+1, whatever the budget.
  Then hold it to the budget too.
- For the pages, compare the whole list of pages with slices of `ids`: `ids[0:2]` is the first page.
</details>

## Exercise 3 (guided): logging in, and a clock you control

The bookshop promises: `POST /auth/token` with the form fields `username` (the email) and
`password` answers `200` and an `access_token` that `GET /customers/me` accepts (`200`, that
customer). A wrong password answers `401` and no token. A token works for **15 minutes**; from the
15th minute on (`now >= exp`), every request with it answers `401` with the header
`WWW-Authenticate: Bearer`.

Time in a test: never `asyncio.sleep`. The `app` fixture overrides `get_clock`, so the token is
issued at `clock.now()` and judged at `clock.now()`; `clock.advance(minutes=14, seconds=59)` moves
the app 14:59 into the future at once. Test both sides of the boundary.

**Contract**: write the three tests below (at least three tests named `test_auth_...`), same rules.
A form is sent with `client.post(url, data={...})`; `json=` would send JSON, which the login route
refuses with `422`.
""")
nb.solution(
    "ex3-solution",
    """
async def test_auth_login_then_me(client, shop):
    \"\"\"The right password gives a token that GET /customers/me accepts.\"\"\"
    await shop.add_customer(email="ada@example.com", password="correct horse battery")
    ### BEGIN SOLUTION
    form = {"username": "ada@example.com", "password": "correct horse battery"}
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    me = await client.get("/customers/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    ### END SOLUTION


async def test_auth_wrong_password_is_401(client, shop):
    \"\"\"A wrong password answers 401, and no token.\"\"\"
    await shop.add_customer(email="ada@example.com", password="correct horse battery")
    ### BEGIN SOLUTION
    form = {"username": "ada@example.com", "password": "correct horse staple"}
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 401
    assert "access_token" not in response.json()
    ### END SOLUTION


async def test_auth_token_expires_after_15_minutes(client, shop, clock, token_for):
    \"\"\"A token works until its 15th minute, then answers 401 with WWW-Authenticate: Bearer.\"\"\"
    ada = await shop.add_customer()
    headers = bearer(token_for(ada))
    ### BEGIN SOLUTION
    clock.advance(minutes=14, seconds=59)
    assert (await client.get("/customers/me", headers=headers)).status_code == 200
    clock.advance(seconds=1)
    expired = await client.get("/customers/me", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Bearer"
    ### END SOLUTION
""",
)
nb.check("ex3", 5)
nb.md("""
<details><summary>Hint</summary>

- `response.json()["access_token"]` is the token; `headers=bearer(token)` sends it.
- `token_for(ada)` makes a token without logging in (no password involved), issued at
  `clock.now()`. Then `clock.advance(...)` and send it again.
- Check the minute before *and* the 15th minute: a test that only jumps an hour ahead would also
  pass on a bookshop whose tokens live 30 minutes.
</details>

## Exercise 4 (write it yourself): orders, all or nothing

The bookshop promises, for a customer with a token:
- `POST /orders` with `{"lines": [{"book_id", "quantity"}, ...]}` answers `201` and the order
  (`id`, `customer_id`, its `lines`), and takes each line's copies from the stock.
- Ordering exactly the copies left works (the stock goes to `0`); asking for one more than is left
  answers `409` as a problem.
- An order that cannot be served in full (one line asks for more copies than are in stock) answers
  `409` and changes **nothing**: no order, no order line, not one copy taken, not even for the lines
  before the one that failed.

**Contract**: at least three tests named `test_orders_...`, same rules. Look behind the API with
`shop.stock(book_id)` and `shop.count(Order)` / `shop.count(OrderLine)`: the response of a refused
order cannot show you what stayed in the database.
""")
nb.solution(
    "ex4-solution",
    """
### BEGIN SOLUTION
def order_of(*lines: tuple[int, int]) -> dict:
    return {"lines": [{"book_id": book_id, "quantity": quantity} for book_id, quantity in lines]}


async def test_orders_take_the_stock(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=5)
    response = await client.post("/orders", json=order_of((book.id, 2)), headers=bearer(token_for(ada)))
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "customer_id": ada.id,
        "lines": [{"book_id": book.id, "quantity": 2}],
    }
    assert await shop.stock(book.id) == 3


async def test_orders_the_last_copies_can_be_bought(client, shop, token_for):
    ada = await shop.add_customer()
    book = await shop.add_book(stock=2)
    headers = bearer(token_for(ada))
    last = await client.post("/orders", json=order_of((book.id, 2)), headers=headers)
    assert last.status_code == 201
    assert await shop.stock(book.id) == 0
    none_left = await client.post("/orders", json=order_of((book.id, 1)), headers=headers)
    assert none_left.status_code == 409
    assert none_left.json()["status"] == 409


async def test_orders_refused_order_leaves_nothing(client, shop, token_for):
    ada = await shop.add_customer()
    plenty = await shop.add_book("Kindred", stock=5)
    scarce = await shop.add_book("Parable of the Sower", stock=1)
    order = order_of((plenty.id, 2), (scarce.id, 3))
    response = await client.post("/orders", json=order, headers=bearer(token_for(ada)))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert await shop.stock(plenty.id) == 5
    assert await shop.stock(scarce.id) == 1
    assert await shop.count(Order) == 0
    assert await shop.count(OrderLine) == 0
### END SOLUTION
""",
)
nb.check("ex4", 9)
nb.md("""
<details><summary>Hint</summary>

- Three tests, one promise each: the stock is taken; the last copies can be bought and no more; a
  refused order leaves nothing.
- For "nothing", the first line must be one that *could* be served, and the second one that cannot:
  only then is there something the bookshop could wrongly keep.
- The boundary: a book with 2 copies, an order for 2. An order for 1 of them would pass on a
  bookshop that refuses the last copy.
</details>

## Exercise 5 (write it yourself): what must not get out

The bookshop promises:
- An unexpected error (a bug, the database down) answers `500`, `application/problem+json`, with
  exactly `{"type": "about:blank", "title": "Internal Server Error", "status": 500}`: not the
  exception's class, not its message, which can hold a file path, a query or a password.
- Another customer's order answers `404`, exactly like an order that does not exist, so order ids
  reveal nothing; `GET /orders` lists only the caller's own orders.

You cannot make a working bookshop fail on purpose, but an override can: in a test that asks for
`app` and `client`, `app.dependency_overrides[get_session] = broken` with a function `broken` that
raises makes every route that reads through a session fail. (The override belongs to this test's
app only; the next test gets a fresh one.)

**Contract**: at least two tests named `test_privacy_...`, same rules; one of them uses a
dependency override to cause the error.
""")
nb.solution(
    "ex5-solution",
    """
### BEGIN SOLUTION
async def test_privacy_unexpected_error_is_a_bare_500(app, client):
    def broken_session():
        raise RuntimeError("connection refused: postgres://bookshop:hunter2@db.internal:5432")

    app.dependency_overrides[get_session] = broken_session
    response = await client.get("/books")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500}


async def test_privacy_other_customers_order_is_404(client, shop, token_for):
    ada = await shop.add_customer()
    grace = await shop.add_customer("Grace Hopper", "grace@example.com")
    book = await shop.add_book()
    order = {"lines": [{"book_id": book.id, "quantity": 1}]}
    created = await client.post("/orders", json=order, headers=bearer(token_for(ada)))
    assert created.status_code == 201
    url = f"/orders/{created.json()['id']}"
    assert (await client.get(url, headers=bearer(token_for(ada)))).status_code == 200
    theirs = await client.get(url, headers=bearer(token_for(grace)))
    missing = await client.get("/orders/999", headers=bearer(token_for(grace)))
    assert theirs.status_code == missing.status_code == 404
    assert (await client.get("/orders", headers=bearer(token_for(grace)))).json() == []
### END SOLUTION
""",
)
nb.check("ex5", 5)
nb.md("""
<details><summary>Hint</summary>

- The override: `def broken(): raise RuntimeError("...")`, then
  `app.dependency_overrides[get_session] = broken`, then any request to a route that reads, such as
  `GET /books`. Put a recognisable secret in the message and compare the whole body.
- Two customers: `shop.add_customer()` and `shop.add_customer("Grace Hopper", "grace@example.com")`;
  one orders, the other asks for that order.
- Compare with an id that does not exist at all: the two answers must be the same.
</details>

`await run_my_tests()` in a new cell runs your whole suite, as the checks run it on the bookshop as
given. When every test passes there, each hidden mutant is a question: does one of them fail on it?

## Key points
- A passing test proves something only if it would **fail on a bug**. Mutation testing measures
  exactly that: seed small bugs, count how many the suite catches. A test without a real assertion
  catches none.
- Test through HTTP without a server: `httpx.AsyncClient(transport=ASGITransport(app=app,
  raise_app_exceptions=False))`. The transport runs no lifespan; create the tables in a fixture.
- One fresh database per test, in a file (`tmp_path`), built by function-scoped fixtures; never
  rely on another test's data or on the order tests run in.
- `app.dependency_overrides[dependency] = replacement`, keyed on the function the routes depend on:
  a clock the test moves (no sleeping), a cheap password hasher, a failure injected on purpose.
- Assert the exact status code, the whole body (so leaks show), the database afterwards (so
  partial writes show), the boundaries (the last copy, the 15th minute, the last page) and the
  statement count with few and with many rows (so an N+1 shows).
""")
path = nb.save()

checks = ROOT / "solutions" / CHAPTER / "checks"
checks.mkdir(parents=True, exist_ok=True)
(checks / "reference_app.py").write_text(reference_source(), encoding="utf-8")
print(path)
