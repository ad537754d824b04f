"""API keys, the admin key and CORS on the real app (service/auth.py), in process.

The app is the real one over the test models; `/admin/ping` is a route registered by the test (no
admin route exists yet) to show the guard covers the whole prefix."""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from firth_client import AsyncFirthClient, UnauthorizedError
from firth_service import auth
from firth_service.app import create_app
from firth_service.auth import AccessKeys, KeyFileError, check_access, read_keys
from firth_service.logging_setup import JsonFormatter
from firth_service.registry import ModelRegistry
from firth_service.settings import Settings
from tests.conftest import exact_settings

API_KEY = "api-key-Zq8vY2mR4tXw"
OTHER_API_KEY = "second.key_with~all+b64/chars=="
ADMIN_KEY = "admin-key-Pp3nK7cL1sDd"
WRONG_KEY = "wrong-key-Hh5gF9bJ2aQe"
ORIGIN = "https://explorer.example"

pytestmark = pytest.mark.anyio


def keys_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def app_with(registry: ModelRegistry, **settings: Any) -> FastAPI:
    app = create_app(exact_settings(**settings), registry)

    @app.post("/admin/ping")
    async def ping() -> dict[str, str]:  # stands in for the admin routes to come (POST /admin/reload)
        return {"pong": "yes"}

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, Path]:
    return {
        "api_keys": keys_file(
            tmp_path, "keys", f"# clients\n\n{API_KEY}   # alice\n  {OTHER_API_KEY}\n# old: revoked\n"
        ),
        "admin_key": keys_file(tmp_path, "admin", f"{ADMIN_KEY}\n"),
    }


@pytest.fixture
async def guarded(registry: ModelRegistry, key_files: dict[str, Path]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_with(registry, **key_files, cors_origins=[ORIGIN])) as client:
        yield client


# -- the keys file ------------------------------------------------------------------------------


def test_keys_file_lines_comments_and_blanks(key_files: dict[str, Path], tmp_path: Path) -> None:
    assert read_keys(key_files["api_keys"], "api_keys") == (API_KEY, OTHER_API_KEY)
    windows = tmp_path / "notepad"
    windows.write_bytes(f"\ufeff{API_KEY}\r\n{OTHER_API_KEY}\r\n".encode())  # a BOM and CRLF lines
    assert read_keys(windows, "api_keys") == (API_KEY, OTHER_API_KEY)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the keys file: No such file or directory"),
        ("", "holds no key"),
        ("# only a comment\n\n   \n", "holds no key"),
        (f"{API_KEY}\nalice: {WRONG_KEY}\n", "line 2 of the keys file is not a bearer token"),
        ('"quoted-key"\n', "line 1 of the keys file is not a bearer token"),
        ("k" * (1024 * 1024 + 1), "larger than 1 MiB"),
    ],
)
def test_bad_keys_files_are_one_clear_error(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "secret-keys-path"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeyFileError) as caught:
        read_keys(path, "api_keys")
    message = str(caught.value)
    assert message.startswith("--api-keys / FIRTH_API_KEYS: ") and expected in message
    assert "\n" not in message
    # never the path (a key may have been put there) nor a line's text
    assert "secret-keys-path" not in message and WRONG_KEY not in message and "quoted" not in message


def test_a_directory_or_a_fifo_is_not_a_keys_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it would block the start for ever
    for path in (tmp_path, fifo):
        with pytest.raises(KeyFileError, match="not a regular file"):
            read_keys(path, "admin_key")


