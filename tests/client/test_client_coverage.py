"""The client covers every operation of the service: its operation list equals the live spec's,
its methods really reach each one, and the sync and async clients offer the same methods."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

from fastapi import FastAPI
from starlette.routing import Route

from firth_client import AsyncFirthClient, FirthClient
from firth_client._calls import OPERATIONS
from tests.client.cases import CASES
from tests.client.conftest import SyncASGITransport

# Served but left out of the OpenAPI document on purpose (Prometheus scrapes it, not API users).
OUTSIDE_SPEC = {("GET", "/metrics")}
# In the spec but for OpenAI's own clients (openai, LangChain), not firth_client.
FOR_OPENAI_CLIENTS = {("POST", "/openai/v1/embeddings"), ("GET", "/openai/v1/models")}


def spec_operations(app: FastAPI) -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_client_operations_equal_the_openapi_operations(app: FastAPI) -> None:
    spec = spec_operations(app) - FOR_OPENAI_CLIENTS
    assert spec == OPERATIONS - OUTSIDE_SPEC, (
        f"missing from the client: {sorted(spec - OPERATIONS)}; "
        f"not in the service: {sorted(OPERATIONS - OUTSIDE_SPEC - spec)}"
    )


def test_operations_outside_the_spec_are_served(app: FastAPI) -> None:
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
    }
    assert served >= OUTSIDE_SPEC
    assert not OUTSIDE_SPEC & spec_operations(app)


def _operation_of(method: str, path: str) -> tuple[str, str]:
    matches = [
        (m, template)
        for m, template in OPERATIONS
        if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path)
    ]
    assert len(matches) == 1, (method, path, matches)
    return matches[0]


def test_client_methods_reach_every_operation(client: FirthClient, sync_transport: SyncASGITransport) -> None:
    for case in CASES:
        client.model = case.model
        getattr(client, case.method)(*case.args, **case.kwargs)
    reached = {_operation_of(method, path) for method, path in sync_transport.sent}
    assert reached == OPERATIONS, f"never called: {sorted(OPERATIONS - reached)}"


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "aclose")
    }


def test_sync_and_async_clients_have_the_same_methods() -> None:
    sync_methods = _public_methods(FirthClient)
    async_methods = _public_methods(AsyncFirthClient)
    assert sync_methods == async_methods
    assert all(inspect.iscoroutinefunction(getattr(AsyncFirthClient, name)) for name in async_methods)
    assert not any(inspect.iscoroutinefunction(getattr(FirthClient, name)) for name in sync_methods)
    # every method is exercised by the shared cases
    assert {case.method for case in CASES} == set(sync_methods)
    init_sync = inspect.signature(FirthClient.__init__).parameters
    init_async = inspect.signature(AsyncFirthClient.__init__).parameters
    assert list(init_sync) == list(init_async)


def test_the_client_needs_only_httpx_and_numpy() -> None:
    """Importing and using the client must not pull in the service or its dependencies."""
    code = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"firth_service", "firth_core", "firth_trainer", "fastapi", "pydantic", "faiss", "scipy"}:
            raise ImportError(f"firth_client imported {name}")
sys.meta_path.insert(0, Refuse())
import httpx
from firth_client import FirthClient, AsyncFirthClient
t = httpx.MockTransport(lambda r: httpx.Response(200, json={"a": "x", "b": "y", "similarity": 0.25}))
with FirthClient("http://x", transport=t) as c:
    assert c.similarity("x", "y") == 0.25
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
