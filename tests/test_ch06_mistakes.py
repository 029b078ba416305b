"""Chapter 06's checks diagnose the mistakes they were written for.

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
CHAPTER = "06-error-contracts"


class Mistake(NamedTuple):
    cells: dict[str, str]  # grade_id of each replaced solution cell -> the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain


# The 500 handler of the solution, shared by the registration mistakes below.
UNEXPECTED_HANDLER = """
async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "The server could not handle this request. The error was logged.")
"""

# The HTTP error handler is registered on FastAPI's HTTPException: the routing's 404 and 405 slip through.
FASTAPI_CLASS = (
    UNEXPECTED_HANDLER
    + """

def register_problem_handlers(app: FastAPI) -> None:
    for exception_class in PROBLEM_TYPES:
        app.add_exception_handler(exception_class, domain_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)  # FastAPI's HTTPException
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
"""
)

REGISTER = """

def register_problem_handlers(app: FastAPI) -> None:
    for exception_class in PROBLEM_TYPES:
        app.add_exception_handler(exception_class, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
"""

# The 500 tells the client what went wrong: the class name and the message, SQL included.
LEAKY_500 = (
    """
async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, f"{type(exc).__name__}: {exc}")  # helps whoever debugs the client
"""
    + REGISTER
)

# The 500 handler builds its own JSONResponse and forgets the media type: application/json.
JSON_CONTENT_TYPE = (
    """
async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    error_log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(title="Internal Server Error", status=500, detail="The server could not handle this request.")
    return JSONResponse(problem.model_dump(), status_code=500)
"""
    + REGISTER
)

# Every error FastAPI knows, passed on as it is: `input` (the password) and `ctx` included.
ECHOING_422 = """
from fastapi.encoders import jsonable_encoder


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = jsonable_encoder(exc.errors())  # everything the client could want to know
    detail = f"{len(errors)} parts of the request are not valid."
    return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors)
"""

# "A validation error is a bad request": the body says 400 while the response is a 422.
STATUS_MISMATCH = """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    problem = Problem(
        type=f"{PROBLEMS}/invalid-request",
        title="Invalid request",
        status=400,  # the client sent a bad request
        detail=f"{len(errors)} parts of the request are not valid.",
        errors=errors,
    )
    return JSONResponse(problem.model_dump(), status_code=422, media_type=PROBLEM_JSON)
"""

# The handler sets the one header it knows about (the 401's) instead of copying exc.headers.
ALLOW_DROPPED = """
async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return problem_response(exc.status_code, detail, headers=headers)
"""

# The table's 401 entries have no WWW-Authenticate header.
BEARER_DROPPED = """
PROBLEMS = "https://bookshop.example/problems"
BEARER = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class ProblemType:
    status: int
    type: str
    title: str
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


PROBLEM_TYPES: dict[type[Exception], ProblemType] = {
    BookNotFound: ProblemType(404, f"{PROBLEMS}/book-not-found", "Book not found", "No book has this id."),
    CustomerNotFound: ProblemType(404, f"{PROBLEMS}/customer-not-found", "Customer not found", "No customer."),
    OrderNotFound: ProblemType(404, f"{PROBLEMS}/order-not-found", "Order not found", "No such order."),
    OutOfStock: ProblemType(409, f"{PROBLEMS}/out-of-stock", "Out of stock", "Not enough copies."),
    EmailTaken: ProblemType(409, f"{PROBLEMS}/email-taken", "Email taken", "This email is registered."),
    InvalidCredentials: ProblemType(401, f"{PROBLEMS}/invalid-credentials", "Invalid credentials", "Wrong login."),
    InvalidToken: ProblemType(401, f"{PROBLEMS}/invalid-token", "Invalid token", "Could not validate credentials."),
    NotAllowed: ProblemType(403, f"{PROBLEMS}/not-allowed", "Not allowed", "You may not do this."),
}


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    for cls in type(exc).__mro__:
        if cls in PROBLEM_TYPES:
            kind = PROBLEM_TYPES[cls]
            return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)
    raise exc
