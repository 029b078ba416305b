"""Seeded bugs for exercise 2 (the catalogue). Every check runs the learner's whole suite."""

import pytest

pytestmark = pytest.mark.exercise("ex2")

N_PLUS_ONE = (
    "GET /authors loads each author's books with one more query per author (an N+1)",
    [
        [
            "    statement = select(Author).options(selectinload(Author.books)).order_by(Author.id)"
            ".limit(limit).offset(offset)\n    return list(await session.scalars(statement))\n",
            "    statement = select(Author).order_by(Author.id).limit(limit).offset(offset)\n"
            "    authors = list(await session.scalars(statement))\n"
            "    for author in authors:\n"
            '        await session.refresh(author, ["books"])\n'
            "    return authors\n",
        ]
    ],
    "Count the statements of GET /authors with few authors and with many (the `statements` fixture): "
    "the two counts must be equal. The page itself is right, so only a count notices.",
    ("test_catalogue",),
    "assert len(statements) == with_two_authors",
)
PAGE_OFF_BY_ONE = (
    "the pages start one page late (offset = page * page_size)",
    [["offset=(page - 1) * size", "offset=page * size"]],
    "Ask for page 1, 2 and 3 and compare the ids on each page with the ids you created.",
    ("test_catalogue",),
    "assert pages == [ids[0:2], ids[2:4], ids[4:5]]",
)


@pytest.mark.points(2)
async def test_catches_n_plus_one(suite, bugs):
    """your tests catch a seeded bug: an N+1 in GET /authors"""
    await suite.expect_catches(bugs.Mutant(*N_PLUS_ONE))


@pytest.mark.points(2)
async def test_catches_page_off_by_one(suite, bugs):
    """your tests catch a seeded bug: pages one page off"""
    await suite.expect_catches(bugs.Mutant(*PAGE_OFF_BY_ONE))
