"""The direct path for the hot GETs (service/direct_routes.py) answers exactly as FastAPI does.

Every request is sent to the real app twice: once as served (simple GETs answered by their
endpoints directly) and once with the direct path switched off (FastAPI's router and dependency
solver answer everything). Status, headers and body must be the same, byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan
from pydantic import AfterValidator

from firth_core.errors import InvalidQuery
from firth_service.app import create_app
from firth_service.direct_routes import direct_gets_of
from firth_service.registry import ModelRegistry
from tests.conftest import exact_settings

pytestmark = pytest.mark.anyio
HOT = ("neighbors", "similarity", "analogy", "vectors/king")
# the answers differ between two calls only in these (a fresh request id, the time it took)
VOLATILE = {"x-request-id", "date", "server-timing"}


@pytest.fixture(scope="module")
def apps(registry: ModelRegistry) -> tuple[FastAPI, FastAPI]:
    served, reference = create_app(exact_settings(), registry), create_app(exact_settings(), registry)
    direct_gets_of(reference).enabled = False
    return served, reference


async def answers(app: FastAPI, method: str, url: str) -> tuple[int, dict[str, str], bytes]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.request(method, url)
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, headers, response.content


async def assert_same(apps: tuple[FastAPI, FastAPI], url: str, method: str = "GET") -> int:
    served, reference = apps
    got, expected = await answers(served, method, url), await answers(reference, method, url)
    assert got == expected, url
    return got[0]


def test_the_hot_gets_are_answered_directly(apps: tuple[FastAPI, FastAPI]) -> None:
    """If FastAPI or Starlette changes the pieces the direct path reuses, it steps aside (every
    answer still right, only slower): this says so instead of letting it pass unseen."""
    table = direct_gets_of(apps[0])
    direct = {c.direct.route.path for c in table._table() if c.direct is not None}
    for hot in HOT:
        assert any(path.startswith(f"/v1/models/{{model}}/{hot.split('/')[0]}") for path in direct), hot
    # routes with a body, or a plain-def endpoint FastAPI runs in a thread, are not taken
    assert "/v1/models/{model}/evaluate" not in direct and "/healthz" not in direct


async def test_the_hot_gets_skip_fastapi_s_router(registry: ModelRegistry) -> None:
    """The comparisons here are of two paths only if the served app really takes the direct one."""
    served, _ = apps_with(registry, lambda app: None)
    layer = direct_gets_of(served)
    assert layer.active  # the table is built here, from the ExceptionMiddleware under it
    routed: list[str] = []
    inner = layer.app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await inner(scope, receive, send)

    layer.app = counting
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://t") as client:
        for url in ["/v1/models/tiny/neighbors?word=frog&k=2", "/v1/models/tiny/vectors/king"]:
            assert (await client.get(url)).status_code == 200
        assert (await client.get("/v1/models/tiny/neighbors?word=frog&k=0")).status_code == 422
    assert routed == ["/v1/models/tiny/neighbors"]  # only the invalid one went on to FastAPI


async def test_a_direct_answer_is_timed_under_its_route(apps: tuple[FastAPI, FastAPI]) -> None:
    served, _ = apps
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://t") as client:
        assert (await client.get("/v1/models/tiny/neighbors?word=frog&k=2")).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert 'route="/v1/models/{model}/neighbors"' in metrics


@pytest.mark.parametrize(
    "url",
    [
        # answered directly
        "/v1/models/tiny/neighbors?word=frog",
        "/v1/models/tiny/neighbors?word=FROG&k=3&method=3cosmul&exact=true&restrict_vocab=5",
        "/v1/models/default/neighbors?word=frog&k=2&k=4",  # the last of a repeated parameter
        "/v1/models/tiny/neighbors?word=frog&exact=1&unknown=x",
        "/v1/models/tiny/neighbors?word=fr%C3%B6g",  # unknown: 404 with suggestions
        "/v1/models/nope/neighbors?word=frog",  # unknown model: the dependency's 404
        "/v1/models/random/neighbors?word=w0001&k=1000&exact=true",
        "/v1/models/tiny/similarity?a=cat&b=dog",
        "/v1/models/tiny/similarity?a=cat&b=unicorn",
        "/v1/models/tiny/analogy?a=man&b=king&c=woman&k=2",
        "/v1/models/tiny/vectors/King",
        "/v1/models/tiny/vectors/a%2Fb",
        "/v1/models/tiny/vocabulary?offset=2&limit=3",
        "/v1/models",
        "/v1/models/tiny",
        "/readyz",
        "/",  # the explorer's page (a FileResponse)
        "/docs",
        "/redoc",
        # refused by FastAPI's validation (the direct path steps aside)
        "/v1/models/tiny/neighbors",
        "/v1/models/tiny/neighbors?word=",
        "/v1/models/tiny/neighbors?word=frog&k=0",
        "/v1/models/tiny/neighbors?word=frog&k=1001",
        "/v1/models/tiny/neighbors?word=frog&k=abc",
        "/v1/models/tiny/neighbors?word=frog&k=",
        "/v1/models/tiny/neighbors?word=frog&k=3.5",
        "/v1/models/tiny/neighbors?word=frog&method=cosine",
        "/v1/models/tiny/neighbors?word=frog&exact=maybe",
        "/v1/models/tiny/neighbors?word=frog&restrict_vocab=0",
        f"/v1/models/tiny/neighbors?word={'a' * 300}",
        "/v1/models/tiny/neighbors?word=a%0Ab",
        "/v1/models/tiny/neighbors?word=%00",
        "/v1/models/tiny/similarity?a=cat",
        "/v1/models/tiny/analogy?a=man&b=king",
        "/v1/models/tiny/vocabulary?limit=0",
        # the router's corners: slashes, encodings, line breaks, the last of repeated keys
        "/v1/models/tiny/neighbors/?word=frog",
        "/v1/models/tiny/vectors/king/",
        "/v1/models/tiny/vectors/",
        "/v1/models/tiny/vectors/king%0A",
        "/v1/models/tiny/vectors/%2E%2E",
        "/v1/models/tiny/vectors/king?word=x",
        "/v1/models/ti%0Any/neighbors?word=frog",
        "/v1/models/ti%2Fny/neighbors?word=frog",
        "/v1/models//neighbors?word=frog",
        "/v1/models/%20/neighbors?word=frog",
        "/v1/models/tiny/neighbors?word=frog&word=cat",
        "/v1/models/tiny/neighbors?word=frog;k=2",
        "/v1/models/tiny/neighbors?wo%72d=frog&k=%2B2",
        "/v1/models/tiny/neighbors?word=frog&k=%D9%A5",
        "/v1/models/tiny/neighbors?word=frog&exact=YES&restrict_vocab=",
        "/v1/models/tiny/vocabulary?offset=-1",
        "/v1/models/",
        "/readyz/",
        "/?x=1",
        "/docs",
        # not routes of the direct kind, or no route at all
        "/v1/models/tiny/evaluate",
        "/v1/models/tiny/neighbors/batch",
        "/v1/models/tiny/nothing-here",
        "/healthz",
        "/problems",
        "/openai/v1/models",
    ],
)
async def test_answers_as_fastapi_does(apps: tuple[FastAPI, FastAPI], url: str) -> None:
    await assert_same(apps, url)


async def test_other_methods_go_to_fastapi(apps: tuple[FastAPI, FastAPI]) -> None:
    assert await assert_same(apps, "/v1/models/tiny/neighbors?word=frog", "HEAD") == 405
    assert await assert_same(apps, "/v1/models/tiny/similarity?a=cat&b=dog", "DELETE") == 405


async def test_an_exception_in_the_endpoint_meets_the_app_s_handlers(
    apps: tuple[FastAPI, FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A domain error raised by the engine is the same problem+json; an unexpected one is not
    swallowed by the direct path (Starlette's ServerErrorMiddleware answers it as before)."""
    from firth_core.errors import InvalidVector
    from firth_service import engine

    def invalid(*args: Any) -> None:
        raise InvalidVector("a test's invalid vector")

    monkeypatch.setattr(engine, "neighbours", invalid)
    assert await assert_same(apps, "/v1/models/tiny/neighbors?word=frog") == 422

    def broken(*args: Any) -> None:
        raise RuntimeError("a test's bug")

    monkeypatch.setattr(engine, "neighbours", broken)
    for app in apps:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/v1/models/tiny/neighbors?word=frog")
        assert response.status_code == 500


