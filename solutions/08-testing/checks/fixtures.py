"""Chapter 08 fixtures: the learner's tests, run against the reference bookshop and its mutants.

The learner's tests are learner code, so they run in the learner's process: a probe there runs them
(``grader.checks.suite.run_variant``) against ``reference_app.py`` as given, or with one mutant's
text replacements applied, and returns one plain result per test. Every verdict is computed here.

- Each test's result on the reference app is asked for once per grading and kept (``suite_cache``):
  the check of every exercise and every mutant needs it.
- A probe request is cut off by the sandbox after 10 s, so the runner stops starting tests after a
  few seconds and the rest are asked for in another request.
- A mutant is caught when every written test passes on the reference app and at least one fails on
  the mutant. A test that raises ``NotImplementedError`` is an exercise not written yet: it is left
  out (and named when that is why a check fails).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest

from grader.checks import CheckFailure, expect
from grader.sandbox.process import LearnerDied

REFERENCE_APP = Path(__file__).with_name("reference_app.py")
SHOWN_FAILURES = 5


class Mutant(NamedTuple):
    """The reference app with one seeded bug: ``patch`` is a list of ``[old, new]`` text replacements.
    (No dataclasses here: this module is loaded without an entry in ``sys.modules``.)"""

    bug: str  # what the bug does, as the learner may read it
    patch: list[list[str]]
    hint: str  # what kind of test catches it
    prefer: tuple[str, ...] = ()  # test name prefixes run first (most likely to catch it)
    answer: str = ""  # the hint's key line: the assertion that catches it


# A practice mutant every exercise's tests must catch: an app that answers anything with 200 and {}.
BLANK_APP = Mutant(
    "every request answered with 200 and an empty JSON object",
    [
        [
            "    app.include_router(router)\n    return app\n",
            "    app.include_router(router)\n\n"
            '    @app.middleware("http")\n'
            "    async def answer_nothing(request, call_next):\n"
            "        return JSONResponse({})\n\n"
            "    return app\n",
        ]
    ],
    "Assert the exact status code and the body of each answer.",
)


# -- probes (they run in the learner's process) ----------------------------------------------------


async def learner_test_names(ns):
    """Probe: the names of the learner's tests, in the order they were defined."""
    from grader.checks.suite import list_tests

    return list_tests(ns)


async def learner_tests_on(ns, source, patch, names, prefer, first_failure):
    """Probe: the learner's tests ``names`` against the app ``source`` with ``patch`` applied."""
    from grader.checks.suite import run_variant

    return await run_variant(ns, source=source, patch=patch, names=names, prefer=prefer, first_failure=first_failure)


# -- the grader's side -----------------------------------------------------------------------------


class Cache:
    """What is known for one grading: the test names, and each test's result on the reference app."""

    def __init__(self) -> None:
        self.names: list[str] | None = None
        self.reference: dict[str, dict[str, Any]] = {}


