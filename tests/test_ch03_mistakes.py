"""Chapter 03's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, replaces one or two solution cells with code that makes exactly
one known mistake, grades it like a real submission (sandboxed learner process, visible and hidden
tests) and asserts that precisely the expected checks fail, the first of them with a message that
names the mistake, and every other check passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from support import assert_diagnosed, edited_cell, graded_mistakes

from grader.models import SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "03-unit-of-work"


class Mistake(NamedTuple):
    cells: dict[str, str]  # grade_id of each replaced solution cell -> the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain


# place_order commits after every line: a refused order keeps its first lines.
COMMIT_PER_LINE = """
async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    async with uow:
        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(customer_id)
        order = Order(customer_id=customer_id, lines=[])
        uow.orders.add(order)
        for book_id, quantity in lines:
            if await uow.books.get(book_id) is None:
                raise BookNotFound(book_id)
            if not await uow.books.take_stock(book_id, quantity):
                raise OutOfStock(book_id)
            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
            await uow.commit()  # keep what is done so far
        return order


async def get_order(uow: UnitOfWork, order_id: int) -> Order:
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order
"""

# The unit of work's head, the same in the two __aexit__ mistakes below.
UOW_HEAD = """
class UnitOfWork:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.session = None

    async def __aenter__(self) -> "UnitOfWork":
        if self.session is not None:
            raise RuntimeError("already open")
        self.session = self.sessionmaker()
        self.customers = CustomerRepository(self.session)
        self.books = BookRepository(self.session)
        self.orders = OrderRepository(self.session)
        return self

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
"""

# The reference __aexit__: roll back on an exception, always close.
UOW_EXIT = """
    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                await self.rollback()
        finally:
            await self.session.close()
            self.session = None
"""

# __aexit__ commits whatever happened: an exception inside the block is not rolled back.
COMMIT_ON_EXIT = (
    UOW_HEAD
    + """
    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.session.commit()  # save whatever was done
        await self.session.close()
        self.session = None
"""
)

# __aexit__ returns True: every exception inside the unit of work vanishes.
SWALLOWING_EXIT = (
    UOW_HEAD
    + """
    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            await self.rollback()
        await self.session.close()
        self.session = None
        return True  # the error is handled: rolled back
"""
)

# No guard: entering an open unit of work opens a second session in place of the first.
REENTRANT = (
    UOW_HEAD.replace('        if self.session is not None:\n            raise RuntimeError("already open")\n', "")
    + UOW_EXIT
)

# A service that neither enters the unit of work nor commits: the route or a dependency does both.
SERVICE_WITHOUT_COMMIT = """
async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    if await uow.customers.get(customer_id) is None:
        raise CustomerNotFound(customer_id)
    order = Order(customer_id=customer_id, lines=[])
    for book_id, quantity in lines:
        if await uow.books.get(book_id) is None:
            raise BookNotFound(book_id)
        if not await uow.books.take_stock(book_id, quantity):
            raise OutOfStock(book_id)
        order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
    uow.orders.add(order)
    await uow.session.flush()  # the order gets its id; the commit comes later
    return order


async def get_order(uow: UnitOfWork, order_id: int) -> Order:
    order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order
"""

# The route enters the unit of work and commits.
COMMIT_IN_ROUTE = """
def get_uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.sessionmaker)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

router = APIRouter()

