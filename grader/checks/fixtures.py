"""Fixtures several chapters share, written once. A chapter's ``checks/fixtures.py`` takes those it needs by
binding them to the names its tests ask for: pytest finds a plugin's fixtures by attribute name.

    from grader.checks import fixtures as shared

    t0 = shared.t0
    app_kwargs = shared.signed_app_kwargs  # with the chapter's own ``app_mode`` and ``app_probe``
    tables = shared.tables_fixture("the models")

They run in the grader's process; what they ask of the learner's process goes through probes.
(Not importable by probes: this module imports pytest, which the learner's process has no use for.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from grader.checks import CheckFailure
from grader.checks.bookshop import create_tables_probe
from grader.checks.clock import format_time, start_time
from grader.checks.jwt import TEST_KEY


@pytest.fixture
def t0() -> datetime:
    """When the test starts, by the app's clock: the real time in whole seconds."""
    return start_time()


@pytest.fixture
def signed_app_kwargs(db: Any, t0: datetime, app_mode: str) -> dict[str, Any]:
    """The app probe's arguments for an app on the test database that signs with ``TEST_KEY`` and whose clock
    starts at ``t0``; the chapter's ``app_mode`` fixture (which test modules override) says which app."""
    return {"database_url": db.url, "jwt_secret": TEST_KEY, "clock_at": format_time(t0), "mode": app_mode}


async def made_tables(learner: Any, db: Any, template: Any, models: str, require: bool = True) -> Any:
    """``db`` with the chapter's tables, made by the learner's process for a run's first test (``create_tables_probe``)
    and copied from that one (``template``) for the others."""
    # A fixture set up before this one (an app that makes its own tables) may have written to the database: then
    # it is neither overwritten nor kept.
    fresh = not db.path.exists()
    if fresh and template.restore(db):
        return db
    observed = await learner.probe(create_tables_probe, database_url=db.url, require=require)
    if observed.error:
        raise CheckFailure(
            f"The tables could not be created: {observed.describe_error()}.",
            f"Run the provided cells at the top of the notebook ({models}) without changing them.",
        )
    if fresh:
        template.keep(db)
    return db


def tables_fixture(models: str, *, require: bool = True) -> Any:
    """A ``tables`` fixture: the test database with the bookshop's tables (see ``made_tables``; ``require``: see
    ``create_tables_probe``); ``models`` names, in the hint of a failure, the cells that define them."""

    @pytest.fixture
    async def tables(learner: Any, db: Any, table_template: Any) -> Any:
        """The test database with the chapter's tables, ready to seed from the grader side."""
        return await made_tables(learner, db, table_template, models, require)

    return tables
