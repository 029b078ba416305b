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


@pytest.mark.points(1)
async def test_downgrade_base_drops_every_table(probe, db, fixtures):
    """`alembic downgrade base` drops every table of the bookshop, after a first upgrade and after a second"""
    for cycle in ("the first", "a second"):
        steps = [["upgrade", "head"], ["downgrade", "base"]]
        answer = fixtures.expect_probe_ok(
            await probe(fixtures.alembic_probe, database_url=db.url, steps=steps), "Running Alembic"
        )
        failed = [f"alembic {action} {target}: {error}" for action, target, error in answer["steps"] if error]
        expect(
            not failed,
            f"In {cycle} upgrade and downgrade, an Alembic command failed: " + "; ".join(failed),
            "downgrade() drops what upgrade() created, children before their parents.",
        )
        left = [table for table in db.tables() if table != "alembic_version"]
        expect(
            not left,
            f"After {cycle} `alembic upgrade head` and `alembic downgrade base`, the tables {left} are left.",
            "downgrade() drops all five tables, order_lines first and authors last.",
            answer='op.drop_table("order_lines")  # then orders, books, customers and authors, in that order',
        )


@pytest.mark.points(1)
async def test_alembic_check_compares_with_the_models(probe, db, fixtures):
    """`alembic check` compares the database with the models: a table they do not describe is a difference"""
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=[["upgrade", "head"]]), "Running Alembic"
    )
    expect(answer["steps"][0][2] is None, f"`alembic upgrade head` failed: {answer['steps'][0][2]}")
    db.execute("CREATE TABLE gift_cards (id INTEGER PRIMARY KEY, code VARCHAR(20) NOT NULL)")
    checked = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=[["check", None]]), "Running `alembic check`"
    )
    error = checked["steps"][0][2] or ""
    found = (
        "nothing to compare with: env.py gives Alembic no target_metadata (a MetaData object)"
        if "MetaData object" in error
        else "no difference"
        if not error
        else repr(error[:200])
    )
    expect(
        "gift_cards" in error,
        f"With a table gift_cards that no model describes, `alembic check` (autogenerate) found {found}: Alembic "
        "does not compare the database with the models.",
        "In migrations/env.py, target_metadata is the MetaData of the models' Base (imported from app.models): "
        "autogenerate and `alembic check` compare the database with it.",
        answer="target_metadata = Base.metadata",
    )