@router.post("/orders", status_code=201)
async def post_order(body: OrderIn, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    try:
        async with uow:
            order = await place_order(uow, body.customer_id, lines)
            await uow.commit()
    except (CustomerNotFound, BookNotFound):
        raise HTTPException(status_code=404, detail="not found") from None
    except OutOfStock:
        raise HTTPException(status_code=409, detail="out of stock") from None
    return OrderOut.model_validate(order)


@router.get("/orders/{order_id}")
async def read_order(order_id: int, uow: UowDep) -> OrderOut:
    try:
        async with uow:
            order = await get_order(uow, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    return OrderOut.model_validate(order)
"""

# A yield dependency enters the unit of work and commits after `yield`, after the response was sent.
COMMIT_IN_TEARDOWN = """
async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(request.app.state.sessionmaker) as uow:
        yield uow
        await uow.commit()  # the request went well: save it


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

router = APIRouter()


@router.post("/orders", status_code=201)
async def post_order(body: OrderIn, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    try:
        order = await place_order(uow, body.customer_id, lines)
    except (CustomerNotFound, BookNotFound):
        raise HTTPException(status_code=404, detail="not found") from None
    except OutOfStock:
        raise HTTPException(status_code=409, detail="out of stock") from None
    return OrderOut.model_validate(order)


@router.get("/orders/{order_id}")
async def read_order(order_id: int, uow: UowDep) -> OrderOut:
    try:
        order = await get_order(uow, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    return OrderOut.model_validate(order)
"""

# The stock is read, compared in Python and written back: two concurrent orders both get the last copy.
READ_THEN_WRITE = """
async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    async with uow:
        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(customer_id)
        order = Order(customer_id=customer_id, lines=[])
        for book_id, quantity in lines:
            book = await uow.books.get(book_id)
            if book is None:
                raise BookNotFound(book_id)
            if book.stock < quantity:
                raise OutOfStock(book_id)
            book.stock -= quantity
            order.lines.append(OrderLine(book_id=book_id, quantity=quantity))
        uow.orders.add(order)
        await uow.commit()
        return order


async def get_order(uow: UnitOfWork, order_id: int) -> Order:
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order
"""

TAKE_STOCK_UPDATE = """        statement = (
            update(Book)
            .where(Book.id == book_id, Book.stock >= quantity)
            .values(stock=Book.stock - quantity)
        )
        result = await self.session.execute(statement)
        return result.rowcount == 1"""

# take_stock reads the book, compares in Python and writes back: two sessions both take the last copies.
TAKE_STOCK_READ_THEN_WRITE = edited_cell(
    CHAPTER,
    "ex1-solution",
    (
        TAKE_STOCK_UPDATE,
        """        book = await self.session.get(Book, book_id)
        if book is None or book.stock < quantity:
            return False
        book.stock -= quantity
        return True""",
    ),
)

# take_stock commits its own UPDATE: the stock taken for a line stays taken when a later line is refused.
TAKE_STOCK_COMMITS = edited_cell(
    CHAPTER,
    "ex1-solution",
    (
        "        result = await self.session.execute(statement)\n",
        "        result = await self.session.execute(statement)\n"
        "        await self.session.commit()  # save the new stock\n",
    ),
)

# OrderRepository.add made async: the service's plain call creates a coroutine and adds nothing.
ASYNC_ADD = edited_cell(
    CHAPTER,
    "ex1-solution",
    ("    def add(self, order: Order) -> None:", "    async def add(self, order: Order) -> None:"),
)

# __aexit__ commits on a normal exit: a service that forgot its commit stores everything anyway.
COMMIT_ON_NORMAL_EXIT = (
    UOW_HEAD
    + """
    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                await self.rollback()
            else:
                await self.commit()  # the block went well: keep it
        finally:
            await self.session.close()
            self.session = None
"""
)

# rollback() forgets its await: the coroutine is created and dropped, and nothing is rolled back.
UNAWAITED_ROLLBACK = (
    UOW_HEAD.replace("        await self.session.rollback()", "        self.session.rollback()")
    + UOW_EXIT
)

# __aexit__ rolls back on every exit: what the block loaded is expired and unreadable after it.
ROLLBACK_ON_EVERY_EXIT = (
    UOW_HEAD
    + """
    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            await self.rollback()  # whatever was not committed goes
        finally:
            await self.session.close()
            self.session = None
"""
)

# place_order trusts the foreign key to refuse an unknown customer: IntegrityError at commit, not CustomerNotFound.
NO_CUSTOMER_CHECK = edited_cell(
    CHAPTER,
    "ex3-solution",
    (
        """        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(customer_id)
""",
        "",
    ),
)

# The lines are grouped by book in a dict: of two lines for one book, only the last is taken and stored.
LINES_BY_BOOK = edited_cell(
    CHAPTER,
    "ex3-solution",
    ("        for book_id, quantity in lines:", "        for book_id, quantity in dict(lines).items():"),
)

# get_order hands back what the repository found, None included.
GET_ORDER_RETURNS_NONE = edited_cell(
    CHAPTER,
    "ex3-solution",
    (
        """    async with uow:
        order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order""",
        """    async with uow:
        return await uow.orders.get(order_id)""",
    ),
)

# POST /orders catches CustomerNotFound and OutOfStock only: an unknown book is a 500.
BOOK_NOT_FOUND_UNCAUGHT = edited_cell(
    CHAPTER,
    "ex4-solution",
    (
        """    except BookNotFound as exc:
        raise HTTPException(status_code=404, detail=f"book {exc} not found") from None
""",
        "",
    ),
)

SERVICE_TESTS = (
    "test_place_order",
    "test_out_of_stock_changes_nothing",
    "test_place_order_not_found_changes_nothing",
    "test_two_lines_for_one_book",
    "test_get_order_returns_lines_or_raises",
    "test_place_order_race_for_two_copies",
    "test_place_order_unknown_customer_or_book",
    "test_same_book_on_two_lines",
    "test_get_order_service",
    "test_place_order_race_for_last_copy",
)

MISTAKES = {
    "take_stock reads, compares and writes back": Mistake(
        {"ex1-solution": TAKE_STOCK_READ_THEN_WRITE},
        (
            "test_take_stock_race_for_two_of_three_copies",
            "test_take_stock_is_atomic",
            "test_place_order_race_for_two_copies",
            "test_place_order_race_for_last_copy",
            "test_post_order_race_for_last_copy",
        ),
        ("at the same time on 3 copies: they returned ['True', 'True']", "Only one may take 2 copies"),
    ),
    "take_stock commits": Mistake(
        {"ex1-solution": TAKE_STOCK_COMMITS},
        (
            "test_repositories_never_commit_roll_back_or_close",
            "test_repositories_never_commit",
            "test_out_of_stock_changes_nothing",
            "test_place_order_not_found_changes_nothing",
            "test_two_lines_for_one_book",
            "test_place_order_unknown_customer_or_book",
            "test_same_book_on_two_lines",
            "test_post_order_out_of_stock",
            "test_post_order_404_for_unknown_customer_or_book",
            "test_post_order_unknown_customer_or_book",
        ),
        ("and rolled back, yet", "a repository committed"),
    ),
    "OrderRepository.add is an async def": Mistake(
        {"ex1-solution": ASYNC_ADD},
        (
            "test_order_repository_add_is_plain_def",
            "test_place_order",
            "test_two_lines_for_one_book",
            "test_place_order_race_for_two_copies",
            "test_place_order_race_for_last_copy",
            "test_post_order",
            "test_post_order_race_for_last_copy",
        ),
        ("it is an `async def`, whose body only runs when awaited",),
    ),
    "409 leaves the first lines stored": Mistake(
        {"ex3-solution": COMMIT_PER_LINE},
        (
            "test_post_order_out_of_stock",
            "test_out_of_stock_changes_nothing",
            "test_place_order_not_found_changes_nothing",
            "test_two_lines_for_one_book",
            "test_place_order_unknown_customer_or_book",
            "test_same_book_on_two_lines",
            "test_post_order_404_for_unknown_customer_or_book",
            "test_post_order_unknown_customer_or_book",
        ),
        ("POST /orders answered 409, but books, order_lines, orders changed", "the first line of the refused order"),
    ),
    "exception inside the unit of work not rolled back": Mistake(
        {"ex2-solution": COMMIT_ON_EXIT},
        (
            "test_exception_rolls_back",
            "test_leaving_without_commit_keeps_nothing",
            "test_leaving_without_commit_writes_nothing",
            "test_writes_after_commit_are_discarded",
            "test_out_of_stock_changes_nothing",
            "test_place_order_not_found_changes_nothing",
            "test_two_lines_for_one_book",
            "test_place_order_unknown_customer_or_book",
            "test_same_book_on_two_lines",
            "test_post_order_out_of_stock",
            "test_post_order_404_for_unknown_customer_or_book",
            "test_post_order_unknown_customer_or_book",
        ),
        ("and the author is in the database", "committed (or failed to roll back) on the way out"),
    ),
    "unit of work commits on a normal exit": Mistake(
        {"ex2-solution": COMMIT_ON_NORMAL_EXIT},
        (
            "test_leaving_without_commit_keeps_nothing",
            "test_leaving_without_commit_writes_nothing",
            "test_writes_after_commit_are_discarded",
        ),
        ("the block was left without `commit()`", "the unit of work commits on its own"),
    ),
    "rollback() not awaited": Mistake(
        {"ex2-solution": UNAWAITED_ROLLBACK},
        ("test_rollback_undoes_and_uow_stays_usable", "test_rollback_discards"),
        ("the customers table holds ['Hedy', 'Katherine'], expected ['Katherine']", "must be awaited"),
    ),
    "unit of work rolls back on every exit": Mistake(
        {"ex2-solution": ROLLBACK_ON_EVERY_EXIT},
        (
            "test_loaded_customer_readable_after_exit",
            "test_loaded_objects_stay_readable",
            "test_get_order_returns_lines_or_raises",
            "test_get_order_service",
            "test_get_order_route",
        ),
        ("Customer 4, loaded inside `async with uow:`, could not be read after the block", "expires every object"),
    ),
    "unit of work entered while open": Mistake(
        {"ex2-solution": REENTRANT},
        ("test_open_once_at_a_time",),
        ("inside an open `async with uow:` block was entered, expected RuntimeError", "refuse when `self.session`"),
    ),
    "__aexit__ returns True": Mistake(
        {"ex2-solution": SWALLOWING_EXIT},
        (
            "test_exception_propagates",
            "test_out_of_stock_changes_nothing",
            "test_place_order_not_found_changes_nothing",
            "test_two_lines_for_one_book",
            "test_place_order_race_for_two_copies",
            "test_place_order_unknown_customer_or_book",
            "test_same_book_on_two_lines",
            "test_place_order_race_for_last_copy",
            "test_post_order_out_of_stock",
            "test_post_order_404_for_unknown_customer_or_book",
            "test_post_order_unknown_customer_or_book",
            "test_post_order_race_for_last_copy",
        ),
        ("never reached the caller: `__aexit__` swallowed it (it returned True)",),
    ),
    "unknown customer left to the foreign key": Mistake(
        {"ex3-solution": NO_CUSTOMER_CHECK},
        (
            "test_place_order_not_found_changes_nothing",
            "test_place_order_unknown_customer_or_book",
            "test_post_order_404_for_unknown_customer_or_book",
            "test_post_order_unknown_customer_or_book",
        ),
        ("`place_order(uow, 7, [(2, 1)])` raised IntegrityError", "expected CustomerNotFound"),
    ),
    "lines grouped by book": Mistake(
        {"ex3-solution": LINES_BY_BOOK},
        ("test_two_lines_for_one_book", "test_same_book_on_two_lines"),
        ("with 5 copies of book 1 in stock, its stock is 2", "Grouping the lines by book"),
    ),
    "get_order returns None for an unknown order": Mistake(
        {"ex3-solution": GET_ORDER_RETURNS_NONE},
        ("test_get_order_returns_lines_or_raises", "test_get_order_service", "test_get_order_route"),
        ("`get_order(uow, 6)` for an order that does not exist returned None, expected OrderNotFound",),
    ),
    "commit in the route": Mistake(
        {"ex3-solution": SERVICE_WITHOUT_COMMIT, "ex4-solution": COMMIT_IN_ROUTE},
        ("test_no_commit_in_routes_or_dependencies", *SERVICE_TESTS),
        ("The route function `post_order` of POST /orders calls `.commit()`",),
    ),
    "commit in a yield dependency's teardown": Mistake(
        {"ex3-solution": SERVICE_WITHOUT_COMMIT, "ex4-solution": COMMIT_IN_TEARDOWN},
        ("test_no_commit_in_routes_or_dependencies", "test_commit_failure_is_never_2xx", *SERVICE_TESTS),
        ("The dependency `get_uow` used by POST /orders calls `.commit()`", "after `yield`"),
    ),
    "stock read, compared and written back": Mistake(
        {"ex3-solution": READ_THEN_WRITE},
        (
            "test_place_order_race_for_two_copies",
            "test_post_order_race_for_last_copy",
            "test_place_order_race_for_last_copy",
        ),
        ("place_order gave ['placed', 'placed'], 4 copies were sold", "Let `uow.books.take_stock` decide"),
    ),
    "BookNotFound not answered 404": Mistake(
        {"ex4-solution": BOOK_NOT_FOUND_UNCAUGHT},
        ("test_post_order_404_for_unknown_customer_or_book", "test_post_order_unknown_customer_or_book"),
        ("POST /orders for an unknown book 77 answered 500", "place_order raises BookNotFound for it"),
    ),
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, {case: m.cells for case, m in MISTAKES.items()})


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    assert_diagnosed(graded[case], mistake.cells, mistake.failing, {mistake.failing[0]: mistake.message})
