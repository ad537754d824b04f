"""The client against the real app in-process: the hand-made and random models of tests/conftest.py,
served by create_app with an exact index. The async client goes through httpx.ASGITransport; the
sync one through a blocking portal onto the same transport (httpx has no sync ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI

from firth_client import AsyncFirthClient, FirthClient
from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_model
from tests.conftest import exact_settings

BASE_URL = "http://firth.test"


class SyncASGITransport(httpx.BaseTransport):
    """Sends each request through httpx.ASGITransport on an event loop in a helper thread."""

    def __init__(self, app: FastAPI, portal: anyio.from_thread.BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal = portal
        self.sent: list[tuple[str, str]] = []  # (method, decoded path) of every request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))

        async def send() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._portal.call(send)


class RecordingASGITransport(httpx.ASGITransport):
    def __init__(self, app: FastAPI) -> None:
        super().__init__(app=app)
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await super().handle_async_request(request)


ADMIN_KEY = "client-tests-admin-key-7fQ2"  # /admin/* needs it; good for the open API as well


@pytest.fixture(scope="session")
def registry(tiny_model_dir: Path, random_model_dir: Path, classifier_model_dir: Path) -> ModelRegistry:
    """The shared models plus a classifier, so `classify` has a model to reach."""
    settings = exact_settings()
    return ModelRegistry(
        [load_model(p, settings) for p in (tiny_model_dir, random_model_dir, classifier_model_dir)]
    )


@pytest.fixture
def app(registry: ModelRegistry, tmp_path: Path) -> FastAPI:
    admin_key = tmp_path / "admin.key"
    admin_key.write_text(ADMIN_KEY + "\n")
    # a reload (POST /admin/reload) re-reads exactly the served models, finding nothing changed
    settings = exact_settings(models=[str(m.path) for m in registry.all()], admin_key=admin_key)
    return create_app(settings, registry)


@pytest.fixture
def sync_transport(app: FastAPI) -> Iterator[SyncASGITransport]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield SyncASGITransport(app, portal)


@pytest.fixture
def client(sync_transport: SyncASGITransport) -> Iterator[FirthClient]:
    with FirthClient(BASE_URL, model="tiny", transport=sync_transport, retries=0, api_key=ADMIN_KEY) as firth:
        yield firth


@pytest.fixture
def async_transport(app: FastAPI) -> RecordingASGITransport:
    return RecordingASGITransport(app)


@pytest.fixture
async def aclient(async_transport: RecordingASGITransport) -> AsyncIterator[AsyncFirthClient]:
    async with AsyncFirthClient(
        BASE_URL, model="tiny", transport=async_transport, retries=0, api_key=ADMIN_KEY
    ) as firth:
        yield firth
