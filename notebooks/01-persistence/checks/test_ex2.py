"""Exercise 2: the mapped classes Author and Book."""

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex2")

# The key line of each relationship.
RELATIONSHIPS = {
    "Author.books": 'books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise")',
    "Book.author": 'author: Mapped[Author] = relationship(back_populates="books", lazy="raise")',
}

# The contract: table, then column -> (Python type, primary key, nullable, foreign key targets).
EXPECTED = {
    "Author": (
        "authors",
        {
            "id": ("int", True, False, []),
            "name": ("str", False, False, []),
        },
    ),
    "Book": (
        "books",
        {
            "id": ("int", True, False, []),
            "title": ("str", False, False, []),
            "price_cents": ("int", False, False, []),
            "stock": ("int", False, False, []),
            "author_id": ("int", False, False, ["authors.id"]),
        },
    ),
}


async def mapped_tables(ns):
    """Describe the tables and columns that Author and Book map, from their metadata."""
    for name in ("Base", "Author", "Book"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    ns["Base"].registry.configure()
    described = {}
    for name in ("Author", "Book"):
        table = ns[name].__table__
        columns = {}
        for column in table.columns:
            try:
                python_type = column.type.python_type.__name__
            except NotImplementedError:
                python_type = type(column.type).__name__
            columns[column.name] = {
                "type": python_type,
                "primary_key": column.primary_key,
                "nullable": column.nullable,
                "foreign_keys": sorted(fk.target_fullname for fk in column.foreign_keys),
            }
        described[name] = {"table": table.name, "columns": columns}
    return described


async def relationship_facts(ns):
    """How Author.books and Book.author are configured, and whether setting one side updates the other."""
    from sqlalchemy import inspect

    for name in ("Base", "Author", "Book"):
        if name not in ns:
            raise NameError(f"name {name!r} is not defined")
    ns["Base"].registry.configure()
    facts = {}
    for owner, attribute in (("Author", "books"), ("Book", "author")):
        relationships = inspect(ns[owner]).relationships
        if attribute not in relationships:
            facts[f"{owner}.{attribute}"] = None
            continue
        prop = relationships[attribute]
        facts[f"{owner}.{attribute}"] = {
            "lazy": prop.lazy,
            "back_populates": prop.back_populates,
            "target": prop.mapper.class_.__name__,
            "uselist": prop.uselist,
        }
    facts["synced"] = None
    if facts["Author.books"] and facts["Book.author"]:
        author = ns["Author"](name="Ursula K. Le Guin")
        book = ns["Book"](title="The Dispossessed", price_cents=1250, stock=3, author=author)
        facts["synced"] = book in author.books
    return facts


@pytest.mark.points(2)
async def test_tables_and_columns(learner):
    """Author and Book map the tables and columns of the contract"""
    observed = await learner.probe(mapped_tables)
    expect(
        observed.ok,
        f"Reading the mapping of Author and Book raised {observed.describe_error()}.",
        "Run the cell of exercise 2 without errors.",
    )
    for name, (table, columns) in EXPECTED.items():
        found = observed.value[name]
        expect(
            found["table"] == table,
            f"{name} maps the table {found['table']!r}, expected {table!r}.",
            f'Set `__tablename__ = "{table}"`.',
        )
        missing = sorted(set(columns) - set(found["columns"]))
        extra = sorted(set(found["columns"]) - set(columns))
        expect(not missing, f"The table {table} has no column {', '.join(missing)}.", "Mind the exact names.")
        expect(not extra, f"The table {table} has columns the contract does not ask for: {', '.join(extra)}.")
        for column, (python_type, primary_key, nullable, foreign_keys) in columns.items():
            facts = found["columns"][column]
            where = f"{table}.{column}"
            expect(
                facts["type"] == python_type,
                f"{where} holds {facts['type']}, expected {python_type}.",
                "Prices are whole cents: `Mapped[int]`." if column == "price_cents" else "",
            )
            expect(
                facts["primary_key"] == primary_key,
                f"{where} should{'' if primary_key else ' not'} be the primary key.",
                "`mapped_column(primary_key=True)` on `id` only.",
                answer="id: Mapped[int] = mapped_column(primary_key=True)",
            )
            expect(
                facts["nullable"] == nullable,
                f"{where} accepts NULL; the contract says NOT NULL.",
                "`Mapped[int]` is NOT NULL; `Mapped[int | None]` or `nullable=True` allows NULL.",
            )
            expect(
                facts["foreign_keys"] == foreign_keys,
                f"{where} references {facts['foreign_keys'] or 'nothing'}, expected {foreign_keys or 'nothing'}.",
                "A foreign key is a `ForeignKey` in the column's `mapped_column`, naming the table, then the column.",
                answer='author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))',
            )


@pytest.mark.points(1)
async def test_relationships(learner):
    """Author.books and Book.author: back_populates each other, lazy="raise\""""
    observed = await learner.probe(relationship_facts)
    expect(
        observed.ok,
        f"Configuring the relationships raised {observed.describe_error()}.",
        "Each side's `back_populates` names the attribute on the other class.",
        answer="; ".join(RELATIONSHIPS.values()),
    )
    facts = observed.value
    for key, target, uselist, other in (
        ("Author.books", "Book", True, "author"),
        ("Book.author", "Author", False, "books"),
    ):
        found = facts[key]
        expect(
            found is not None,
            f"{key} is not a relationship.",
            "Declare it with `relationship(...)`.",
            answer=RELATIONSHIPS[key],
        )
        expect(
            found["target"] == target and found["uselist"] == uselist,
            f"{key} points to {'a list of ' if found['uselist'] else 'one '}{found['target']}.",
            f"{key} should be `Mapped[{'list[Book]' if uselist else 'Author'}]`.",
            answer=RELATIONSHIPS[key],
        )
        expect(
            found["back_populates"] == other,
            f"{key} has back_populates={found['back_populates']!r}, expected {other!r}.",
            "back_populates names the attribute on the other class.",
            answer=RELATIONSHIPS[key],
        )
        expect(
            found["lazy"] == "raise",
            f'{key} has lazy="{found["lazy"]}": reading it unloaded would query behind your back '
            "(MissingGreenlet under asyncio).",
            'Pass `lazy="raise"` to relationship(...).',
            answer=RELATIONSHIPS[key],
        )
    expect(
        facts["synced"],
        "`Book(..., author=author)` did not add the book to `author.books`.",
        "Both sides need back_populates naming each other.",
        answer="; ".join(RELATIONSHIPS.values()),
    )
