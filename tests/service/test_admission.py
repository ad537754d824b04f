"""The cap on requests in flight, with the real app: requests that arrive together check in
before any of them runs, so those past the cap are answered 429 at once; probes never are."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

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
