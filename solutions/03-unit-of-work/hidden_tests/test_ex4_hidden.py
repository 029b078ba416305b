import asyncio

import pytest

from grader.checks import expect

pytestmark = pytest.mark.exercise("ex4")


def tables_changed_between(before, after):
    return [table for table in before if before[table] != after.get(table)]


@pytest.mark.points(1)
async def test_post_order_unknown_customer_or_book(client, db, shop):
    """POST /orders for an unknown customer or book answers 404 and changes nothing"""
    shop(db)
    before = db.snapshot()
    for body, what in [
        ({"customer_id": 99, "lines": [{"book_id": 1, "quantity": 1}]}, "customer 99"),
        ({"customer_id": 1, "lines": [{"book_id": 1, "quantity": 1}, {"book_id": 99, "quantity": 1}]}, "book 99"),
    ]:
        response = await client.post("/orders", json=body)
        expect(
            response.status_code == 404,
            f"POST /orders for an unknown {what} answered {response.status_code}, expected 404.",
            "Catch CustomerNotFound and BookNotFound around place_order and raise `HTTPException(status_code=404)`.",
            answer=(
                'raise HTTPException(status_code=404, detail=f"customer {body.customer_id} not found") from None'
                if what.startswith("customer")
                else 'raise HTTPException(status_code=404, detail=f"book {exc} not found") from None'
            ),
        )
        changed = tables_changed_between(before, db.snapshot())
        expect(not changed, f"POST /orders for an unknown {what} answered 404, but {', '.join(changed)} changed.")


@pytest.mark.points(2)
async def test_post_order_race_for_last_copy(learner, client, twin_client, db, seeder):
    """two concurrent POST /orders for the last copy: one 201, one 409, stock never below zero"""
    book_ids = [1, 2, 3, 4]
    seeder(
        db,
        authors=[(1, "Ted Chiang")],
        books=[(n, f"Last copy {n}", 100, 1, 1) for n in book_ids],
        customers=[(1, "Ada"), (2, "Grace")],
    )
    rounds, clients = [], (client, twin_client)
    for book_id in book_ids:
        bodies = [{"customer_id": c, "lines": [{"book_id": book_id, "quantity": 1}]} for c in (1, 2)]
        with learner.racing():  # two processes, as two workers of a deployment: a lock in one holds nothing
            posts = (http.post("/orders", json=body) for http, body in zip(clients, bodies, strict=True))
            responses = await asyncio.gather(*posts)
        rounds.append(sorted(response.status_code for response in responses))
    stock = {row["id"]: row["stock"] for row in db.rows("SELECT id, stock FROM books")}
    sold = {
        row["book_id"]: row["copies"]
        for row in db.rows("SELECT book_id, SUM(quantity) AS copies FROM order_lines GROUP BY book_id")
    }
    for book_id, statuses in zip(book_ids, rounds, strict=True):
        expect(
            statuses == [201, 409] and stock[book_id] == 0 and sold.get(book_id) == 1,
            f"Two customers ordered the last copy of a book at the same time: POST /orders answered {statuses}, "
            f"{sold.get(book_id, 0)} copies were sold and the stock is now {stock[book_id]}. Expected one 201 and "
            "one 409, with stock 0.",
            "The stock check and the decrement must be one atomic statement: take the stock with "
            "`uow.books.take_stock` (`UPDATE books SET stock = stock - :q WHERE id = :id AND stock >= :q`, then "
            "check rowcount) instead of reading `book.stock` and writing it back.",
        )
