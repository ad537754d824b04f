"""Per-request metrics and access log: a pure ASGI middleware, and `install_observability(app)`.

Requests are labelled by route TEMPLATE (`/v1/models/{model}/neighbors`), never the raw path:
paths and query strings carry the user's words, which would make label sets unbounded and put
user input in the logs. Request bodies are never read here.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from starlette.datastructures import State
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firth_service.logging_setup import request_id_var
from firth_service.metrics import Metrics, current_metrics, metrics_endpoint

access_log = logging.getLogger("firth.access")
REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id (a UUID, a trace id) if it is short and harmless in logs and headers.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SAFE_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()  # 128 random bits, like a UUID4, for a fifth of the cost


class RouteTemplates:
    """The matched route's path template, or "unmatched".

    FastAPI puts its own routes in `scope["route"]`; plain Starlette routes and mounts
    (/openapi.json, /metrics, static files) only leave their endpoint in `scope["endpoint"]`, so
    those are looked up in a map built from the app's routes (rebuilt if a route was added).
    An answer given before routing ran has neither; with `match_path` its path is matched against
    the routes as the router would have (a full match first, else one that only lacks the method)."""

    def __init__(self, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self._routes = routes
        self._by_endpoint: dict[Any, str] = {}

    def __call__(self, scope: Scope, *, match_path: bool = False) -> str:
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return self._matching(scope) if match_path else UNMATCHED
        template = self._by_endpoint.get(endpoint)
        if template is None:
            self._by_endpoint = {
                getattr(r, "endpoint", None) or getattr(r, "app", None): r.path_format  # type: ignore[attr-defined]
                for r in self._routes()
                if getattr(r, "path_format", None)
            }
            template = self._by_endpoint.setdefault(endpoint, UNMATCHED)  # never rebuild for it again
        return template

    def _matching(self, scope: Scope) -> str:
        # matches() may note things in the scope it is given: hand it only what it reads
        probe = {key: scope[key] for key in ("type", "path", "root_path", "method") if key in scope}
        partial: str | None = None
        for route in flat_routes(self._routes()):
            match, _ = route.matches(dict(probe))
            if match is Match.FULL:
                return str(route.path_format or UNMATCHED)
            if match is Match.PARTIAL and partial is None:
                partial = route.path_format
        return partial or UNMATCHED


def flat_routes(routes: Iterable[BaseRoute]) -> Iterable[Any]:
    """Every route with its full path template. Recent FastAPI keeps an included router whole in
    `app.routes` (its routes are reached through `iter_route_contexts`); earlier ones list them flat."""
    included: Callable[[list[BaseRoute]], Iterable[Any]] | None = getattr(
        fastapi.routing, "iter_route_contexts", None
    )
    return routes if included is None else included(list(routes))


_CLOSE = (b"connection", b"close")
# Answered before routing by the body limit (middleware.py), for a path that is usually a route:
# counted under that route. Refusals by key or by the in-flight cap (401, 403, 429) stay
# "unmatched", so a flood of them costs no route matching.
_LABELLED_BY_PATH = frozenset({413})


class Observability:
    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: Callable[[], Iterable[BaseRoute]], state: State
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_template = RouteTemplates(routes)
        self.state = state  # the app's: `draining` is set when the worker is told to stop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = request_id_from(scope)
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 500  # if the app raises before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
                if self.state.draining:  # keep-alive clients move to a worker that stays
                    message["headers"].append(_CLOSE)
            await send(message)

        id_token = request_id_var.set(request_id)
        metrics_token = current_metrics.set(self.metrics)
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Leave the request id set: the 500 handler runs outside this middleware (Starlette's
            # ServerErrorMiddleware) and its log line should carry the id. Each request runs in
            # its own task under a server, so it does not leak into the next request.
            self._finish(scope, status, started, request_id)
            raise
        self._finish(scope, status, started, request_id)
        request_id_var.reset(id_token)
        current_metrics.reset(metrics_token)

    def _finish(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = perf_counter() - started
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = self.route_template(scope, match_path=status in _LABELLED_BY_PATH)
        self.metrics.observe_request(method, route, status, seconds)
        level = logging.ERROR if status >= 500 else logging.INFO
        if access_log.isEnabledFor(level):
            access_log.log(
                level,
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                },
            )


def install_observability(app: FastAPI) -> Metrics:
    """Metrics and access logs for every request, and `GET /metrics` (kept out of the OpenAPI
    schema: it is for Prometheus, not API clients). Call after the other middleware so this one
    is outermost and also times and counts their answers (a 413 from the body limit)."""
    metrics = Metrics(lambda: getattr(app.state, "registry", None))
    app.state.metrics = metrics
    app.add_middleware(Observability, metrics=metrics, routes=lambda: app.routes, state=app.state)
    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return metrics
