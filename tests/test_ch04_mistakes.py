"""Chapter 04's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, replaces one solution cell with code that makes exactly one
known mistake, grades it like a real submission (sandboxed learner process, visible and hidden
tests) and asserts that precisely the expected checks fail, the first of them with a message that
names the mistake (and, where a case says so, another failing check with its own message), and
every other check passes. The selected cases are graded in one ``grader grade --jobs 2`` batch
(one grading per mistake, two at a time), then checked one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import (
    VARIANTS_CASE,
    assert_diagnosed,
    assert_full_marks,
    edited_cell,
    graded_mistakes,
)

from grader.models import SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "04-n-plus-one"


@dataclass(frozen=True)
class Mistake:
    cell: str  # grade_id of the solution cell that is replaced
    source: str  # the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other failing checks: fragments of their output


# Every check that needs list_authors to work (directly or through GET /authors).
NEEDS_LIST_AUTHORS = (
    "test_list_authors_statement_count",
    "test_list_authors_pages",
    "test_relationships_keep_lazy_raise",
    "test_get_authors",
    "test_authors_statement_budget",
    "test_pages_are_stable",
    "test_routes_enforce_page_bounds",
)

# The learner copied the models and switched lazy="raise" to the default lazy loading.
LAZY_SELECT_MODELS = """
class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="select")


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    stock: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books", lazy="select")


async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).order_by(Author.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))
"""

# The learner "fixed" the lazy='raise' error on the model: every query for authors now loads books.
LAZY_SELECTIN_MODEL = LAZY_SELECT_MODELS.replace(
    'back_populates="author", lazy="select"', 'back_populates="author", lazy="selectin"'
).replace('back_populates="books", lazy="select"', 'back_populates="books", lazy="raise"')

NO_LOADER = """
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).order_by(Author.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))
"""

JOINEDLOAD_WITHOUT_UNIQUE = """
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).options(joinedload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))
"""

NO_ORDER_BY = """
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).options(selectinload(Author.books)).limit(limit).offset(offset)
    return list(await session.scalars(statement))
"""

REFRESH_PER_AUTHOR = """
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).order_by(Author.id).limit(limit).offset(offset)
    authors = list(await session.scalars(statement))
    for author in authors:
        await session.refresh(author, ["books"])
    return authors
"""

SELECTINLOAD_FOR_MANY_TO_ONE = """
async def list_books(session: AsyncSession, *, limit: int, offset: int) -> list[Book]:
    statement = select(Book).options(selectinload(Book.author)).order_by(Book.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))
"""

OFF_BY_ONE_PAGE = """
class Page(BaseModel):
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page:
    size = page_size or settings.page_size
    return Page(limit=size, offset=page * size)


PageDep = Annotated[Page, Depends(get_page)]
"""

QUERY_PER_AUTHOR_IN_ROUTE = """
router = APIRouter()


@router.get("/authors")
async def read_authors(session: SessionDep, page: PageDep) -> list[AuthorWithBooks]:
    authors = await session.scalars(select(Author).order_by(Author.id).limit(page.limit).offset(page.offset))
    result = []
    for author in authors.all():
        books = await session.scalars(select(Book).where(Book.author_id == author.id))
        result.append(AuthorWithBooks(id=author.id, name=author.name, books=[BookOut.model_validate(b) for b in books]))
    return result


@router.get("/books")
async def read_books(session: SessionDep, page: PageDep) -> list[BookWithAuthor]:
    books = await list_books(session, limit=page.limit, offset=page.offset)
    return [BookWithAuthor.model_validate(book) for book in books]