async def test_dependency_overrides_are_honoured(apps: tuple[FastAPI, FastAPI]) -> None:
    from firth_service.routes.queries import get_model

    served, _ = apps
    tiny = served.state.registry.get("tiny")

    async def always_tiny() -> Any:
        return tiny

    served.dependency_overrides[get_model] = always_tiny
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=served), base_url="http://t"
        ) as client:
            response = await client.get("/v1/models/random/neighbors?word=frog&k=1")
    finally:
        served.dependency_overrides.clear()
    assert response.status_code == 200 and response.json()["model"] == "tiny"


KEYS = st.sampled_from(
    ["word", "k", "method", "exact", "restrict_vocab", "a", "b", "c", "offset", "limit", "x"]
)
VALUES = st.one_of(
    st.sampled_from(
        ["frog", "KING", "cat", "dog", "w0001", "3cosmul", "3cosadd", "true", "off", "1", "0", "10"]
    ),
    st.integers(-5, 2000).map(str),
    st.text(max_size=6),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(["tiny", "random", "default", "nope"]),
    route=st.sampled_from(
        ["neighbors", "similarity", "analogy", "vocabulary", "vectors/cat", "vectors/%E2%80%8B"]
    ),
    params=st.lists(st.tuples(KEYS, VALUES), max_size=5),
)
def test_any_query_is_answered_as_fastapi_does(
    apps: tuple[FastAPI, FastAPI], model: str, route: str, params: list[tuple[str, str]]
) -> None:
    url = str(httpx.URL(f"/v1/models/{model}/{route}", params=params))
    asyncio.run(assert_same(apps, url))


