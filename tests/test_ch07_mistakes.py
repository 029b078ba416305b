"""Chapter 07's checks diagnose the mistakes they were written for.

Each case takes the solution notebook, replaces one solution cell with code that makes exactly one
known mistake, grades it like a real submission (sandboxed learner process, visible and hidden
tests) and asserts that precisely the expected checks fail, the first of them with a message that
names the mistake (and, where a case says so, other failing checks with their own messages), and
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
    graded_mistakes,
)

from grader.models import SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "07-response-models"


@dataclass(frozen=True)
class Mistake:
    cell: str  # grade_id of the solution cell that is replaced
    source: str  # the mistaken code
    failing: tuple[str, ...]  # every check that must fail; the first must explain the mistake
    message: tuple[str, ...]  # fragments the first failing check's output must contain
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other failing checks: fragments of their output


INPUTS = """
EMAIL_PATTERN = r"^[^@\\s]+@[^@\\s]+$"


class InputModel(BaseModel):
    {config}


class CustomerIn(InputModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=8, max_length=128)


class CustomerUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=EMAIL_PATTERN)


class OrderLineIn(InputModel):
    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(InputModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
"""

# The learner "opened up" the input models: unknown fields are kept, and update_customer stores them.
EXTRA_ALLOW = INPUTS.replace("{config}", 'model_config = ConfigDict(extra="allow")')
# The learner left pydantic's default: unknown fields are dropped without a word.
EXTRA_IGNORE = INPUTS.replace("{config}", "pass")

OUTPUTS = """
class CustomerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class CustomerOut(CustomerPublic):
    email: str
{customer_out_extra}

class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    book_id: int
    quantity: int
{line_extra}

class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    lines: list[OrderLineOut]
"""

# "The row has it anyway": CustomerOut declares the hash, from_attributes reads it.
HASH_IN_CUSTOMER_OUT = OUTPUTS.format(customer_out_extra="    hashed_password: str\n", line_extra="")
# A harmless-looking extra key: the order line's own id.
EXTRA_KEY_IN_LINE = OUTPUTS.format(customer_out_extra="", line_extra="    id: int\n")

# A problem, but with FastAPI's own errors in it: every error keeps its `input` (and `ctx`).
DEFAULT_422 = """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = jsonable_encoder(exc.errors())
    return problem_response(
        422, f"{len(errors)} errors", type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors
    )
"""

CUSTOMER_ROUTES = """
router = APIRouter()


@router.post("/customers", status_code=201)
async def register(body: CustomerIn, uow: UowDep) -> CustomerOut:
    {register}
    return CustomerOut.model_validate(customer)


@router.get("/customers/me")
async def read_me(customer: CurrentCustomer) -> CustomerOut:
    {read_me}


@router.patch("/customers/me"{patch_decorator})
async def update_me(body: CustomerUpdate, customer: CurrentCustomer, uow: UowDep){patch_annotation}:
    updated = await update_customer(uow, customer.id, body.model_dump({dump}))
    {patch_return}
"""
CORRECT_ROUTES = {
    "register": "customer = await register_customer(uow, body.name, body.email, body.password)",
    "read_me": "return CustomerOut.model_validate(customer)",
    "patch_decorator": "",
    "patch_annotation": " -> CustomerOut",
    "dump": "exclude_none=True",
    "patch_return": "return CustomerOut.model_validate(updated)",
}
# The right data, sent as a JSONResponse "to control the answer": the response model is bypassed.
RAW_JSON_RESPONSE = CUSTOMER_ROUTES.format(
    **CORRECT_ROUTES
    | {"read_me": "return JSONResponse(CustomerOut.model_validate(customer).model_dump(), status_code=200)"}
)
# The row's columns as a dict, declared `-> dict`: everything goes out.
DICT_OF_ROW = CUSTOMER_ROUTES.format(
    **CORRECT_ROUTES
    | {
        "patch_annotation": " -> dict",
        "patch_return": "return {column.name: getattr(updated, column.name) for column in Customer.__table__.columns}",
    }
)
# The route catches EmailTaken to write its own 409, which repeats the email that was sent.
ECHOING_409 = CUSTOMER_ROUTES.format(
    **CORRECT_ROUTES
    | {
        "register": "try:\n"
        "        customer = await register_customer(uow, body.name, body.email, body.password)\n"
        "    except EmailTaken:\n"
        '        raise HTTPException(status_code=409, detail=f"{body.email} is already registered") from None'
    }
)
# Every field of CustomerUpdate, None included, reaches update_customer.
PATCH_WITHOUT_EXCLUDE = CUSTOMER_ROUTES.format(**CORRECT_ROUTES | {"dump": ""})

DIRECTORY_AND_ORDERS = """
@router.get("/customers")
async def read_customers(caller: CurrentCustomer, session: SessionDep, page: PageDep) -> list[{listing}]:
    customers = await list_customers(session, limit=page.limit, offset=page.offset)
    return [{listing}.model_validate(customer) for customer in customers]


@router.get("/customers/{{customer_id}}"{profile_decorator})
async def read_customer(customer_id: int, caller: CurrentCustomer, session: SessionDep){profile_annotation}:
    customer = await get_customer(session, customer_id)
    return {profile_return}


@router.post("/orders", status_code=201)
async def post_order(body: OrderIn, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    order = await place_order(uow, customer.id, [(line.book_id, line.quantity) for line in body.lines])
    return OrderOut.model_validate(order)


@router.get("/orders")
async def read_orders(customer: CurrentCustomer, uow: UowDep) -> list[OrderOut]:
    return [OrderOut.model_validate(order) for order in await list_orders(uow, customer.id)]


@router.get("/orders/{{order_id}}")
async def read_order(order_id: int, customer: CurrentCustomer, uow: UowDep) -> OrderOut:
    return OrderOut.model_validate(await get_order(uow, customer.id, order_id))
"""
CORRECT_DIRECTORY = {
    "listing": "CustomerPublic",
    "profile_decorator": "",
    "profile_annotation": " -> CustomerPublic",
    "profile_return": "CustomerPublic.model_validate(customer)",
}
# The directory reuses CustomerOut, "it is the customer schema": every customer's email is on the page.
DIRECTORY_OF_EMAILS = DIRECTORY_AND_ORDERS.format(**CORRECT_DIRECTORY | {"listing": "CustomerOut"})
# `-> Customer` was refused by FastAPI, so response_model=None, and the row goes out whole.
PROFILE_WITHOUT_MODEL = DIRECTORY_AND_ORDERS.format(
    **CORRECT_DIRECTORY
    | {"profile_decorator": ", response_model=None", "profile_annotation": "", "profile_return": "customer"}
)

# "To be safe", CustomerUpdate declares is_admin with a harmless default: a declared field is an accepted one.
ADMIN_IN_UPDATE = INPUTS.replace("{config}", 'model_config = ConfigDict(extra="forbid")').replace(
    "    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=EMAIL_PATTERN)\n",
    "    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=EMAIL_PATTERN)\n"
    "    is_admin: bool = False\n",
)
# The output schemas "pass everything through": a dict's unknown keys (a hash, is_admin) are kept and dumped.
OUTPUTS_ALLOW_EXTRA = OUTPUTS.format(customer_out_extra="", line_extra="").replace(
    "model_config = ConfigDict(from_attributes=True)", 'model_config = ConfigDict(from_attributes=True, extra="allow")'
)
# The 422 problem's detail is a fixed sentence: the client is not told how many errors there are.
FIXED_422_DETAIL = """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    return problem_response(
        422, "The request is not valid.", type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors
    )
"""
# find_leaks walks only the values: a dict key that is an email is never reported.
LEAKS_WITHOUT_KEYS = """
def find_leaks(value: Any, forbidden: Iterable[str]) -> list[str]:
    needles = [secret.casefold() for secret in forbidden if secret]
    found: list[str] = []

    def walk(item: Any, path: str) -> None:
        if isinstance(item, dict):
            for key, child in item.items():
                walk(child, f"{path}.{key}")
        elif isinstance(item, list):
            for index, child in enumerate(item):
                walk(child, f"{path}[{index}]")
        elif isinstance(item, str):
            text = item.casefold()
            if any(needle in text for needle in needles) or "$argon2" in item or "$2b$" in item:
                found.append(path)

    walk(value, "$")
    return found
"""

INPUT_CHECKS = (
    "test_inputs_refuse_unknown_fields",
    "test_no_input_declares_privileged_fields",
    "test_register_refuses_is_admin",
    "test_patch_me_refuses_is_admin",
    "test_patch_me_refuses_privileged_fields",
    "test_order_body_refuses_other_fields",
    "test_post_orders_refuses_a_customer_id",
)

MISTAKES = {
    "the password hash declared in CustomerOut": Mistake(
        "ex2-solution",
        HASH_IN_CUSTOMER_OUT,
        (
            "test_output_schemas_declare_exactly_their_fields",
            "test_output_schemas_dump_no_extra_keys",
            "test_output_schemas_serialise_nothing_else",
            "test_register_and_me_answer_customer_out",
            "test_patch_me_changes_only_what_was_sent",
            "test_no_answer_leaks_secrets",
        ),
        ("`CustomerOut` declares ['hashed_password']", "never the hash"),
        {
            "test_register_and_me_answer_customer_out": ("extra ['hashed_password']", "sends the Customer row"),
            "test_no_answer_leaks_secrets": (
                "POST /customers (Ada)",
                "an argon2 password hash",
                "A password hash left",
            ),
        },
    ),
    "an extra key in a schema (the order line's id)": Mistake(
        "ex2-solution",
        EXTRA_KEY_IN_LINE,
        (
            "test_output_schemas_declare_exactly_their_fields",
            "test_output_schemas_dump_no_extra_keys",
            "test_output_schemas_serialise_nothing_else",
            "test_order_routes_answer_order_out",
        ),
        ("`OrderLineOut` declares ['book_id', 'id', 'quantity']; extra ['id']",),
        {"test_order_routes_answer_order_out": ("A line of POST /orders answered the keys", "extra ['id']")},
    ),
    "extra='allow' on the input models: is_admin mass-assigned": Mistake(
        "ex1-solution",
        EXTRA_ALLOW,
        INPUT_CHECKS,
        ("`CustomerIn` accepted", "kept `is_admin` (extra='allow')", "extra='forbid'"),
        {
            "test_patch_me_refuses_is_admin": ("answered 200 and made Ada an admin: mass assignment",),
            "test_patch_me_refuses_privileged_fields": ("answered 200", "mass assignment, Ada is now an admin"),
            "test_register_refuses_is_admin": ("answered 201: the field was silently dropped",),
            "test_order_body_refuses_other_fields": ("POST /orders with", "answered 201", "expected 422"),
        },
    ),
    "extra left at 'ignore' on the input models": Mistake(
        "ex1-solution",
        EXTRA_IGNORE,
        INPUT_CHECKS,
        ("`CustomerIn` accepted", "`is_admin` was silently dropped (extra='ignore'"),
        {
            "test_patch_me_refuses_is_admin": ("answered 200: is_admin was dropped instead of refused",),
            "test_patch_me_refuses_privileged_fields": ("answered 200: the field was silently dropped",),
        },
    ),
    "FastAPI's default 422 (input echoed)": Mistake(
        "ex3-solution",
        DEFAULT_422,
        (
            "test_422_does_not_repeat_the_password",
            "test_422_lists_where_and_why",
            "test_422_repeats_no_input",
            "test_no_answer_leaks_secrets",
        ),
        ("The 422 answer to a short password leaked", "the password that was sent", "repeats the `input`"),
        {
            "test_422_lists_where_and_why": ("A 422 entry has the keys ['ctx', 'input', 'loc', 'msg', 'type']",),
            "test_no_answer_leaks_secrets": ("POST /customers (short password) (422, as nobody) leaked",),
        },
    ),
    "a route that returns a JSONResponse it built": Mistake(
        "ex4-solution",
        RAW_JSON_RESPONSE,
        ("test_customer_routes_declare_response_models",),
        ("GET /customers/me (read_me) builds a JSONResponse itself", "filters nothing"),
    ),
    "the row's columns as a dict (-> dict)": Mistake(
        "ex4-solution",
        DICT_OF_ROW,
        (
            "test_patch_me_changes_only_what_was_sent",
            "test_customer_routes_declare_response_models",
            "test_no_answer_leaks_secrets",
        ),
        ("PATCH /customers/me answered the keys", "extra ['hashed_password', 'is_admin']", "`response_model=None`"),
        {
            "test_customer_routes_declare_response_models": (
                "PATCH /customers/me (update_me) declares dict as its response model",
            ),
            "test_no_answer_leaks_secrets": ("PATCH /customers/me (200, as Ada) leaked", "a field named"),
        },
    ),
    "a 409 that repeats the email": Mistake(
        "ex4-solution",
        ECHOING_409,
        (
            "test_taken_email_is_a_409_that_repeats_nothing",
            "test_email_taken_repeats_nothing",
            "test_no_answer_leaks_secrets",
        ),
        ("The 409 answer to a registration with a taken email leaked", "the email that was sent (Hedy's)"),
        {"test_no_answer_leaks_secrets": ("POST /customers (taken email) (409, as nobody) leaked", "Grace's email")},
    ),
    "PATCH without exclude_none (None written to the row)": Mistake(
        "ex4-solution",
        PATCH_WITHOUT_EXCLUDE,
        ("test_patch_me_changes_only_what_was_sent", "test_no_answer_leaks_secrets"),
        ("PATCH /customers/me with a new name crashed (500)", "NOT NULL", "exclude_none=True"),
        {"test_no_answer_leaks_secrets": ("crashed", "PATCH /customers/me (500)")},
    ),
    "the customer directory as CustomerOut (everyone's email)": Mistake(
        "ex5-solution",
        DIRECTORY_OF_EMAILS,
        ("test_directory_shows_names_only", "test_no_answer_leaks_secrets"),
        ("GET /customers (as Ada) leaked", "body $[1].email: Grace's email", "CustomerPublic"),
        {"test_no_answer_leaks_secrets": ("GET /customers (200, as Ada) leaked", "Hedy's email")},
    ),
    "the ORM object with response_model=None": Mistake(
        "ex5-solution",
        PROFILE_WITHOUT_MODEL,
        (
            "test_directory_shows_names_only",
            "test_every_route_declares_a_response_model",
            "test_no_answer_leaks_secrets",
        ),
        ("GET /customers/2 (as Ada) leaked", "Grace's email", "Grace's password hash"),
        {
            "test_every_route_declares_a_response_model": (
                "GET /customers/{customer_id} (read_customer) declares no response model",
            ),
        },
    ),
    "is_admin declared in CustomerUpdate": Mistake(
        "ex1-solution",
        ADMIN_IN_UPDATE,
        (
            "test_no_input_declares_privileged_fields",
            "test_inputs_refuse_unknown_fields",
            "test_inputs_accept_valid_bodies",
            "test_patch_me_refuses_is_admin",
            "test_patch_me_refuses_privileged_fields",
        ),
        ("`CustomerUpdate` declares ['is_admin']", "a declared field is an accepted field"),
    ),
    "extra='allow' on the output schemas": Mistake(
        "ex2-solution",
        OUTPUTS_ALLOW_EXTRA,
        ("test_output_schemas_dump_no_extra_keys", "test_output_schemas_serialise_nothing_else"),
        ("`CustomerPublic` validated from a dict of Noor's with more keys dumps the keys", "extra='allow'"),
    ),
    "a 422 detail that does not count the errors": Mistake(
        "ex3-solution",
        FIXED_422_DETAIL,
        ("test_422_detail_counts_the_errors",),
        ("answered the detail 'The request is not valid.' with 3 error entries", "gives the number of errors"),
    ),
    "find_leaks that never looks at keys": Mistake(
        "ex6-solution",
        LEAKS_WITHOUT_KEYS,
        ("test_find_leaks_reports_keys_once_and_never_scalars", "test_find_leaks_walks_everything"),
        ("`find_leaks` on a key that leaks returned [], expected ['$.hedy@example.com']", "test each key"),
    ),
}


# Correct answers written differently from the solution: none of the checks may fail them.
VARIANTS = {
    "ex1-solution": """
class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class CustomerIn(InputModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\\s]+@[^@\\s]+$")
    password: str = Field(min_length=8, max_length=128)


class CustomerUpdate(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\\s]+@[^@\\s]+$")] | None = None


class OrderLineIn(InputModel):
    book_id: int
    quantity: int = Field(ge=1, le=100)


class OrderIn(InputModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
""",
    "ex2-solution": """
class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CustomerPublic(Schema):
    id: int
    name: str


class CustomerOut(Schema):
    id: int
    name: str
    email: str


class OrderLineOut(Schema):
    book_id: int
    quantity: int


class OrderOut(Schema):
    id: int
    customer_id: int
    lines: list[OrderLineOut] = []
""",
    "ex3-solution": """
async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    keep = ("loc", "msg", "type")
    errors = [{key: list(error[key]) if key == "loc" else error[key] for key in keep} for error in exc.errors()]
    return problem_response(
        422, f"{len(errors)} errors", type=f"{PROBLEMS}/invalid-request", title="Invalid request", errors=errors
    )
""",
    "ex4-solution": """
router = APIRouter(tags=["customers"])


@router.post("/customers", status_code=201, response_model=CustomerOut)
async def register(body: CustomerIn, uow: UowDep):
    return await register_customer(uow, **body.model_dump())


@router.get("/customers/me", response_model=CustomerOut)
async def read_me(customer: CurrentCustomer):
    return customer


@router.patch("/customers/me", response_model=CustomerOut)
async def update_me(body: CustomerUpdate, customer: CurrentCustomer, uow: UowDep):
    changes = {key: value for key, value in body.model_dump(exclude_unset=True).items() if value is not None}
    return await update_customer(uow, customer.id, changes)
""",
    "ex5-solution": DIRECTORY_AND_ORDERS.format(**CORRECT_DIRECTORY),
    "ex6-solution": """
def find_leaks(value: Any, forbidden: Iterable[str]) -> list[str]:
    needles = [secret.casefold() for secret in forbidden if secret]

    def bad(text: str) -> bool:
        return "$argon2" in text or "$2b$" in text or any(needle in text.casefold() for needle in needles)

    found: list[str] = []
    stack = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                stack.append((f"{path}.{key}", child))
                if bad(str(key)):
                    stack.append((f"{path}.{key}", str(key)))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item))))
        elif isinstance(item, str) and bad(item) and path not in found:
            found.append(path)
    return found
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
