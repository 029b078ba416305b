"""Exercise 7: `alembic upgrade head` builds the schema the bookshop's models describe."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex7")


@pytest.mark.points(3)
async def test_upgrade_builds_the_schema(probe, db, fixtures, schema):
    """one migration history; `alembic upgrade head` creates the five tables with their columns and constraints"""
    observed = await probe(fixtures.alembic_probe, database_url=db.url, steps=[["upgrade", "head"]])
    answer = fixtures.expect_probe_ok(observed, "Running Alembic with the project's alembic.ini")
    heads = answer["heads"]
    expect(
        isinstance(heads, list) and len(heads) == 1,
        f"Alembic found the heads {heads}, expected exactly one revision at the head of the history.",
        "migrations/versions/0001_initial.py: revision = '0001', down_revision = None.",
    )
    firsts = [revision for revision, down in answer["revisions"] if down is None]
    expect(
        len(firsts) == 1,
        f"The history starts {len(firsts)} times ({firsts}): exactly one migration has down_revision = None.",
        "0001_initial.py is the first: down_revision = None.",
    )
    action, target, error = answer["steps"][0]
    expect(
        error is None,
        f"`alembic {action} {target}` failed: {error}",
        "asyncio.run in env.py cannot run inside a running loop: the checks call Alembic on a worker thread, as "
        "the notebook does. Check target_metadata, database_url() and run_async_migrations against the contract.",
    )
    version = db.rows("SELECT version_num FROM alembic_version") if "alembic_version" in db.tables() else []
    expect(
        [row["version_num"] for row in version] == heads,
        f"After `alembic upgrade head` the alembic_version table holds {version}, expected {heads}.",
        "Let Alembic record the version: run the migrations inside `context.begin_transaction()` (provided).",
    )
    problems = schema.differences(schema.read(db), schema.EXPECTED)
    expect(
        not problems,
        "`alembic upgrade head` did not build the bookshop's schema: " + "; ".join(problems[:8]) + ".",
        "Each table in upgrade() needs every column of its model with nullable=False, its PrimaryKeyConstraint, "
        "its ForeignKeyConstraints, and its UniqueConstraints (customers' email, books' author and title). "
        "The draft cell above shows what the models describe.",
        answer='sa.Column("email", sa.String(length=320), nullable=False),\n'
        'sa.UniqueConstraint("email", name=op.f("uq_customers_email")),  # in customers',
    )