def test_the_route_table_is_built_at_start_up(registry: ModelRegistry) -> None:
    """Not in the first request's time: the lifespan's start-up builds it."""
    from starlette.testclient import TestClient

    app = create_app(exact_settings(), registry)
    with TestClient(app):
        assert direct_gets_of(app)._routes is not None


# -- routes someone may add later: the direct path must take them only where it answers as FastAPI


def apps_with(registry: ModelRegistry, add: Callable[[FastAPI], None]) -> tuple[FastAPI, FastAPI]:
    """Two apps as served, with the routes `add` puts in each; the second with the direct path off."""
    pair = create_app(exact_settings(), registry), create_app(exact_settings(), registry)
    for app in pair:
        add(app)
    direct_gets_of(pair[1]).enabled = False
    return pair


async def test_a_dependency_of_an_include_is_run(registry: ModelRegistry) -> None:
    """`include_router(..., dependencies=[...])` (an auth check, say): the route's own Dependant
    lacks them, the router's effective context has them."""

    async def refuse() -> None:
        raise HTTPException(403, "an include-level check")

    def add(app: FastAPI) -> None:
        router = APIRouter()

        @router.get("/extra/guarded")
        async def guarded() -> JSONResponse:
            return JSONResponse({"ok": True})

        app.include_router(router, dependencies=[Depends(refuse)])

    assert await assert_same(apps_with(registry, add), "/extra/guarded") == 403


async def test_a_path_parameter_of_an_include_prefix_is_read(registry: ModelRegistry) -> None:
    def add(app: FastAPI) -> None:
        router = APIRouter()

        @router.get("/items")
        async def items(tenant: str) -> JSONResponse:
            return JSONResponse({"tenant": tenant})

        app.include_router(router, prefix="/extra/{tenant}")

    assert await assert_same(apps_with(registry, add), "/extra/acme/items") == 200


class _StampedRoute(APIRoute):
    """A route class of the usual kind: its handler adds to every answer (timing, a header)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def stamped(request: Request) -> Response:
            response = await handler(request)
            response.headers["x-stamped"] = "yes"
            return response

        return stamped


async def test_a_route_class_s_own_handler_runs(registry: ModelRegistry) -> None:
    def add(app: FastAPI) -> None:
        router = APIRouter(route_class=_StampedRoute)

        @router.get("/extra/stamped")
        async def stamped() -> JSONResponse:
            return JSONResponse({"ok": True})

        app.include_router(router)

    assert await assert_same(apps_with(registry, add), "/extra/stamped") == 200


async def visits(request: Request) -> int:
    request.state.visits = getattr(request.state, "visits", 0) + 1
    return int(request.state.visits)


async def counted(request: Request, visit: Annotated[int, Depends(visits, use_cache=False)]) -> int:
    return visit


async def test_a_dependency_used_twice_is_called_once(registry: ModelRegistry) -> None:
    """FastAPI caches a dependency's value for the request (use_cache=True, the default), after
    solving its own dependencies (one with use_cache=False runs again)."""

    def add(app: FastAPI) -> None:
        @app.get("/extra/twice")
        async def twice(
            a: Annotated[int, Depends(visits)], b: Annotated[int, Depends(visits)]
        ) -> JSONResponse:
            return JSONResponse([a, b])

        @app.get("/extra/nested")
        async def nested(
            request: Request, a: Annotated[int, Depends(counted)], b: Annotated[int, Depends(counted)]
        ) -> JSONResponse:
            return JSONResponse([a, b, request.state.visits])

    pair = apps_with(registry, add)
    assert await assert_same(pair, "/extra/twice") == 200
    assert await assert_same(pair, "/extra/nested") == 200
    assert "/extra/nested" in {c.direct.route.path for c in direct_gets_of(pair[0])._table() if c.direct}


async def test_url_for_works_in_a_direct_endpoint(registry: ModelRegistry) -> None:
    """Starlette's router puts itself in scope["router"]; request.url_for reads it."""

    def add(app: FastAPI) -> None:
        @app.get("/extra/link")
        async def link(request: Request) -> JSONResponse:
            return JSONResponse({"self": str(request.url_for("link"))})

    assert await assert_same(apps_with(registry, add), "/extra/link") == 200


