"""Red team: a chapter 03 design that commits in the route, and hides it from the checks.

The rule "no route and no dependency commits" used to be read in the learner's process, from the code
objects of the route functions: a helper that commits, or a patched inspector, hid the commit. A service
that looks at its caller's frame can behave as the exercise asks only when a probe calls it, and leave the
commit to the route otherwise. The rule is now read from the submitted cells in the grading process, and
a probe's frame looks like a cell's: none of these earns a point over the plain "commit in the route".
"""

from __future__ import annotations

import pytest
from support import failed_outputs, graded_mistakes
from test_ch03_mistakes import COMMIT_IN_ROUTE, SERVICE_WITHOUT_COMMIT

from grader.models import SubmissionResult

CHAPTER = "03-unit-of-work"
RULE = "test_no_commit_in_routes_or_dependencies"

# The route's commit moved into a helper: the route function's own code never names `commit`.
COMMIT_IN_HELPER = (
    COMMIT_IN_ROUTE.replace("            await uow.commit()\n", "            await settle(uow)\n")
    + """

async def settle(uow: UnitOfWork) -> None:
    await uow.commit()
"""
)

# The commit in the route as it is, and the grader's inspector, as imported in the learner's process, blinded.
INSPECTOR_PATCHED = (
    COMMIT_IN_ROUTE
    + """
import grader.checks.bookshop

grader.checks.bookshop.code_names = lambda code: set()
"""
)

# A service that does what the exercise asks when its caller's frame is a probe's, and otherwise leaves
# the transaction to the route (which commits through a helper).
SNIFFING_SERVICE = (
    SERVICE_WITHOUT_COMMIT.replace("async def place_order(", "async def _place_order(")
    + """

import sys


def _called_by_a_check() -> bool:
    caller = sys._getframe(2).f_code
    return caller.co_filename.startswith("<probe") or caller.co_name.endswith("probe")


async def place_order(uow: UnitOfWork, customer_id: int, lines: list[tuple[int, int]]) -> Order:
    if not _called_by_a_check():
        return await _place_order(uow, customer_id, lines)
    async with uow:
        order = await _place_order(uow, customer_id, lines)
        await uow.commit()
        return order
"""
)

PLAIN = "commit in the route"
CASES = {
    PLAIN: {"ex3-solution": SERVICE_WITHOUT_COMMIT, "ex4-solution": COMMIT_IN_ROUTE},
    "commit in a helper the route calls": {"ex3-solution": SERVICE_WITHOUT_COMMIT, "ex4-solution": COMMIT_IN_HELPER},
    "commit in the route, inspector patched": {
        "ex3-solution": SERVICE_WITHOUT_COMMIT,
        "ex4-solution": INSPECTOR_PATCHED,
    },
    "service that commits only for a probe": {"ex3-solution": SNIFFING_SERVICE, "ex4-solution": COMMIT_IN_HELPER},
}
FORGED = [case for case in CASES if case != PLAIN]


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_a_commit_in_the_route_fails_the_rule_whatever_hides_it(graded: dict[str, SubmissionResult], case: str) -> None:
    failed = failed_outputs(graded[case])
    assert RULE in failed, sorted(failed)
    assert "of POST /orders calls `.commit()`" in failed[RULE]


@pytest.mark.parametrize("case", FORGED)
def test_hiding_it_earns_nothing(graded: dict[str, SubmissionResult], case: str) -> None:
    forged, plain = graded[case], graded[PLAIN]
    assert forged.score <= plain.score, (forged.score, plain.score, sorted(failed_outputs(forged)))
    assert "test_place_order" in failed_outputs(forged)