def describe(results: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{r['name']} ({r['reason']})" for r in results[:SHOWN_FAILURES])
    more = len(results) - SHOWN_FAILURES
    return shown + (f"; and {more} more" if more > 0 else "")


class Suite:
    """The learner's test suite as the checks see it: names, results on the reference app and on mutants."""

    def __init__(self, learner: Any, cache: Cache) -> None:
        self.learner = learner
        self.cache = cache
        self.source = REFERENCE_APP.read_text(encoding="utf-8")

    async def names(self) -> list[str]:
        if self.cache.names is None:
            observed = await self.learner.probe(learner_test_names)
            expect(observed.ok, f"Your tests could not be listed: {observed.describe_error()}.")
            self.cache.names = list(observed.value)
        return self.cache.names

    async def _run(
        self, patch: list[list[str]] | None, names: list[str], prefer: tuple[str, ...] = (), first_failure: bool = False
    ) -> list[dict[str, Any]]:
        """Results for ``names`` on one app variant, in as many requests as the time limits need."""
        results: dict[str, dict[str, Any]] = {}
        pending = list(names)
        while pending:
            try:
                observed = await self.learner.probe(
                    learner_tests_on,
                    source=self.source,
                    patch=patch,
                    names=pending,
                    prefer=list(prefer),
                    first_failure=first_failure,
                )
            except LearnerDied as exc:
                # A test that blocks the process past the request limit: every test still pending fails
                # with that reason, once; they are not run again.
                reason = f"stopped the process your code runs in: {exc}"
                return [*results.values(), *({"name": n, "outcome": "failed", "reason": reason} for n in pending)]
            expect(observed.ok, f"Your tests could not be run: {observed.describe_error()}.")
            answer = observed.value
            if answer.get("error"):
                raise CheckFailure(
                    f"The bookshop could not be prepared for your tests: {answer['error']}.",
                    "This is a problem of the course, not of your tests: tell your instructor.",
                )
            for result in answer["tests"]:
                if result["outcome"] != "not_run":
                    results[result["name"]] = result
            pending = [name for name in pending if name not in results]
            if first_failure and any(r["outcome"] == "failed" for r in results.values()):
                break
            if not results and pending:
                break
        return list(results.values())

    async def on_reference(self, names: list[str]) -> list[dict[str, Any]]:
        missing = [name for name in names if name not in self.cache.reference]
        if missing:
            for result in await self._run(None, missing):
                self.cache.reference[result["name"]] = result
        return [self.cache.reference[name] for name in names if name in self.cache.reference]

    async def expect_passing(self, prefixes: tuple[str, ...] = (), minimum: int = 1) -> list[str]:
        """The written tests (all, or those named with ``prefixes``), which must all pass on the
        reference app; returns their names."""
        names = [name for name in await self.names() if not prefixes or name.startswith(prefixes)]
        which = f"named {' or '.join(p + '...' for p in prefixes)}" if prefixes else "(functions named test_...)"
        expect(
            names,
            f"No tests {which} were found.",
            "Run the exercise's cell; a test is an `async def` whose name starts with the prefix the contract gives.",
        )
        results = await self.on_reference(names)
        unwritten = [r["name"] for r in results if r["outcome"] == "not_written"]
        written = [r for r in results if r["outcome"] not in ("not_written", "skipped")]
        expect(
            written,
            f"Your tests {which} are not written yet: {', '.join(unwritten)} raise NotImplementedError.",
            "Replace `raise NotImplementedError()` with the test's requests and assertions.",
        )
        failing = [r for r in written if r["outcome"] != "passed"]
        expect(
            not failing,
            f"{len(failing)} of your tests fail on the reference bookshop, which has none of the seeded bugs: "
            f"{describe(failing)}. A test must pass on a correct app before it can catch a bug.",
            "Run `await run_my_tests()`: a test that fails on the bookshop as given expects something the "
            "bookshop does not promise (compare with the contract: status codes, the exact body), or depends "
            "on data another test made.",
        )
        expect(
            len(written) >= minimum,
            f"Found {len(written)} written test(s) {which}; the contract asks for at least {minimum}"
            + (f" ({', '.join(unwritten)} not written yet)." if unwritten else "."),
            "One test per promise of the contract.",
        )
        return [r["name"] for r in written]

    async def expect_catches(self, mutant: Mutant, prefixes: tuple[str, ...] = (), minimum: int = 1) -> None:
        """At least one of the written tests (all, or those named with ``prefixes``) fails on ``mutant``,
        and all of them pass on the reference app."""
        names = await self.expect_passing(prefixes, minimum)
        results = await self._run(mutant.patch, names, mutant.prefer, first_failure=True)
        caught = [r for r in results if r["outcome"] == "failed"]
        flaky = [r for r in results if r["outcome"] == "flaky"]
        named = f" named {' or '.join(p + '...' for p in prefixes)}" if prefixes else ""
        scope = f"your {len(names)} test(s){named}"
        expect(
            caught or not flaky,
            f"{describe(flaky)}: failed on a copy of the bookshop with this bug ({mutant.bug}), but also when run "
            "again on the bookshop as given. A test whose result depends on what ran before it catches nothing.",
            "Keep no state between tests (no module-level lists or counters that tests change); every test "
            "gets fresh fixtures and must pass however often it runs.",
        )
        expect(
            caught,
            f"None of {scope} failed on a copy of the bookshop with this bug: {mutant.bug}. "
            "Your suite would have let it through.",
            mutant.hint,
            mutant.answer,
        )


@pytest.fixture(scope="session")
def suite_cache() -> Cache:
    return Cache()


@pytest.fixture
def suite(learner, suite_cache) -> Suite:
    return Suite(learner, suite_cache)


class Bugs:
    """What test files need from here (they cannot import this module by name)."""

    Mutant = Mutant
    BLANK_APP = BLANK_APP


@pytest.fixture
def bugs() -> type[Bugs]:
    return Bugs
