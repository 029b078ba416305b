"""Chapter 02's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, replaces one solution cell with code that makes exactly one
known mistake, grades it like a real submission (sandboxed learner process, visible and hidden
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
CHAPTER = "02-dependency-injection"


class Mistake(NamedTuple):
    cell: str  # grade_id of the solution cell that is replaced
    source: str  # the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain


# A module-level engine on a fixed file (in TMPDIR: the sandbox's working directory is read-only,
# and tables exist there, so requests succeed and only where the rows land is wrong).
GLOBAL_ENGINE = """
engine = make_engine(f"sqlite+aiosqlite:///{Path(tempfile.gettempdir()) / 'bookshop.sqlite'}")
SessionLocal = make_sessionmaker(engine)
await create_schema(engine)

router = APIRouter()


@router.post("/authors", status_code=201)
async def post_author(body: AuthorIn) -> AuthorOut:
    async with SessionLocal() as session:
        author = await create_author(session, body.name)
    return AuthorOut.model_validate(author)


@router.get("/authors/{author_id}")
async def read_author(author_id: int) -> AuthorOut:
    async with SessionLocal() as session:
        try:
            author = await get_author(session, author_id)
        except AuthorNotFound:
            raise HTTPException(status_code=404, detail="not found") from None
    return AuthorOut.model_validate(author)


@router.post("/books", status_code=201)
async def post_book(body: BookIn) -> BookOut:
    async with SessionLocal() as session:
        try:
            book = await create_book(session, **body.model_dump())
        except AuthorNotFound:
            raise HTTPException(status_code=404, detail="not found") from None
        except DuplicateBook:
            raise HTTPException(status_code=409, detail="duplicate") from None
    return BookOut.model_validate(book)


@router.get("/books")
async def read_books(settings: SettingsDep) -> list[BookOut]:
    async with SessionLocal() as session:
        books = await list_books(session, limit=settings.page_size)
    return [BookOut.model_validate(book) for book in books]
"""

OVERRIDE_ON_ALIAS = """
def use_database(app: FastAPI, database_url: str) -> None:
    sessionmaker = make_sessionmaker(make_engine(database_url))

    async def get_test_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    app.dependency_overrides[SessionDep] = get_test_session
"""

OVERRIDE_ON_COPY = """
async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def use_database(app: FastAPI, database_url: str) -> None:
    sessionmaker = make_sessionmaker(make_engine(database_url))

    async def get_test_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    app.dependency_overrides[get_session] = get_test_session
"""

SHARED_APP = """
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await app.state.engine.dispose()


app = FastAPI(title="Bookshop", lifespan=lifespan)
app.include_router(router)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    return app
"""

SETTINGS_AT_IMPORT = """
settings = Settings()
router = APIRouter()


@router.post("/authors", status_code=201)
async def post_author(body: AuthorIn, session: SessionDep) -> AuthorOut:
    return AuthorOut.model_validate(await create_author(session, body.name))


@router.get("/authors/{author_id}")
async def read_author(author_id: int, session: SessionDep) -> AuthorOut:
    try:
        return AuthorOut.model_validate(await get_author(session, author_id))
    except AuthorNotFound:
        raise HTTPException(status_code=404, detail="not found") from None


@router.post("/books", status_code=201)
async def post_book(body: BookIn, session: SessionDep) -> BookOut:
    try:
        return BookOut.model_validate(await create_book(session, **body.model_dump()))
    except AuthorNotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    except DuplicateBook:
        raise HTTPException(status_code=409, detail="duplicate") from None


@router.get("/books")
async def read_books(session: SessionDep) -> list[BookOut]:
    books = await list_books(session, limit=settings.page_size)
    return [BookOut.model_validate(book) for book in books]
"""

SWALLOWING_SESSION = """
async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    except Exception:
        await session.rollback()
    finally:
        await session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
