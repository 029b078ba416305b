import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")

AUTHOR = "INSERT INTO authors (id, name) VALUES (:id, :name)"
BOOK = "INSERT INTO books (title, price_cents, stock, author_id) VALUES (:title, 500, 1, :author_id)"


@pytest.mark.points(2)
async def test_one_select_and_connection_returned(bookshop):
    """list_titles sends one SELECT and gives its connection back"""
    seed = [(AUTHOR, {"id": 1, "name": "Isaac Asimov"}), (AUTHOR, {"id": 2, "name": "Ted Chiang"})]
    seed += [(BOOK, {"title": f"Volume {n:03d}", "author_id": 1 + n % 2}) for n in range(60)]
    call = await bookshop.call("list_titles", 2, seed=seed)
    expect(call.ok, f"`{call.expression}` raised {call.describe_error()}.")
    expected = [f"Volume {n:03d}" for n in range(1, 60, 2)]
    expect(call.value == expected, f"`{call.expression}` did not return author 2's 30 titles, A to Z.")
    expect(
        len(call.statements) == 1 and call.statements[0].lstrip().upper().startswith("SELECT"),
        f"`{call.expression}` sent {len(call.statements)} statement(s), expected exactly one SELECT.",
        "One select of the title column, filtered and sorted in SQL, answers it; do not load the author first.",
        answer="statement = select(Book.title).where(Book.author_id == author_id).order_by(Book.title)",
    )
    expect(
        call.checked_out == 0,
        f"After `{call.expression}` returned, {call.checked_out} connection(s) were still checked out of the pool.",
        "Use `async with sessionmaker() as session:` so the session is closed and its connection returned.",
    )