"""

# The table as the solution has it (BEARER on the 401s), for the mistakes in the handler or one entry.
TABLE_AND_HANDLER = BEARER_DROPPED.replace('"Wrong login.")', '"Wrong login.", BEARER)').replace(
    '"Could not validate credentials.")', '"Could not validate credentials.", BEARER)'
)

# The handler looks the exact class up: a subclass is a KeyError, and the app's 500.
SUBCLASS_MISSED = TABLE_AND_HANDLER.replace(
    """    for cls in type(exc).__mro__:
        if cls in PROBLEM_TYPES:
            kind = PROBLEM_TYPES[cls]
            return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)
    raise exc""",
    """    kind = PROBLEM_TYPES[type(exc)]
    return problem_response(kind.status, kind.detail, type=kind.type, title=kind.title, headers=kind.headers)""",
)

# OrderNotFound's entry copied from BookNotFound's, type included: clients cannot tell the two 404s apart.
SHARED_404_TYPE = TABLE_AND_HANDLER.replace('f"{PROBLEMS}/order-not-found"', 'f"{PROBLEMS}/book-not-found"')

# EmailTaken's entry copied from OutOfStock's, type included: clients cannot tell the two 409s apart.
SHARED_TYPE = TABLE_AND_HANDLER.replace('f"{PROBLEMS}/email-taken"', 'f"{PROBLEMS}/out-of-stock"')

# "A detail must be a string": a list detail is sent as its Python repr.
STRINGIFIED_DETAIL = """
async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)
"""

# Only `input` is dropped: `ctx` (a validator's ValueError) and `url` stay, and JSON cannot encode the ValueError.
CTX_KEPT = """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{key: value for key, value in error.items() if key != "input"} for error in exc.errors()]
    detail = f"{len(errors)} parts of the request are not valid."
    return problem_response(422, detail, type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors)
"""

# The 422 problem without its own type and title: about:blank, "Unprocessable Entity".
ABOUT_BLANK_422 = """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    return problem_response(422, f"{len(errors)} parts of the request are not valid.", errors=errors)
"""

# The 500 handler answers well and logs nothing: the failure is gone without a trace.
NOT_LOGGED = (
    """
async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(500, "The server could not handle this request.")
"""
    + REGISTER
)

# register_problem_handlers without the loop over the table: domain exceptions reach the 500 handler.
DOMAIN_NOT_REGISTERED = (
    UNEXPECTED_HANDLER
    + """

def register_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
"""
)

# The login route looks the email up first, "to tell the client what is wrong": an unknown email is a 404.
LOGIN_TELLS_EMAILS_APART = edited_cell(
    CHAPTER,
    "ex6-solution",
    (
        "    customer = await authenticate(uow, form.username, form.password)\n",
        "    async with uow:\n"
        "        known = await uow.customers.get_by_email(form.username)\n"
        "    if known is None:\n"
        "        raise CustomerNotFound(form.username)\n"
        "    customer = await authenticate(uow, form.username, form.password)\n",
    ),
)

# Two routes translate domain exceptions into HTTPExceptions of their own, as in chapter 05.
HTTPEXCEPTION_IN_ROUTER = """
router = APIRouter(responses=problem_responses(500))


@router.post("/customers", status_code=201, responses=problem_responses(409, 422))
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    customer = await register_customer(uow, body.name, body.email, body.password)
    return CustomerOut.model_validate(customer)


@router.post("/auth/token", responses=problem_responses(401, 422))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, settings: SettingsDep, clock: ClockDep
) -> Token:
    customer = await authenticate(uow, form.username, form.password)
    return Token(access_token=create_access_token(settings, str(customer.id), clock.now()))


@router.get("/customers/me", responses=problem_responses(401))
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


