"""What the learner's program says, read from the submitted cells in the grading process.

Structural rules (who commits, what a route function builds) are questions about the code the learner
wrote, not about objects in the learner's process: there, a patched helper or a function that looks at its
caller's frame answers whatever the check hopes to hear. ``Program`` parses each cell with IPython's cell
transforms (magics, top-level ``await``) and reads it with :mod:`ast`, running none of it. Later cells
replace what earlier ones defined, as running them top to bottom would: a function defined twice is its
last definition, and ``router = APIRouter()`` starts that router's routes afresh.

A cell that does not parse adds nothing; the checks that run the code report its error.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from IPython.core.inputtransformer2 import TransformerManager

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


@dataclass(frozen=True)
class Route:
    """A route function registered on a router, as the source declares it."""

    methods: tuple[str, ...]
    path: str
    function: str
    # ``dependencies=[Depends(x)]`` on the route's decorator or its router: run for the route, unseen in its
    # parameters.
    dependencies: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{'/'.join(self.methods)} {self.path}"


@dataclass
class Program:
    """The functions, module-level assignments and routes of a program made of notebook cells."""

    functions: dict[str, FunctionNode] = field(default_factory=dict)
    assignments: dict[str, ast.expr] = field(default_factory=dict)
    routers: dict[str, dict[tuple[tuple[str, ...], str], Route]] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    router_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    classes: dict[str, dict[str, FunctionNode]] = field(default_factory=dict)  # class -> its methods by name
    unparsed: int = 0

    @classmethod
    def from_cells(cls, sources: Iterable[str]) -> Program:
        program = cls()
        transformer = TransformerManager()
        for source in sources:
            try:
                tree = ast.parse(transformer.transform_cell(source))
            except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting is a SyntaxError to us
                program.unparsed += 1
                continue
            for statement in tree.body:
                program._add(statement)
        return program

    def _add(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            self.functions[statement.name] = statement
            for decorator in statement.decorator_list:
                self._add_route(decorator, statement.name)
        elif isinstance(statement, ast.ClassDef):
            self.classes[statement.name] = {}
            for member in statement.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.classes[statement.name][member.name] = member
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    self.assignments[target.id] = statement.value
                    if _called_name(statement.value) == "APIRouter":
                        self.routers[target.id] = {}
                        self.prefixes[target.id] = _prefix(statement.value)
                        self.router_dependencies[target.id] = self._listed_dependencies(statement.value)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            self._add_api_route(statement.value)

    def _add_route(self, decorator: ast.expr, function: str) -> None:
        """``@router.post("/orders")`` or ``@router.api_route("/x", methods=["GET"])``."""
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            return
        owner, verb = decorator.func.value, decorator.func.attr
        if not isinstance(owner, ast.Name):
            return
        if verb in HTTP_METHODS:
            methods: tuple[str, ...] = (verb.upper(),)
        elif verb == "api_route":
            methods = _methods(decorator)
        else:
            return
        self._register(owner.id, methods, _path(decorator), function, self._listed_dependencies(decorator))

    def _listed_dependencies(self, call: ast.expr) -> tuple[str, ...]:
        listed = _keyword(call, "dependencies") if isinstance(call, ast.Call) else None
        return tuple(self._depends_in([listed])) if listed is not None else ()

    def _add_api_route(self, call: ast.Call) -> None:
        """``router.add_api_route("/orders", post_order, methods=["POST"])``."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "add_api_route" and isinstance(func.value, ast.Name)):
            return
        endpoint = call.args[1] if len(call.args) > 1 else _keyword(call, "endpoint")
        if isinstance(endpoint, ast.Name):
            self._register(func.value.id, _methods(call), _path(call), endpoint.id, self._listed_dependencies(call))

    def _register(
        self, router: str, methods: tuple[str, ...], path: str | None, function: str, dependencies: tuple[str, ...]
    ) -> None:
        if path is not None:
            path = self.prefixes.get(router, "") + path
            listed = self.router_dependencies.get(router, ()) + dependencies
            self.routers.setdefault(router, {})[(methods, path)] = Route(methods, path, function, listed)

    def routes(self, router: str = "router") -> list[Route]:
        return list(self.routers.get(router, {}).values())

    def route_dependencies(self, route: Route) -> list[str]:
        """Every learner function a route depends on: through its parameters, and listed with
        ``dependencies=[...]`` on its decorator or router; and theirs, in turn."""
        found = self.dependencies(route.function)
        for name in route.dependencies:
            for each in [name, *self.dependencies(name)]:
                if each not in found:
                    found.append(each)
        return found

    def dependencies(self, function: str) -> list[str]:
        """The learner functions a function depends on through ``Depends(...)`` in its parameters (directly,
        in ``Annotated[...]`` or through a module-level alias such as ``UowDep``), and theirs, in turn."""
        found: list[str] = []
        pending = [function]
        while pending:
            node = self.functions.get(pending.pop())
            if node is None:
                continue
            for name in self._depends_in(_parameters(node)):
                if name not in found and name != function:
                    found.append(name)
                    pending.append(name)
        return found

    def _depends_in(self, expressions: Iterable[ast.expr], seen: frozenset[str] = frozenset()) -> Iterator[str]:
        for expression in expressions:
            for node in ast.walk(expression):
                if isinstance(node, ast.Call) and _called_name(node) == "Depends" and node.args:
                    target = node.args[0]
                    if isinstance(target, ast.Name):
                        yield target.id
                elif isinstance(node, ast.Name) and node.id in self.assignments and node.id not in seen:
                    yield from self._depends_in([self.assignments[node.id]], seen | {node.id})

    def names(self, function: str, *, follow: bool = False, skip: Collection[str] = ()) -> set[str]:
        """Every name and attribute a function's body refers to, nested functions and lambdas included: what
        it calls, raises or builds. With ``follow``, the same of the learner functions it calls, in turn,
        except those in ``skip`` (the services a route is meant to call)."""
        found: set[str] = set()
        if function in self.functions:
            pending: list[FunctionNode] = [self.functions[function]]
        else:  # a class used as a dependency (``Depends(Checker)``): what calling it runs
            pending = [
                node for name, node in self.classes.get(function, {}).items() if name in ("__init__", "__call__")
            ]
        visited: set[int] = set()
        while pending:
            node = pending.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            for child in _body_nodes(node):
                if isinstance(child, ast.Name):
                    found.add(child.id)
                elif isinstance(child, ast.Attribute):
                    found.add(child.attr)
                if not follow:
                    continue
                if isinstance(child, ast.Call):
                    pending.extend(self._callees(child, skip))
                elif isinstance(child, ast.With | ast.AsyncWith):
                    # ``async with x:`` runs x's __aenter__ and __aexit__, whichever class x is
                    for method in ("__enter__", "__exit__", "__aenter__", "__aexit__"):
                        pending.extend(self._methods_named(method))
        return found

    def _callees(self, call: ast.Call, skip: Collection[str]) -> list[FunctionNode]:
        """The learner's functions a call may run: ``f(...)`` a function, ``C(...)`` a class's __init__,
        ``x.f(...)`` any class's method ``f``."""
        name = _called_name(call)
        if name is None or name in skip:
            return []
        if isinstance(call.func, ast.Name):
            if name in self.classes:
                return [self.classes[name][m] for m in ("__init__", "__call__") if m in self.classes[name]]
            return [self.functions[name]] if name in self.functions else []
        return self._methods_named(name)

    def _methods_named(self, name: str) -> list[FunctionNode]:
        """Every class's method ``name``: ``x.finish()`` may be any class's ``finish``, so a call follows each."""
        return [methods[name] for methods in self.classes.values() if name in methods]


