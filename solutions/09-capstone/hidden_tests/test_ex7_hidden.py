import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex7")


@pytest.mark.points(2)
async def test_downgrade_removes_the_schema(probe, db, fixtures, schema):
    """`alembic downgrade base` drops every table of the bookshop, and `upgrade head` works again"""
    steps = [["upgrade", "head"], ["downgrade", "base"]]
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=steps), "Running Alembic"
    )
    failed = [f"alembic {action} {target}: {error}" for action, target, error in answer["steps"] if error]
    expect(
        not failed, "An Alembic command failed: " + "; ".join(failed), "downgrade() drops the tables, children first."
    )
    left = [table for table in db.tables() if table != "alembic_version"]
    expect(
        not left,
        f"After `alembic downgrade base` the tables {left} are still there.",
        "downgrade() drops all five tables: order_lines, orders, books, customers, authors.",
        answer='op.drop_table("order_lines")  # then orders, books, customers and authors, in that order',
    )
    version = db.rows("SELECT version_num FROM alembic_version") if "alembic_version" in db.tables() else []
    expect(not version, f"After downgrade base, alembic_version still says {version}.", "Let Alembic record it.")
    again = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=[["upgrade", "head"]]), "Running Alembic"
    )
    expect(
        again["steps"][0][2] is None,
        f"`alembic upgrade head` after a downgrade failed: {again['steps'][0][2]}",
        "downgrade() must leave nothing behind that upgrade() creates (a table, an index).",
    )
    back = sorted(table for table in db.tables() if table != "alembic_version")
    expect(
        back == sorted(schema.EXPECTED),
        f"After downgrade base and upgrade head again the tables are {back}, expected {sorted(schema.EXPECTED)}.",
        "upgrade() creates the five tables, downgrade() drops the same five.",
    )


@pytest.mark.points(1)
async def test_migration_matches_the_models(probe, db, second_db, fixtures, schema):
    """the migration builds what create_all builds from the models, and autogenerate compares with the models"""
    answer = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=[["upgrade", "head"]]), "Running Alembic"
    )
    expect(answer["steps"][0][2] is None, f"`alembic upgrade head` failed: {answer['steps'][0][2]}", "")
    fixtures.expect_probe_ok(
        await probe(fixtures.create_tables_probe, database_url=second_db.url), "create_all from app.models"
    )
    problems = fixtures.schema_differences(schema.read(db), schema.read(second_db))
    expect(
        not problems,
        "The migration and the models disagree (migrated vs. models): " + "; ".join(problems[:8]) + ".",
        "Every column, NOT NULL, key and unique constraint of the models belongs in the migration; "
        "`alembic revision --autogenerate` against an empty database shows the difference.",
    )
    db.execute("DROP TABLE order_lines")
    checked = fixtures.expect_probe_ok(
        await probe(fixtures.alembic_probe, database_url=db.url, steps=[["check", None]]), "Running `alembic check`"
    )
    error = checked["steps"][0][2] or ""
    if "MetaData object" in error:
        found = "nothing to compare with: env.py gives Alembic no target_metadata (a MetaData object)"
    else:
        found = "no difference" if not error else repr(error[:200])
    expect(
        "order_lines" in error,
        f"With the table order_lines dropped from a migrated database, `alembic check` (autogenerate) found {found}: "
        "Alembic does not compare the database with the models.",
        "In migrations/env.py, target_metadata is the MetaData of the models' Base (imported from app.models): "
        "autogenerate and `alembic check` compare the database with it.",
        answer="target_metadata = Base.metadata",
    )