def refuse_odd(value: str) -> str:
    if value == "odd":  # a domain error, not a ValueError: pydantic lets it through
        raise InvalidQuery("an odd value")
    return value


async def test_an_exception_while_validating_meets_the_app_s_handlers(registry: ModelRegistry) -> None:
    """FastAPI validates inside the route's exception wrapper: an exception a validator lets
    through meets the app's handlers (a 422 problem), not the server-error path (a 500 to the
    access log and metrics, and the exception raised out of the app)."""

    def add(app: FastAPI) -> None:
        @app.get("/extra/checked")
        async def checked(q: Annotated[str, AfterValidator(refuse_odd)]) -> JSONResponse:
            return JSONResponse({"q": q})

    pair = apps_with(registry, add)
    assert await assert_same(pair, "/extra/checked?q=even") == 200
    assert await assert_same(pair, "/extra/checked?q=odd") == 422


@pytest.mark.xfail(
    strict=True,
    reason="DirectGets builds its route table at start-up; FastAPI re-reads an included router's "
    "routes when they change (firth adds none after start-up; see direct_routes.py's docstring)",
)
async def test_a_route_added_after_the_first_request_is_seen(registry: ModelRegistry) -> None:
    first, second = APIRouter(), APIRouter()

    @second.get("/extra/item")
    async def old() -> JSONResponse:
        return JSONResponse("old")

    def add(app: FastAPI) -> None:
        app.include_router(first)
        app.include_router(second)

    pair = apps_with(registry, add)
    assert await assert_same(pair, "/extra/item") == 200

    @first.get("/extra/item")  # added to an included router: FastAPI's router now picks this one
    async def new() -> JSONResponse:
        return JSONResponse("new")

    assert await assert_same(pair, "/extra/item") == 200


class _Retired(Exception):
    pass


async def test_an_exception_from_a_handler_meets_the_outer_handlers(registry: ModelRegistry) -> None:
    """FastAPI's route catches an endpoint's exception, and Starlette's ExceptionMiddleware around
    the router catches what a handler raises in turn (here an HTTPException: a 410 problem)."""

    async def retired(request: Request, exc: Exception) -> Response:
        raise HTTPException(410, "retired")

    def add(app: FastAPI) -> None:
        app.add_exception_handler(_Retired, retired)

        @app.get("/extra/retired")
        async def gone() -> JSONResponse:
            raise _Retired()

    assert await assert_same(apps_with(registry, add), "/extra/retired") == 410


class _Span(NonRecordingSpan):
    def __init__(self, name: str, attributes: Mapping[str, Any] | None) -> None:
        super().__init__(INVALID_SPAN_CONTEXT)
        self.name, self.attributes = name, dict(attributes or {})

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def update_name(self, name: str) -> None:
        self.name = name

    def is_recording(self) -> bool:
        return True


class _Tracer(trace.Tracer):
    def __init__(self) -> None:
        self.spans: list[_Span] = []

    def start_span(
        self,
        name: str,
        context: Any = None,
        kind: Any = None,
        attributes: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> _Span:
        span = _Span(name, attributes)
        self.spans.append(span)
        return span

    @contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[_Span]:  # type: ignore[override]
        yield self.start_span(name, *args, **kwargs)


class _TracerProvider(trace.TracerProvider):
    def __init__(self) -> None:
        self.tracer = _Tracer()

    def get_tracer(self, *args: Any, **kwargs: Any) -> _Tracer:
        return self.tracer


async def test_fastapi_s_own_telemetry_sees_the_route(registry: ModelRegistry) -> None:
    """With OpenTelemetry configured (a tracer provider), FastAPI names the server span after the
    route (`http.route`) and opens spans for the dependencies and the endpoint."""
    traced = apps_with(registry, lambda app: None)
    providers = []
    for app in traced:
        provider = _TracerProvider()
        app._telemetry["tracer_provider"] = provider  # what FastAPI(telemetry={...}) sets
        providers.append(provider)
    assert await assert_same(traced, "/v1/models/tiny/neighbors?word=frog&k=2") == 200
    served, reference = (
        [(s.name, s.attributes.get("http.route")) for s in p.tracer.spans] for p in providers
    )
    assert ("GET /v1/models/{model}/neighbors", "/v1/models/{model}/neighbors") in reference
    assert served == reference