def _body_nodes(node: FunctionNode) -> Iterator[ast.AST]:
    for statement in node.body:
        yield from ast.walk(statement)


def _parameters(node: FunctionNode) -> list[ast.expr]:
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    annotations = [argument.annotation for argument in every if argument.annotation is not None]
    defaults = [default for default in [*arguments.defaults, *arguments.kw_defaults] if default is not None]
    return [*annotations, *defaults]


def _called_name(node: ast.expr) -> str | None:
    """``f(...)`` and ``module.f(...)``: ``f``."""
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _path(call: ast.Call) -> str | None:
    path = call.args[0] if call.args else _keyword(call, "path")
    return path.value if isinstance(path, ast.Constant) and isinstance(path.value, str) else None


def _prefix(call: ast.expr) -> str:
    prefix = _keyword(call, "prefix") if isinstance(call, ast.Call) else None
    return prefix.value if isinstance(prefix, ast.Constant) and isinstance(prefix.value, str) else ""


def _methods(call: ast.Call) -> tuple[str, ...]:
    listed = _keyword(call, "methods")
    if not isinstance(listed, ast.List | ast.Tuple | ast.Set):
        return ("GET",)  # FastAPI's default for api_route and add_api_route
    methods = {
        item.value.upper() for item in listed.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }
    return tuple(sorted(methods))