@router.get("/customers/{customer_id}", responses=problem_responses(401, 403, 404, 422))
async def read_customer(customer_id: int, caller: CurrentCustomer, uow: UowDep) -> CustomerOut:
    return CustomerOut.model_validate(await get_customer(uow, caller, customer_id))


@router.post("/orders", status_code=201, responses=problem_responses(401, 404, 409, 422))
async def post_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    lines = [(line.book_id, line.quantity) for line in body.lines]
    try:
        order = await place_order(uow, customer.id, lines)
    except BookNotFound:
        raise HTTPException(status_code=404, detail="book not found") from None
    except OutOfStock:
        raise HTTPException(status_code=409, detail="out of stock") from None
    return OrderOut.model_validate(order)


@router.get("/orders", responses=problem_responses(401))
async def read_orders(customer: CurrentCustomer, uow: UowDep) -> list[OrderOut]:
    return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]


@router.get("/orders/{order_id}", responses=problem_responses(401, 404, 422))
async def read_order(order_id: int, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    try:
        order = await get_order(uow, customer.id, order_id)
    except OrderNotFound:
        raise HTTPException(status_code=404, detail=f"order {order_id} not found") from None
    return OrderOut.model_validate(order)
"""

MISTAKES = {
    "handler registered on fastapi.HTTPException": Mistake(
        {"ex5-solution": FASTAPI_CLASS},
        ("test_register_covers_framework_errors", "test_app_framework_errors_are_problems"),
        (
            "GET /no/such/page (no such route) answered 404 application/json",
            "registered http_error_handler on fastapi.HTTPException",
        ),
    ),
    "422 echoes the input": Mistake(
        {"ex4-solution": ECHOING_422},
        (
            "test_422_never_echoes_input",
            "test_422_entries_are_only_loc_msg_type_in_order",
            "test_422_entries_are_exactly_loc_msg_type",
            "test_app_422_hides_input",
        ),
        ("the submitted password 'correct horse battery staple' came back in the 422", "`input`"),
    ),
    "500 leaks the exception's class and SQL": Mistake(
        {"ex5-solution": LEAKY_500},
        ("test_500_leaks_nothing", "test_app_500_leaks_nothing"),
        ("shows server internals", "SQL", "OperationalError"),
    ),
    "Allow dropped from the 405": Mistake(
        {"ex3-solution": ALLOW_DROPPED},
        (
            "test_405_keeps_allow",
            "test_http_exception_keeps_status_detail_and_headers",
            "test_register_covers_framework_errors",
            "test_app_framework_errors_are_problems",
        ),
        ("POST /only-get answered 405 without the header `Allow: GET`", "headers=exc.headers"),
    ),
    "WWW-Authenticate dropped from the 401": Mistake(
        {"ex2-solution": BEARER_DROPPED},
        (
            "test_unauthenticated_problems_ask_for_bearer",
            "test_subclass_gets_the_problem_of_its_parent",
            "test_domain_errors_reach_the_handlers",
        ),
        ("A route raising InvalidCredentials answered 401 without the header `WWW-Authenticate: Bearer`", "BEARER"),
    ),
    "500 served as application/json": Mistake(
        {"ex5-solution": JSON_CONTENT_TYPE},
        ("test_unexpected_error_is_a_problem", "test_register_covers_framework_errors", "test_app_500_leaks_nothing"),
        (
            "the content type is application/json, expected application/problem+json",
            "which sets the problem media type",
        ),
    ),
    "status member differs from the HTTP status": Mistake(
        {"ex4-solution": STATUS_MISMATCH},
        (
            "test_422_lists_locations",
            "test_422_never_echoes_input",
            "test_422_entries_are_only_loc_msg_type_in_order",
            "test_422_problem_has_its_type_title_and_a_counting_detail",
            "test_422_entries_are_exactly_loc_msg_type",
            "test_register_covers_framework_errors",
            "test_app_422_hides_input",
        ),
        ("the member `status` is 400 but the response's HTTP status is 422",),
    ),
    "HTTPException built in a router": Mistake(
        {"ex6-solution": HTTPEXCEPTION_IN_ROUTER},
        ("test_routes_catch_nothing", "test_domain_errors_reach_the_handlers"),
        ("The route function `post_order` of POST /orders builds an HTTPException", "bypass PROBLEM_TYPES"),
    ),
    "a subclass looked up by its exact class": Mistake(
        {"ex2-solution": SUBCLASS_MISSED},
        (
            "test_subclass_gets_the_problem_of_its_parent",
            "test_subclass_is_answered_like_its_parent",
            "test_register_maps_domain_errors",
        ),
        ("A route raising a subclass of CustomerNotFound answered 500", "`type(exc).__mro__`"),
    ),
    "two 404s share a type": Mistake(
        {"ex2-solution": SHARED_404_TYPE},
        ("test_each_domain_problem_has_its_own_type_and_title",),
        (
            "PROBLEM_TYPES gives OrderNotFound the type",
            "which BookNotFound has too",
            "One type URI per exception class",
        ),
    ),
    # EmailTaken is in the hidden check's half of the table, OutOfStock in the visible one's: only the hidden
    # check, which looks for a type's other owners across the whole table, fails.
    "two domain exceptions share a type": Mistake(
        {"ex2-solution": SHARED_TYPE},
        ("test_problem_types_are_specific",),
        ("PROBLEM_TYPES gives EmailTaken the type", "which OutOfStock also has", "One type URI per exception class"),
    ),
    "a list detail sent as its repr": Mistake(
        {"ex3-solution": STRINGIFIED_DETAIL},
        (
            "test_string_detail_is_kept_and_other_details_become_the_phrase",
            "test_http_exception_keeps_status_detail_and_headers",
        ),
        ("answered the detail \"['isbn', 'already listed']\", expected the status phrase 'Conflict'",),
    ),
    "422 entries keep ctx and url": Mistake(
        {"ex4-solution": CTX_KEPT},
        ("test_422_entries_are_only_loc_msg_type_in_order", "test_422_entries_are_exactly_loc_msg_type"),
        ("answered 500: validation_error_handler raised instead of answering", "`ctx`"),
    ),
    "422 problem of type about:blank": Mistake(
        {"ex4-solution": ABOUT_BLANK_422},
        ("test_422_problem_has_its_type_title_and_a_counting_detail", "test_422_entries_are_exactly_loc_msg_type"),
        ("answered the type 'about:blank' and the title", "'Invalid request'"),
    ),
    "500 not logged": Mistake(
        {"ex5-solution": NOT_LOGGED},
        ("test_500_logs_the_exception_with_its_traceback", "test_unexpected_error_is_logged"),
        ("the server log got 0 new line(s)", "none with the exception and its traceback"),
    ),
    "domain exceptions not registered": Mistake(
        {"ex5-solution": DOMAIN_NOT_REGISTERED},
        (
            "test_register_answers_each_domain_exception_from_the_table",
            "test_register_maps_domain_errors",
            "test_domain_errors_reach_the_handlers",
            "test_wrong_password_and_unknown_email_answer_alike",
            "test_failed_logins_look_alike",
        ),
        ("A route raising CustomerNotFound answered 500", "domain_error_handler for every exception class"),
    ),
    "login tells an unknown email apart": Mistake(
        {"ex6-solution": LOGIN_TELLS_EMAILS_APART},
        (
            "test_wrong_password_and_unknown_email_answer_alike",
            "test_routes_catch_nothing",
            "test_failed_logins_look_alike",
        ),
        ("answered 401", "for Grace's email and a wrong password and 404", "Looking the email up in the route"),
    ),
}


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, {case: m.cells for case, m in MISTAKES.items()})


@pytest.mark.parametrize("case", list(MISTAKES))
def test_mistake_is_diagnosed(case: str, graded: dict[str, SubmissionResult]) -> None:
    mistake = MISTAKES[case]
    assert_diagnosed(graded[case], mistake.cells, mistake.failing, {mistake.failing[0]: mistake.message})
