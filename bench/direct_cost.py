"""What FastAPI's router and dependency solver cost a hot GET, and what the direct path saves.

In process, no HTTP: each request is one call of the real app (firth's middleware included) on
the default model, first with the direct path (service/direct_routes.py) switched off, so that
FastAPI routes it and solves its dependencies, then as served. The endpoint alone, called as a
function, is the floor. Rounds alternate; the medians are printed with their ratio.

    .venv/bin/python bench/direct_cost.py [--model models/glove-6b-50d] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from firth_service.app import create_app
from firth_service.direct_routes import direct_gets_of
from firth_service.registry import ModelRegistry, load_model
from firth_service.routes.queries import get_neighbors
from firth_service.settings import Settings

WORDS = ["frog", "king", "paris", "computer", "river", "music", "france", "green", "run", "happy"]
QUERIES = {
    "GET /neighbors": lambda w: ("/v1/models/default/neighbors", f"word={w}&k=10"),
    "GET /similarity": lambda w: ("/v1/models/default/similarity", f"a={w}&b=king"),
    "GET /analogy": lambda w: ("/v1/models/default/analogy", f"a=man&b=king&c={w}"),
    "GET /vectors/{word}": lambda w: (f"/v1/models/default/vectors/{w}", ""),
}


def staying_client() -> Any:
    """An ASGI receive as a server gives one: the (empty) body once, then nothing until the client
    goes away, which this one never does. A receive that answered at once forever would spin the
    work's disconnect watch (service/work.py) without yielding to the event loop: a hang."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.get_running_loop().create_future()  # until cancelled
        raise AssertionError("unreachable")

    return receive


async def per_request(app: FastAPI, query: Any, n: int) -> float:
    """Seconds per request of `query` through the whole ASGI app."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.perf_counter()
    for i in range(n):
        receive = staying_client()
        path, query_string = query(WORDS[i % len(WORDS)])
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query_string.encode(),
            "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    statuses = {m["status"] for m in sent if m["type"] == "http.response.start"}
    if statuses != {200}:
        raise SystemExit(f"{query('frog')}: answered {sorted(statuses)}, not 200")
    return elapsed / n


async def endpoint_alone(app: FastAPI, n: int) -> float:
    """GET /neighbors's endpoint called as a function: the floor under both paths."""
    from starlette.requests import Request

    model = app.state.registry.get("default")
    scope = {"type": "http", "app": app, "path": "/", "headers": [], "query_string": b""}
    started = time.perf_counter()
    for i in range(n):
        request = Request(scope, staying_client())  # an exact search watches for a disconnect
        await get_neighbors(request, model, WORDS[i % len(WORDS)], 10, "3cosadd", None, False)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(models=[str(args.model)], build_hnsw=False)
    registry = ModelRegistry([load_model(args.model, settings)])
    fastapi_path, direct = create_app(settings, registry), create_app(settings, registry)
    direct_gets_of(fastapi_path).enabled = False
    index = type(registry.get("default").hnsw or registry.get("default").exact).__name__
    print(f"{args.model} ({index}); in process, {args.requests} requests x {args.rounds} rounds, medians")
    print(f"{'query':<22}{'FastAPI routes it':>20}{'direct path':>14}{'saved':>9}{'ratio':>8}")
    for name, query in QUERIES.items():
        slow, fast = [], []
        for _ in range(args.rounds):
            slow.append(asyncio.run(per_request(fastapi_path, query, args.requests)))
            fast.append(asyncio.run(per_request(direct, query, args.requests)))
        s, f = statistics.median(slow) * 1e6, statistics.median(fast) * 1e6
        print(f"{name:<22}{s:>17.0f} µs{f:>11.0f} µs{s - f:>6.0f} µs{s / f:>7.2f}x")
    alone = statistics.median(asyncio.run(endpoint_alone(direct, args.requests)) for _ in range(args.rounds))
    print(f"GET /neighbors's endpoint called as a function: {alone * 1e6:.0f} µs (the floor)")


if __name__ == "__main__":
    main()
