"""The cap on requests in flight, with the real app: requests that arrive together check in
before any of them runs, so those past the cap are answered 429 at once; probes never are."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from firth_service.admission import (
    ADMITTED,
    HEAVY_CELLS,
    HEAVY_TEXT_CHARS,
    HEAVY_TOKEN_IDS,
    Admission,
    AdmissionLimit,
)
from firth_service.app import create_app
from firth_service.registry import ModelRegistry
from tests.conftest import exact_settings

pytestmark = pytest.mark.anyio


async def test_requests_past_the_cap_are_answered_429_with_retry_after(registry: ModelRegistry) -> None:
    app = create_app(exact_settings(max_concurrent_requests=2), registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        url = "/v1/models/random/neighbors?word=w0001&k=3"
        answers = await asyncio.gather(*(client.get(url) for _ in range(5)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 429, 429, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "/problems/too-many-requests"
        probes = await asyncio.gather(*(client.get("/healthz") for _ in range(5)))
        assert all(p.status_code == 200 for p in probes)
        assert app.state.admission.in_flight == 0  # every slot given back
        after = await client.get(url)
        assert after.status_code == 200


async def test_a_429_past_the_cap_carries_the_cors_headers(registry: ModelRegistry) -> None:
    """A browser hides an answer without Access-Control-Allow-Origin from the page, status and
    Retry-After included: the cap's 429 must carry the CORS headers as every other answer does."""
    origin = "https://explorer.example"
    app = create_app(exact_settings(max_concurrent_requests=1, cors_origins=[origin]), registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        url = "/v1/models/random/neighbors?word=w0001&k=3"
        answers = await asyncio.gather(*(client.get(url, headers={"Origin": origin}) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [200, 429, 429]
        for answer in answers:
            assert answer.headers["access-control-allow-origin"] == origin, answer.status_code
            assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
        other = await client.get(url, headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_the_cap_is_applied_before_the_api_key_check(registry: ModelRegistry, tmp_path: Path) -> None:
    """Both refusals are cheap; the cap comes first, so past it even a request without a key is
    a 429, and within it the key check still answers 401."""
    keys = tmp_path / "keys"
    keys.write_text("key-Zq8mT4wR6yUe\n")
    app = create_app(exact_settings(max_concurrent_requests=1, api_keys=keys), registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        url = "/v1/models/random/neighbors?word=w0001&k=3"
        answers = await asyncio.gather(*(client.get(url) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [401, 429, 429]
        assert (await client.get("/readyz")).status_code == 200  # probes: neither capped nor keyed
        authorised = await client.get(url, headers={"Authorization": "Bearer key-Zq8mT4wR6yUe"})
        assert authorised.status_code == 200


# -- the heavy cap on the text endpoints --------------------------------------------------------

TEXT_CHARS = 1000  # a hundred texts of a thousand characters: exactly the threshold


def texts_of(total: int) -> list[str]:
    """Texts of the random model's words ("w0001 w0002 ...") adding up to `total` characters."""
    words = " ".join(f"w{i:04d}" for i in range(1, 1000))
    texts = [words[:TEXT_CHARS]] * (total // TEXT_CHARS)
    texts[0] = words[: TEXT_CHARS + total % TEXT_CHARS]
    assert sum(map(len, texts)) == total
    return texts


# (path, a body just within the heavy threshold, one just past it)
HEAVY_CASES = {
    "embed": (
        "/v1/models/random/embed",
        {"texts": texts_of(HEAVY_TEXT_CHARS), "oov": "null"},
        {"texts": texts_of(HEAVY_TEXT_CHARS + 1), "oov": "null"},
    ),
    "encode (characters)": (
        "/v1/models/random/encode",
        {"texts": texts_of(HEAVY_TEXT_CHARS)},
        {"texts": texts_of(HEAVY_TEXT_CHARS + 1)},
    ),
    "encode (answer cells)": (  # 500 texts x 2,000 columns is the limit
        "/v1/models/random/encode",
        {"texts": ["w0001"] * 500, "output_mode": "count", "max_tokens": HEAVY_CELLS // 500},
        {"texts": ["w0001"] * 501, "output_mode": "count", "max_tokens": HEAVY_CELLS // 500},
    ),
    "embedding-matrix": (  # the random model has 16 dimensions: 62,500 words is the limit
        "/v1/models/random/embedding-matrix",
        {"vocabulary": [f"x{i}" for i in range(HEAVY_CELLS // 16)]},
        {"vocabulary": [f"x{i}" for i in range(HEAVY_CELLS // 16 + 1)]},
    ),
    "openai (texts)": (
        "/openai/v1/embeddings",
        {"model": "random", "input": texts_of(HEAVY_TEXT_CHARS)},
        {"model": "random", "input": texts_of(HEAVY_TEXT_CHARS + 1)},
    ),
    "openai (token ids)": (
        "/openai/v1/embeddings",
        {"model": "random", "input": [[5] * 1000] * (HEAVY_TOKEN_IDS // 1000)},
        {"model": "random", "input": [[5] * 1000] * (HEAVY_TOKEN_IDS // 1000) + [[5]]},
    ),
}


@pytest.mark.parametrize("case", HEAVY_CASES)
async def test_large_text_requests_take_a_heavy_slot(registry: ModelRegistry, case: str) -> None:
    """With the worker's only heavy slot held, a text request just past the threshold is answered
    429 with Retry-After at once, and one at the threshold is served; with the slot free again,
    the large one is served too."""
    path, within, past = HEAVY_CASES[case]
    app = create_app(exact_settings(max_concurrent_heavy=1), registry)
    admission = app.state.admission
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
        async with admission.heavy():  # an evaluation holds the slot
            refused = await client.post(path, json=past)
            served = await client.post(path, json=within)
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "2"
        assert served.status_code == 200, served.text
        if path.startswith("/openai/"):
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"]["type"] == "requests"
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        else:
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "/problems/too-many-requests"
        assert admission.heavy_in_flight == 0
        again = await client.post(path, json=past)
        assert again.status_code == 200, again.text
        assert admission.heavy_in_flight == 0  # given back


async def test_large_texts_in_similarity_take_a_heavy_slot(registry: ModelRegistry) -> None:
    app = create_app(exact_settings(max_concurrent_heavy=1), registry)
    transport = httpx.ASGITransport(app=app)
    texts = texts_of(HEAVY_TEXT_CHARS + 2)
    pairs = {"text_pairs": [[a, a] for a in texts[: len(texts) // 2 + 1]], "oov": "null"}
    matrix = {"texts_a": texts[:1], "texts_b": texts, "oov": "null"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
        async with app.state.admission.heavy():
            for path, body in (("similarity", pairs), ("similarity/matrix", matrix)):
                refused = await client.post(f"/v1/models/random/{path}", json=body)
                assert refused.status_code == 429, (path, refused.text)
        for path, body in (("similarity", pairs), ("similarity/matrix", matrix)):
            assert (await client.post(f"/v1/models/random/{path}", json=body)).status_code == 200


async def test_a_request_the_http_layer_admitted_is_not_checked_again() -> None:
    """The HTTP layer marks what it admitted under the same cap; the middleware then neither
    refuses it nor yields for it, but still counts it in flight."""
    seen: list[int] = []
    admission = Admission(max_requests=1, max_heavy=1)
    admission.in_flight = 1  # the cap is reached

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(admission.in_flight)

    async def no_receive() -> Message:
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    limit = AdmissionLimit(app, admission)
    await limit({"type": "http", "path": "/v1/models", ADMITTED: True}, no_receive, send)
    assert seen == [2] and not sent and admission.in_flight == 1
    await limit({"type": "http", "path": "/v1/models", "headers": []}, no_receive, send)
    assert seen == [2] and sent[0]["status"] == 429  # unmarked: checked, refused


async def test_heavy_work_runs_at_a_lower_cpu_priority_than_light_work(registry: ModelRegistry) -> None:
    """Heavy work runs in the app's own threads at nice HEAVY_NICE above the worker's, so on a busy
    CPU the kernel runs the event loop (and the lookups it answers) first; light work keeps it."""
    from starlette.requests import Request

    from firth_service.work import HEAVY_NICE, run_sized

    app = create_app(exact_settings(max_concurrent_heavy=2), registry)

    async def never_disconnects() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    request = Request(
        {"type": "http", "app": app, "method": "POST", "path": "/", "headers": []}, never_disconnects
    )

    def priority() -> tuple[int, str]:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), threading.current_thread().name

    base = os.getpriority(os.PRIO_PROCESS, 0)
    heavy_nice, heavy_thread = await run_sized(request, True, priority)
    light_nice, light_thread = await run_sized(request, False, priority)
    assert heavy_nice == min(19, base + HEAVY_NICE)
    assert heavy_thread.startswith("firth-heavy")
    assert light_nice == base
    assert not light_thread.startswith("firth-heavy")
    app.state.heavy_threads.shutdown()