def test_every_key_is_compared_whatever_matches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Constant time: the first key matching still compares all of them (no early exit)."""
    path = keys_file(tmp_path, "keys", "\n".join([API_KEY, OTHER_API_KEY, WRONG_KEY]))
    keys = AccessKeys.from_settings(exact_settings(api_keys=path))
    compared: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    assert check_access(keys, "/v1/models", lambda: API_KEY.encode()) is None
    assert len(compared) == 3
    assert {len(a) for pair in compared for a in pair} == {32}  # digests: equal lengths whatever was sent
    assert API_KEY.encode() not in {a for pair in compared for a in pair}  # never the raw key


# -- who may ask --------------------------------------------------------------------------------

OPEN = [
    "/healthz",
    "/readyz",
    "/problems",
    "/",
    "/static/explorer/explorer.js",
    "/docs",
    "/redoc",
    "/openapi.json",
]


@pytest.mark.parametrize("path", OPEN)
async def test_open_paths_need_no_key(guarded: httpx.AsyncClient, path: str) -> None:
    assert (await guarded.get(path)).status_code == 200


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    return body


async def test_the_api_needs_a_key(guarded: httpx.AsyncClient) -> None:
    missing = await guarded.get("/v1/models")
    body = assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == 'Bearer realm="firth"'  # no error code: none was sent
    assert "Authorization: Bearer" in body["detail"] and body["instance"] == "/v1/models"

    wrong = await guarded.get("/v1/models", headers=bearer(WRONG_KEY))
    assert_problem(wrong, 401, "unauthorized")
    assert wrong.headers["www-authenticate"].startswith('Bearer realm="firth", error="invalid_token"')

    for headers in (
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer "},
        {"Authorization": API_KEY},
    ):
        assert_problem(await guarded.get("/v1/models", headers=headers), 401, "unauthorized")

    for key in (API_KEY, OTHER_API_KEY, ADMIN_KEY):  # either API key, and the admin key too
        ok = await guarded.get("/v1/models", headers=bearer(key))
        assert ok.status_code == 200 and ok.json()["models"]
    # the scheme is case-insensitive (RFC 9110 11.1); POST bodies are guarded as well
    assert (
        await guarded.get("/v1/models", headers={"Authorization": f"bearer {API_KEY}"})
    ).status_code == 200
    post = "/v1/models/tiny/similarity"
    assert_problem(await guarded.post(post, json={"pairs": [["king", "queen"]]}), 401, "unauthorized")
    answered = await guarded.post(post, json={"pairs": [["king", "queen"]]}, headers=bearer(API_KEY))
    assert answered.status_code == 200


async def test_unknown_paths_are_refused_before_routing(guarded: httpx.AsyncClient) -> None:
    """Default deny: without a key nobody learns which paths exist."""
    assert_problem(await guarded.get("/v2/anything"), 401, "unauthorized")
    assert_problem(await guarded.get("/v2/anything", headers=bearer(API_KEY)), 404, "not-found")


async def test_metrics_and_admin_need_the_admin_key(guarded: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/metrics"), ("POST", "/admin/ping"), ("GET", "/admin")):
        assert_problem(await guarded.request(method, path), 401, "unauthorized")
        wrong = await guarded.request(method, path, headers=bearer(WRONG_KEY))
        assert_problem(wrong, 401, "unauthorized")
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        api = await guarded.request(method, path, headers=bearer(API_KEY))
        assert_problem(api, 403, "forbidden")
        assert 'error="insufficient_scope"' in api.headers["www-authenticate"]
    assert (await guarded.get("/metrics", headers=bearer(ADMIN_KEY))).text.startswith("# HELP")
    pong = await guarded.post("/admin/ping", headers=bearer(ADMIN_KEY))
    assert pong.status_code == 200 and pong.json() == {"pong": "yes"}


@pytest.mark.parametrize("api_keys", [True, False])
async def test_admin_is_refused_without_an_admin_key(
    registry: ModelRegistry, key_files: dict[str, Path], api_keys: bool
) -> None:
    settings = {"api_keys": key_files["api_keys"]} if api_keys else {}
    async with client_for(app_with(registry, **settings)) as client:
        for headers in ({}, bearer(API_KEY), bearer(ADMIN_KEY)):
            body = assert_problem(await client.post("/admin/ping", headers=headers), 403, "admin-disabled")
            assert "FIRTH_ADMIN_KEY" in body["detail"]
        # /metrics is guarded like the API: an API key when keys are on, open when they are off
        if api_keys:
            assert_problem(await client.get("/metrics"), 401, "unauthorized")
        assert (await client.get("/metrics", headers=bearer(API_KEY))).status_code == 200
        if not api_keys:
            assert (await client.get("/metrics")).status_code == 200
            assert (await client.get("/v1/models")).status_code == 200  # keys off: as before


async def test_admin_key_alone_leaves_the_api_open(
    registry: ModelRegistry, key_files: dict[str, Path]
) -> None:
    async with client_for(app_with(registry, admin_key=key_files["admin_key"])) as client:
        assert (await client.get("/v1/models")).status_code == 200
        assert_problem(await client.get("/metrics"), 401, "unauthorized")
        assert_problem(await client.get("/metrics", headers=bearer(API_KEY)), 401, "unauthorized")
        assert (await client.get("/metrics", headers=bearer(ADMIN_KEY))).status_code == 200


async def test_the_catalogue_lists_the_new_problems(guarded: httpx.AsyncClient) -> None:
    served = {p["type"]: p["status"] for p in (await guarded.get("/problems")).json()["problems"]}
    assert served["/problems/unauthorized"] == 401
    assert served["/problems/forbidden"] == 403 and served["/problems/admin-disabled"] == 403


# -- CORS ---------------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_is_answered_before_the_key_check(guarded: httpx.AsyncClient) -> None:
    answer = await guarded.options("/v1/models/tiny/similarity", headers=preflight(ORIGIN))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    assert "POST" in answer.headers["access-control-allow-methods"]
    # a 401 carries the CORS headers, so the page can read it and ask for a key
    refused = await guarded.get("/v1/models", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
    ok = await guarded.get("/v1/models", headers={"Origin": ORIGIN, **bearer(API_KEY)})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    # another origin is not allowed
    other = await guarded.get("/v1/models", headers={"Origin": "https://evil.example", **bearer(API_KEY)})
    assert "access-control-allow-origin" not in other.headers
    assert (await guarded.options("/v1/models", headers=preflight("https://evil.example"))).status_code == 400


async def test_cors_is_off_by_default(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/models", headers={"Origin": ORIGIN})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    pre = await api.options("/v1/models", headers=preflight(ORIGIN))
    assert "access-control-allow-origin" not in pre.headers


def test_cors_origins_setting() -> None:
    settings = Settings(cors_origins="https://a.example/, http://localhost:3000")  # type: ignore[arg-type]
    assert settings.cors_origins == ["https://a.example", "http://localhost:3000"]
    assert Settings(cors_origins="*").cors_origins == ["*"]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(cors_origins="https://a.example/app")  # type: ignore[arg-type]


# -- the OpenAPI document -----------------------------------------------------------------------


async def test_served_schema_declares_the_bearer_scheme(
    guarded: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    spec = (await guarded.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert spec["security"] == [{"bearerAuth": []}]  # keys on: required
    for path in ("/healthz", "/readyz", "/problems"):
        assert spec["paths"][path]["get"]["security"] == []
        assert "401" not in spec["paths"][path]["get"]["responses"]
    neighbors = spec["paths"]["/v1/models/{model}/neighbors"]["get"]
    assert "security" not in neighbors  # the global requirement applies
    assert "WWW-Authenticate" in neighbors["responses"]["401"]["headers"]
    # keys off: the same scheme, optional (the empty requirement allows anonymous calls)
    assert (await api.get("/openapi.json")).json()["security"] == [{"bearerAuth": []}, {}]


# -- the client and the logs --------------------------------------------------------------------


async def test_client_sends_its_api_key(registry: ModelRegistry, key_files: dict[str, Path]) -> None:
    app = app_with(registry, **key_files)
    transport = httpx.ASGITransport(app=app)
    async with AsyncFirthClient("http://test", api_key=API_KEY, transport=transport) as client:
        assert [m.name for m in await client.models()] == ["tiny", "random"]
        assert API_KEY not in repr(client) and API_KEY not in repr(client._http.headers)
    for key in (None, WRONG_KEY):
        async with AsyncFirthClient("http://test", api_key=key, transport=transport) as client:
            with pytest.raises(UnauthorizedError) as caught:
                await client.models()
            assert caught.value.status == 401 and caught.value.type == "/problems/unauthorized"


async def test_keys_never_reach_the_logs(
    registry: ModelRegistry, key_files: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Every record logged while keys are checked, formatted as the service writes them."""
    app = app_with(registry, **key_files)
    requests: list[Callable[[httpx.AsyncClient], Any]] = [
        lambda c: c.get("/v1/models", headers=bearer(API_KEY)),
        lambda c: c.get("/v1/models", headers=bearer(WRONG_KEY)),
        lambda c: c.get("/metrics", headers=bearer(API_KEY)),
        lambda c: c.post("/admin/ping", headers=bearer(ADMIN_KEY)),
        lambda c: c.get("/v1/models/tiny/vectors/nope", headers=bearer(API_KEY)),
    ]
    with caplog.at_level(logging.DEBUG):
        async with client_for(app) as client:
            for request in requests:
                await request(client)
    access = [(r.__dict__["route"], r.__dict__["status"]) for r in caplog.records if r.name == "firth.access"]
    assert access == [  # the lines were captured; a refusal comes before routing
        ("/v1/models", 200),
        ("unmatched", 401),
        ("unmatched", 403),
        ("/admin/ping", 200),
        ("/v1/models/{model}/vectors/{word}", 404),
    ]
    formatter = JsonFormatter()
    text = "\n".join([formatter.format(r) for r in caplog.records] + [caplog.text])
    for key in (API_KEY, WRONG_KEY, ADMIN_KEY):
        assert key not in text
