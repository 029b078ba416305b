"""Chapter 00, orientation: async code in a notebook, an app called with httpx, a first check."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import Notebook

nb = Notebook("00-orientation", "00 · Orientation: async Python in a notebook")
nb.md("""
**Questions**
- What is a coroutine, and what does `await` do with it?
- Why does `asyncio.run()` fail in a notebook, and what do you write instead?
- How do you call a FastAPI app from Python without starting a server?

**Objectives**
- Write `async def` functions and run them with top-level `await`.
- Run several coroutines concurrently with `asyncio.gather`.
- Build a two-route FastAPI app and call it in-process with `httpx.AsyncClient` + `ASGITransport`.
- Run a check cell and read its table.

This is the first chapter of the bookshop API you will build through the workbook. Each exercise
states its **contract** (names, signatures, status codes): the checks hold you to exactly that.
Run the cells top to bottom. A check cell answers in about a second with a table; a failed check
names the behaviour and the most likely cause.
""")
nb.provided(
    "setup",
    """
import asyncio

import httpx
from fastapi import FastAPI

from grader.notebook import check
""",
)
nb.md("""
## Worked example: a coroutine and `await`

Calling an `async def` function does not run it: it returns a *coroutine object*. `await` runs it
on the event loop and gives you its result. A Jupyter kernel already runs an event loop, so you
can `await` directly at the top level of a cell.
""")
nb.code("""
async def add_slowly(a: int, b: int) -> int:
    await asyncio.sleep(0.01)  # gives the loop a chance to run other work meanwhile
    return a + b


await add_slowly(1, 2)
""")
nb.md("""
### Predict, then run

What does the next cell print: `3`, a coroutine, or an error? Decide before you run it.
""")
nb.code("""
pending = add_slowly(1, 2)
print(type(pending).__name__)
print(await pending)
""")
nb.md("""
The first line prints `coroutine`: nothing ran until `await`. Forgetting `await` is the most common
async bug; Python warns *"coroutine ... was never awaited"* when such an object is thrown away.

Outside a notebook a script starts the loop with `asyncio.run(main())`. **Inside a notebook that
fails** with `RuntimeError: asyncio.run() cannot be called from a running event loop`, because the
kernel's loop is already running. Use `await` instead.

## Exercise 1 (fill in the blank): your first coroutine

**Contract**: `async def greet(name: str) -> str` awaits `asyncio.sleep(0)` once, then returns
`"Hello, <name>!"`, for example `await greet("Ada") == "Hello, Ada!"`.
""")
nb.solution(
    "ex1-solution",
    """
async def greet(name: str) -> str:
    ### BEGIN SOLUTION
    await asyncio.sleep(0)
    return f"Hello, {name}!"
    ### END SOLUTION
""",
)
nb.check("ex1", 3)
nb.md("""
<details><summary>Hint</summary>

An f-string builds the text: `f"Hello, {name}!"`. Keep the `async def`: the checks call `greet`
with `await`, and a plain `def` returns a string that cannot be awaited.
</details>

## Exercise 2: concurrency with `gather`, and top-level `await`

**Contract**:
- `async def gather_greetings(names: list[str]) -> list[str]` greets every name *concurrently*
  with `asyncio.gather` and returns the greetings in the order of `names`.
- A top-level variable `greetings` holds `gather_greetings(["Ada", "Linus"])`'s result, computed
  with top-level `await` (not `asyncio.run`).
""")
nb.solution(
    "ex2-solution",
    """
async def gather_greetings(names: list[str]) -> list[str]:
    ### BEGIN SOLUTION
    return list(await asyncio.gather(*(greet(name) for name in names)))
    ### END SOLUTION


### BEGIN SOLUTION
greetings = await gather_greetings(["Ada", "Linus"])
### END SOLUTION
greetings
""",
)
nb.check("ex2", 4)
nb.md("""
<details><summary>Hint</summary>

`asyncio.gather(*coroutines)` runs them concurrently and returns their results in order. A loop of
`await greet(name)` is correct but sequential: with ten slow greetings it takes ten times as long,
and a check measures that.
</details>

## Exercise 3: a FastAPI app

**Contract**: a module-level `app = FastAPI()` with two routes:
- `GET /health` answers `200` with `{"status": "ok"}`;
- `GET /greet/{name}` answers `200` with `{"message": <await greet(name)>}`.
""")
nb.solution(
    "ex3-solution",
    """
### BEGIN SOLUTION
app = FastAPI(title="Bookshop")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/greet/{name}")
async def greet_route(name: str) -> dict[str, str]:
    return {"message": await greet(name)}
### END SOLUTION
""",
)
nb.check("ex3", 4)
nb.md("""
<details><summary>Hint</summary>

A route is a function decorated with `@app.get("/path")`; a `{name}` in the path becomes a
function parameter. Returning a `dict` sends JSON.
</details>

## Exercise 4 (write it yourself): call the app without a server

`httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")` sends requests
straight into the app, in this process. It is how every later chapter tests the bookshop.

**Contract**: `async def call_health() -> dict` sends `GET /health` to the module-level `app` through
an `AsyncClient` used as an `async with` block, and returns the decoded JSON body.
""")
nb.solution(
    "ex4-solution",
    """
### BEGIN SOLUTION
async def call_health() -> dict:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/health")
        return response.json()
### END SOLUTION
""",
)
nb.check("ex4", 3)
nb.md("""
<details><summary>Hint</summary>

`response = await client.get("/health")` then `response.json()`. The `async with` block closes the
client's connections when it ends.
</details>

## Key points
- `async def` makes a coroutine function; calling it only creates a coroutine, `await` runs it.
- In a notebook, use top-level `await`; `asyncio.run()` is for scripts.
- `asyncio.gather` runs coroutines concurrently and keeps the order of results.
- `httpx.AsyncClient` + `ASGITransport` calls an ASGI app in-process: no server, no port.
""")
print(nb.save())
