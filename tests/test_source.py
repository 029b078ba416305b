"""``grader.checks.source.Program``: the learner's cells read as source, for the structural checks."""

from __future__ import annotations

from grader.checks.source import Program, Route

ROUTES = """
from typing import Annotated
from fastapi import APIRouter, Depends

def get_uow(request):
    return UnitOfWork(request.app.state.sessionmaker)

UowDep = Annotated[UnitOfWork, Depends(get_uow)]
router = APIRouter(prefix="/shop")

@router.post("/orders", status_code=201)
async def post_order(body, uow: UowDep):
    order = await place_order(uow, body)
    await settle(uow)
    return order

@router.api_route("/ping", methods=["get", "HEAD"])
async def ping(user=Depends(current_user)):
    return "pong"
"""

HELPERS = """
async def settle(uow):
    await uow.commit()

def current_user(token: str = Depends(read_token)):
    return token

def read_token():
    return "t"
"""


def test_routes_with_their_methods_path_prefix_and_function() -> None:
    program = Program.from_cells([ROUTES, HELPERS])
    assert program.routes() == [
        Route(("POST",), "/shop/orders", "post_order"),
        Route(("GET", "HEAD"), "/shop/ping", "ping"),
    ]
    assert [route.label for route in program.routes()] == ["POST /shop/orders", "GET/HEAD /shop/ping"]


def test_add_api_route_is_a_route_too() -> None:
    program = Program.from_cells(["router = APIRouter()\nasync def f(): ...\nrouter.add_api_route('/f', f)"])
    assert program.routes() == [Route(("GET",), "/f", "f")]


def test_dependencies_through_aliases_defaults_and_their_own_dependencies() -> None:
    program = Program.from_cells([ROUTES, HELPERS])
    assert program.dependencies("post_order") == ["get_uow"]
    assert sorted(program.dependencies("ping")) == ["current_user", "read_token"]


def test_names_follow_helpers_but_not_the_services_skipped() -> None:
    program = Program.from_cells([ROUTES, HELPERS, "async def place_order(uow, body):\n    await uow.commit()"])
    assert "commit" not in program.names("post_order")
    assert "commit" in program.names("post_order", follow=True)
    assert "commit" not in program.names("post_order", follow=True, skip=("place_order", "settle"))


def test_names_follow_a_method_call_into_the_learners_classes() -> None:
    cells = [
        "class Finisher:\n    async def finish(self, uow):\n        await uow.commit()",
        "async def route(uow):\n    await Finisher().finish(uow)",
    ]
    assert "commit" in Program.from_cells(cells).names("route", follow=True)


def test_a_later_cell_replaces_a_function_and_a_new_router_starts_empty() -> None:
    program = Program.from_cells(
        [
            ROUTES,
            "async def post_order(body, uow):\n    return None",
            "router = APIRouter()\n@router.get('/only')\nasync def only(): ...",
        ]
    )
    assert "settle" not in program.names("post_order")
    assert [route.label for route in program.routes()] == ["GET /only"]


def test_magics_and_top_level_await_parse_and_a_broken_cell_adds_nothing() -> None:
    program = Program.from_cells(["%time x = 1\nawait something()", "def broken(:\n", "def fine():\n    pass"])
    assert program.unparsed == 1
    assert set(program.functions) == {"fine"}


def test_nothing_runs_while_reading() -> None:
    program = Program.from_cells(["raise SystemExit('ran')\ndef f():\n    open('/etc/passwd')"])
    assert "open" in program.names("f")


def test_dependencies_listed_on_the_decorator_or_router_and_classes_are_followed() -> None:
    cells = [
        "class Committer:\n    async def __call__(self, uow):\n        await uow.commit()",
        "async def audit(uow):\n    yield\n    await uow.commit()",
        "router = APIRouter(dependencies=[Depends(audit)])\n"
        "@router.post('/orders', dependencies=[Depends(Committer)])\nasync def post_order(): ...",
    ]
    program = Program.from_cells(cells)
    (route,) = program.routes()
    assert program.route_dependencies(route) == ["audit", "Committer"]
    assert all("commit" in program.names(name, follow=True) for name in program.route_dependencies(route))


def test_async_with_follows_the_context_managers_methods() -> None:
    cells = [
        "class Tx:\n    async def __aexit__(self, *exc):\n        await self.session.commit()",
        "async def route(tx):\n    async with tx:\n        pass",
    ]
    assert "commit" in Program.from_cells(cells).names("route", follow=True)


def test_a_cell_nested_too_deeply_to_parse_is_unparsed_not_a_crash() -> None:
    program = Program.from_cells(["x = " + "(" * 100_000 + ")" * 100_000, "1" + "+1" * 200_000])
    assert program.unparsed == 2
