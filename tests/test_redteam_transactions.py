"""Red team: a chapter 03 unit of work that leaves its session open, and hides it from the pool counter.

An ``__aexit__`` that neither rolls back nor closes leaves the transaction of whatever the block flushed
open. The checks read ``engine.pool.checkedout()`` in the learner's process, which the learner can patch;
they also have the grader look from outside (a checkpoint of the database bridge: which connections hold
a transaction open on the test database). So patching the counter must not earn a single point: the
forged cases (and one that points the checkpoint at another file) fail the leak checks and score no
more than the plain leak.
"""

from __future__ import annotations

import pytest
from support import failed_outputs, graded_mistakes
from test_ch03_mistakes import UOW_HEAD

from grader.models import SubmissionResult

CHAPTER = "03-unit-of-work"
CELL = "ex2-solution"
LEAKS = ("test_exception_rolls_back", "test_leaving_without_commit_writes_nothing")

# Leaves the block with the session, and its transaction, open.
LEAKING_EXIT = (
    UOW_HEAD
    + """
    async def __aexit__(self, exc_type, exc, tb) -> None:
        self.session = None  # forgotten, not closed
"""
)

# The same, and every pool says nothing is checked out.
COUNTER_PATCHED = (
    LEAKING_EXIT
    + """

from sqlalchemy.pool import QueuePool

QueuePool.checkedout = lambda self: 0
"""
)

# The same, and the check's checkpoint pointed at another (clean) database of the submission.
CHECKPOINT_REDIRECTED = (
    COUNTER_PATCHED
    + """
import grader.checks.bookshop

_checkpoint = grader.checks.bookshop.checkpoint


async def _elsewhere(database_url):
    await _checkpoint(database_url.replace(".sqlite", "-clean.sqlite"))


grader.checks.bookshop.checkpoint = _elsewhere
"""
)

CASES = {
    "session left open": {CELL: LEAKING_EXIT},
    "session left open, pool counter patched": {CELL: COUNTER_PATCHED},
    "session left open, pool counter patched, checkpoint redirected": {CELL: CHECKPOINT_REDIRECTED},
}
FORGED = [case for case in CASES if case != "session left open"]


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    return graded_mistakes(request, tmp_path_factory, CHAPTER, CASES)


def _failed(result: SubmissionResult) -> set[str]:
    return set(failed_outputs(result))


@pytest.mark.parametrize("case", list(CASES))
def test_a_session_left_open_fails_the_leak_checks(graded: dict[str, SubmissionResult], case: str) -> None:
    assert set(LEAKS) <= _failed(graded[case]), sorted(_failed(graded[case]))


@pytest.mark.parametrize("case", FORGED)
def test_forging_the_leak_observations_earns_nothing(graded: dict[str, SubmissionResult], case: str) -> None:
    forged, plain = graded[case], graded["session left open"]
    # A leaked transaction can also lock a later check out of its database, as the garbage collector
    # happens to run: the forged case fails at least the leak checks and scores no more than the plain one.
    assert set(LEAKS) <= _failed(forged)
    assert forged.score <= plain.score
    outputs = {test.extra_data["nodeid"].rsplit("::", 1)[-1]: test.output for test in forged.tests}
    said = {
        "session left open, pool counter patched": "a transaction was still open on the database",
        "session left open, pool counter patched, checkpoint redirected": "could not look at the database",
    }[case]
    assert said in outputs["test_exception_rolls_back"]