"""

# Look first, then insert, and let the database's refusal out: two requests for one title both look first.
CHECK_THEN_INSERT = edited_cell(
    CHAPTER,
    "ex3-solution",
    (
        """    book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)
    session.add(book)
    try:
        await session.commit()
    except IntegrityError as error:
        await session.rollback()
        if is_unique_violation(error):
            raise DuplicateBook(title) from None
        raise  # another constraint refused the row: a bug, not the client's duplicate""",
        """    same_title = select(Book.id).where(Book.author_id == author_id, Book.title == title)
    if await session.scalar(same_title) is not None:
        raise DuplicateBook(title)
    book = Book(title=title, price_cents=price_cents, stock=stock, author_id=author_id)
    session.add(book)
    await session.commit()""",
    ),
)

# page_size without its bounds: a page of 0 or of a million rows is one environment variable away.
UNBOUNDED_PAGE_SIZE = edited_cell(
    CHAPTER, "ex1-solution", ("page_size: int = Field(default=20, ge=1, le=100)", "page_size: int = 20")
)

MISTAKES = {
    "page_size without its bounds": Mistake(
        "ex1-solution",
        UNBOUNDED_PAGE_SIZE,
        ("test_page_size_bounds_from_environment", "test_page_size_bounds"),
        ("`Settings()` accepted BOOKSHOP_PAGE_SIZE=-3 (page_size -3), 250 (page_size 250)", "its bounds"),
    ),
    "check-then-insert: the race for a title crashes": Mistake(
        "ex3-solution",
        CHECK_THEN_INSERT,
        ("test_duplicate_title_race",),
        ("at the same moment gave", "IntegrityError", "catch IntegrityError at commit"),
    ),
    "global engine in the routes": Mistake(
        "ex4-solution",
        GLOBAL_ENGINE,
        (
            "test_post_then_get_author",
            "test_get_author",
            "test_post_book",
            "test_list_books_page_size",
            "test_routes_use_overridden_session",
            "test_routes_use_overridden_settings",
        ),
        ("the database the app was built with holds 0 author(s)", "module-level engine or sessionmaker"),
    ),
    "override keyed on the Annotated alias": Mistake(
        "ex6-solution",
        OVERRIDE_ON_ALIAS,
        ("test_use_database_redirects_sessions", "test_use_database_changes_only_that_app"),
        ("keyed on the `SessionDep` alias", "dependency_overrides[get_session]"),
    ),
    "override keyed on a re-defined get_session": Mistake(
        "ex6-solution",
        OVERRIDE_ON_COPY,
        ("test_use_database_redirects_sessions", "test_session_dep_alias", "test_use_database_changes_only_that_app"),
        ("keyed on a get_session defined again",),
    ),
    "create_app returns one shared app": Mistake(
        "ex5-solution",
        SHARED_APP,
        ("test_two_apps_share_no_state", "test_use_database_changes_only_that_app"),
        ("create_app returned the same app object twice",),
    ),
    "settings read at import time": Mistake(
        "ex4-solution",
        SETTINGS_AT_IMPORT,
        ("test_list_books_page_size", "test_routes_use_overridden_settings"),
        (
            "With page_size 2 in the app's settings, GET /books returned ['Exhalation', 'Anxiety', 'Omphalos']",
            "Let the route depend on the app's settings",
        ),
    ),
    "yield dependency swallows the route's exception": Mistake(
        "ex2-solution",
        SWALLOWING_SESSION,
        (
            "test_http_exception_passes_through",
            "test_exception_reaches_its_handler",
            "test_failed_request_rolls_back_and_closes",
            "test_get_author",
            "test_post_book",
        ),
        ("answered 500: the exception did not come back out of get_session", "without `raise`"),
    ),
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(
        request, tmp_path_factory, CHAPTER, {case: {m.cell: m.source} for case, m in MISTAKES.items()}
    )


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    assert_diagnosed(
        graded[case], {mistake.cell: mistake.source}, mistake.failing, {mistake.failing[0]: mistake.message}
    )