"""

MISTAKES = {
    "lazy='select' on the models and no loader option (MissingGreenlet)": Mistake(
        "ex1-solution",
        LAZY_SELECT_MODELS,
        ("test_list_authors_loads_books", *NEEDS_LIST_AUTHORS),
        ("MissingGreenlet: a lazy load of Author.books", "use selectinload(Author.books)"),
        {
            "test_get_authors": ("GET /authors failed with MissingGreenlet: a lazy load of Author.books",),
            "test_relationships_keep_lazy_raise": (
                'Author.books has lazy="select" instead of lazy="raise"',
                "MissingGreenlet under asyncio",
            ),
        },
    ),
    "lazy='selectin' on Author.books instead of a loader option": Mistake(
        "ex1-solution",
        LAZY_SELECTIN_MODEL,
        ("test_relationships_keep_lazy_raise",),
        ('Author.books has lazy="selectin" instead of lazy="raise"', "every query for its class now loads it"),
    ),
    "no loader option: lazy='raise' refuses (InvalidRequestError)": Mistake(
        "ex1-solution",
        NO_LOADER,
        ("test_list_authors_loads_books", *NEEDS_LIST_AUTHORS),
        ("Author.books was not loaded", "lazy='raise'", ".options(selectinload(Author.books))"),
        {"test_get_authors": ("GET /authors failed: Author.books was not loaded",)},
    ),
    "joinedload on a collection without unique()": Mistake(
        "ex1-solution",
        JOINEDLOAD_WITHOUT_UNIQUE,
        ("test_list_authors_loads_books", *NEEDS_LIST_AUTHORS),
        ("joinedload on a collection without .unique()", "InvalidRequestError", "De-duplicate the result"),
        {"test_get_authors": ("GET /authors failed: joinedload on a collection without .unique()",)},
    ),
    "pages without ORDER BY": Mistake(
        "ex1-solution",
        NO_ORDER_BY,
        (
            "test_list_authors_loads_books",
            "test_list_authors_statement_count",
            "test_list_authors_pages",
            "test_get_authors",
            "test_authors_statement_budget",
            "test_pages_are_stable",
        ),
        ("returned the authors [5, 4, 3, 2, 1], expected [1, 2, 3, 4, 5]", "ordered by their primary key"),
        {
            "test_list_authors_pages": ("the pages hold every row, but not in id order", "Order by something unique"),
            "test_pages_are_stable": ("GET /authors?page=1, 2, ...", "not in id order"),
        },
    ),
    "page_size without an upper bound": Mistake(
        "ex3-solution",
        edited_cell(CHAPTER, "ex3-solution", ("Query(ge=1, le=100)", "Query(ge=1)")),
        ("test_page_size_is_bounded", "test_page_bounds", "test_routes_enforce_page_bounds"),
        ("For ?page_size=1000, a route depending on `PageDep` answered 200, expected 422",),
    ),
    "off-by-one offset (page * page_size)": Mistake(
        "ex3-solution",
        OFF_BY_ONE_PAGE,
        (
            "test_page_defaults",
            "test_page_offsets",
            "test_page_bounds",
            "test_get_authors",
            "test_get_books",
            "test_authors_statement_budget",
            "test_books_statement_budget",
            "test_pages_are_stable",
            "test_author_stats",
            "test_author_stats_one_statement",
            "test_author_stats_pages",
        ),
        ("get_page gave {'limit': 7, 'offset': 7}, expected limit 7, offset 0", "page 1 starts at offset 0"),
        {
            name: ("exercise ex3's PageDep, which gives (limit, offset) (3, 3) for page 1 and (3, 6)", "fix ex3 first")
            for name in ("test_get_authors", "test_author_stats", "test_pages_are_stable", "test_author_stats_pages")
        },
    ),
    "session.refresh per author (an N+1 in the service)": Mistake(
        "ex1-solution",
        REFRESH_PER_AUTHOR,
        ("test_list_authors_statement_count", "test_authors_statement_budget"),
        ("with 5 authors in the database and", "the count grows with the data, an N+1", "Sent 100 times"),
        {"test_authors_statement_budget": ("GET /authors?page_size=100 sent", "an N+1")},
    ),
    "a query per author in the route (an N+1 in the route)": Mistake(
        "ex4-solution",
        QUERY_PER_AUTHOR_IN_ROUTE,
        ("test_authors_statement_budget",),
        (
            "GET /authors?page_size=100 sent 6 statements with 5 authors in the database and 101 with 200",
            "an N+1. Sent 100 times: SELECT books.",
        ),
    ),
    "selectinload for a many-to-one (over the budget, though flat)": Mistake(
        "ex2-solution",
        SELECTINLOAD_FOR_MANY_TO_ONE,
        ("test_list_books_one_statement", "test_books_statement_budget"),
        ("sent 2 statements with 7 books and with 200: the budget is 1", "joinedload(Book.author)"),
    ),
}


# Correct answers written differently from the solution: none of the checks may fail them.
VARIANTS = {
    "ex1-solution": """
async def list_authors(session: AsyncSession, *, limit: int, offset: int) -> list[Author]:
    statement = select(Author).options(joinedload(Author.books)).order_by(Author.id).limit(limit).offset(offset)
    return list((await session.scalars(statement)).unique().all())
""",
    "ex2-solution": """
from sqlalchemy.orm import contains_eager


async def list_books(session: AsyncSession, *, limit: int, offset: int) -> list[Book]:
    statement = (
        select(Book).join(Book.author).options(contains_eager(Book.author)).order_by(Book.id).limit(limit).offset(offset)
    )
    result = await session.scalars(statement)
    return result.all()
""",
    "ex3-solution": """
class Page(BaseModel):
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    page: int = Query(default=1, ge=1),
    page_size: int | None = Query(default=None, ge=1, le=100),
) -> Page:
    size = page_size or settings.page_size
    return Page(limit=size, offset=(page - 1) * size)


PageDep = Annotated[Page, Depends(get_page)]
""",
    "ex4-solution": """
router = APIRouter(tags=["catalogue"])


@router.get("/authors", response_model=list[AuthorWithBooks])
async def read_authors(session: SessionDep, page: PageDep):
    return await list_authors(session, limit=page.limit, offset=page.offset)


@router.get("/books", response_model=list[BookWithAuthor])
async def read_books(page: PageDep, session: SessionDep):
    return await list_books(session, **page.model_dump())
""",
    "ex5-solution": """
class AuthorStats(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    book_count: int
    total_stock: int


async def author_stats(session: AsyncSession, *, limit: int, offset: int) -> list[AuthorStats]:
    per_author = (
        select(Book.author_id, func.count().label("n"), func.sum(Book.stock).label("s"))
        .group_by(Book.author_id)
        .subquery()
    )
    statement = (
        select(Author.id, Author.name, func.coalesce(per_author.c.n, 0), func.coalesce(per_author.c.s, 0))
        .outerjoin(per_author, per_author.c.author_id == Author.id)
        .order_by(Author.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(statement)).all()
    return [AuthorStats(id=i, name=n, book_count=c, total_stock=s) for i, n, c, s in rows]


@router.get("/authors/stats", response_model=list[AuthorStats])
async def stats(session: SessionDep, page: PageDep):
    return await author_stats(session, limit=page.limit, offset=page.offset)
""",
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    cases = {case: {m.cell: m.source} for case, m in MISTAKES.items()}
    return graded_mistakes(request, tmp_path_factory, CHAPTER, cases, VARIANTS)


def test_valid_variants_get_full_marks(graded: dict[str, SubmissionResult]) -> None:
    assert_full_marks(graded[VARIANTS_CASE])


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    messages = {mistake.failing[0]: mistake.message, **mistake.also}
    assert_diagnosed(graded[case], {mistake.cell: mistake.source}, mistake.failing, messages)
