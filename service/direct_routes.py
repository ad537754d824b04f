"""The hot GET queries answered by their own endpoints, without FastAPI's router and dependency solver.

FastAPI's routing (the path matched against the app's routes one wrapper at a time) and its
dependency solving (the tree and its scopes) cost 65-130 µs a request: as much as a whole
`GET …/vectors/{word}` answer, a sixth of a `GET …/neighbors` (`bench/direct_cost.py` prints both
paths). Under a flood those microseconds lengthen the event loop's turn, which every other
connection waits out.

`DirectGets` is the innermost of firth's middleware. It picks the route Starlette's router would
pick (the app's routes in order, a GET matching the path in full), and when that route is one of
the simple kind (below) it calls the route's own endpoint:
- parameters are read and validated by FastAPI's own `request_params_to_args` against the route's
  own fields, so every rule keeps one owner; a request with any error goes on to FastAPI
  unchanged, which answers it exactly as before (its 422, or a 404 from the dependency first);
- an exception goes to the app's exception handlers through Starlette's own wrapper, as inside
  FastAPI.

A route is simple (checked once, from FastAPI's Dependant) when it is a plain APIRoute (no route
class with a handler of its own) answering GET only, its endpoint is `async` and declares that it
returns a Response (no response_model serialisation to repeat), and it takes only query and path
parameters, the Request, and `async` dependencies that take only those themselves: no body,
headers, cookies, security, background tasks or Response parameter.
A route is read as its router serves it (FastAPI's route context: the include's prefix and
dependencies), and a dependency met twice in a request is called once, as FastAPI caches it.
Anything else (HEAD, a root path, dependency overrides, FastAPI's own OpenTelemetry on, a
validator that raises, a newer Starlette without the pieces used here) goes to FastAPI.

The route table is read once, at start-up: a route added to the app afterwards is answered by
FastAPI, but one added to an already included router may lose to a route of the table that
FastAPI would now rank after it (firth adds no routes after start-up).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from firth_service.observability import flat_routes

log = logging.getLogger("firth.direct")

try:  # FastAPI's and Starlette's own steps, reused so their rules keep one owner
    from fastapi.dependencies.utils import request_params_to_args
    from starlette._exception_handler import wrap_app_handling_exceptions
    from starlette.middleware.exceptions import ExceptionMiddleware
except ImportError:  # pragma: no cover - a FastAPI or Starlette without them: FastAPI answers all
    request_params_to_args = None  # type: ignore[assignment]


@dataclass(frozen=True)
class _Call:
    """An async function and how to fill its parameters from a validated request."""

    call: Callable[..., Any]
    request_name: str | None
    param_names: tuple[str, ...]  # its own query and path parameters
    dependencies: tuple[tuple[str, _Call], ...]  # (parameter name, what fills it)
    use_cache: bool = True  # as a dependency: reuse its value if the request already has one


@dataclass(frozen=True)
class DirectRoute:
    route: APIRoute
    endpoint: _Call
    query_fields: tuple[Any, ...]  # FastAPI ModelFields, the endpoint's and its dependencies'
    path_fields: tuple[Any, ...]
    convertors: Mapping[str, Any]


@dataclass(frozen=True)
class _Candidate:
    """One of the app's routes as the router sees it for a GET: what path it matches, and whether
    a matching GET is answered here (`direct`) or by FastAPI (`None`)."""

    path_regex: re.Pattern[str]
    takes_get: bool  # False: a match is only partial (another method), the router looks further
    direct: DirectRoute | None


def _simple_call(dependant: Dependant) -> _Call | None:
    if not inspect.iscoroutinefunction(dependant.call):
        return None  # FastAPI runs a plain function in its thread pool
    if getattr(dependant, "concurrency", None) is not None or dependant.own_oauth_scopes:
        return None  # FastAPI holds a semaphore around it, or caches it per security scope
    if (
        dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    dependencies = []
    for sub in dependant.dependencies:
        inner = _simple_call(sub)
        if inner is None or sub.name is None or getattr(sub, "scope", None) is not None:
            return None
        dependencies.append((sub.name, inner))
    names = tuple(f.name for f in [*dependant.query_params, *dependant.path_params])
    return _Call(
        dependant.call, dependant.request_param_name, names, tuple(dependencies), dependant.use_cache
    )


def _fields(dependant: Dependant, kind: str) -> list[Any]:
    own = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        own.extend(_fields(sub, kind))
    return own


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        annotation = inspect.signature(endpoint, eval_str=True).return_annotation
    except (NameError, TypeError, SyntaxError):
        return False
    return isinstance(annotation, type) and issubclass(annotation, Response)


def direct_route(route: APIRoute, effective: Any = None) -> DirectRoute | None:
    """`route` as a DirectRoute when it is of the simple kind (module docstring), else None.

    `effective` is the route as an included router serves it (FastAPI's route context): its path
    carries the include's prefix and its Dependant the include's dependencies, which the route's
    own lack. FastAPI answers from it, so the direct path reads it too."""
    if type(route) is not APIRoute:
        return None  # a route class of its own may answer in its own way (get_route_handler)
    served = route if effective is None else effective
    dependant: Dependant | None = getattr(served, "dependant", None)
    convertors: Mapping[str, Any] | None = getattr(served, "param_convertors", None)
    if dependant is None or convertors is None or dependant.call is not route.endpoint:
        return None
    if served.methods != {"GET"} or not _returns_response(route.endpoint):
        return None
    endpoint = _simple_call(dependant)
    if endpoint is None:
        return None
    query_fields, path_fields = _fields(dependant, "query_params"), _fields(dependant, "path_params")
    names = [f.name for f in query_fields + path_fields]
    if len(set(names)) != len(names) or set(f.name for f in path_fields) != set(convertors):
        return None  # one name read in two places, or a path parameter no field declares
    return DirectRoute(route, endpoint, tuple(query_fields), tuple(path_fields), convertors)


def candidates(routes: Iterable[BaseRoute]) -> list[_Candidate]:
    """The app's routes in the router's order, each with what a GET matching it gets."""
    found = []
    for context in flat_routes(routes):
        route = getattr(context, "original_route", context)
        regex = getattr(context, "path_regex", None)
        if regex is None:
            return []  # a route kind this module does not know: let FastAPI route everything
        if isinstance(route, Mount):
            found.append(_Candidate(regex, True, None))
            continue
        methods = getattr(context, "methods", None)
        takes_get = methods is None or "GET" in methods
        effective = None if context is route else context
        direct = direct_route(route, effective) if isinstance(route, APIRoute) and takes_get else None
        found.append(_Candidate(regex, takes_get, direct))
    return found


class DirectGets:
    """Pure ASGI middleware, the innermost of firth's (module docstring)."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.enabled = True  # False: FastAPI answers everything (the tests' reference)
        # built at start-up (the lifespan) or on the first request: routes are added after middleware
        self._routes: list[_Candidate] | None = None
        self._handlers: tuple[Any, Any] | None = None

    @property
    def active(self) -> bool:
        """Whether any route is answered here (False: every request goes to FastAPI)."""
        return any(c.direct is not None for c in self._table())

    def _table(self) -> list[_Candidate]:
        if self._routes is None:
            inner = self.app
            usable = request_params_to_args is not None and isinstance(inner, ExceptionMiddleware)
            self._routes = candidates(self.fastapi_app.routes) if usable else []
            if isinstance(inner, ExceptionMiddleware):  # the handlers it hands the routes under it
                self._handlers = (inner._exception_handlers, inner._status_handlers)
            direct = [c.direct.route.path for c in self._routes if c.direct is not None]
            log.debug("answered without FastAPI's router: %s", ", ".join(direct) or "none")
        return self._routes

    def _pick(self, path: str) -> tuple[DirectRoute, dict[str, Any]] | None:
        for candidate in self._table():
            match = candidate.path_regex.match(path)
            if match is None or not candidate.takes_get:
                continue
            direct = candidate.direct
            if direct is None:
                return None
            params = {
                name: direct.convertors[name].convert(value) for name, value in match.groupdict().items()
            }
            return direct, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self._table()  # built at start-up (~20 ms), not in the first request's time
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or scope.get("root_path")
            or self.fastapi_app.dependency_overrides
            or scope.get("fastapi.telemetry") is not None  # FastAPI's spans name the route it picks
        ):
            await self.app(scope, receive, send)
            return
        try:
            picked = self._pick(scope["path"])
            if picked is not None:
                direct, path_params = picked
                query = QueryParams(scope["query_string"])
                values, errors = request_params_to_args(direct.query_fields, query)
                path_values, path_errors = request_params_to_args(direct.path_fields, path_params)
        except Exception:  # a convertor or validator that raised: FastAPI raises it inside its
            picked = None  # exception wrapper, where the app's handlers answer it
        if picked is None or errors or path_errors:
            await self.app(scope, receive, send)  # FastAPI answers the error, in its own words
            return
        values.update(path_values)
        scope["path_params"] = path_params
        scope["endpoint"] = direct.route.endpoint
        scope["route"] = direct.route
        scope["starlette.exception_handlers"] = self._handlers
        request = Request(scope, receive, send)

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            response = await _run(direct.endpoint, request, values, {})
            if not isinstance(response, Response):
                raise TypeError(
                    f"{direct.route.path}: the endpoint returned {type(response).__name__}, not a Response"
                )
            await response(scope, receive, send)

        # twice, as in FastAPI: its route's wrapper, then the ExceptionMiddleware's around the
        # router, which answers what a handler raised in turn
        inner = wrap_app_handling_exceptions(answer, request)
        await wrap_app_handling_exceptions(inner, request)(scope, receive, send)


async def _run(
    call: _Call, request: Request, values: Mapping[str, Any], cache: dict[Callable[..., Any], Any]
) -> Any:
    """call's dependencies in order, then call itself, as FastAPI's solve_dependencies calls them."""
    return await call.call(**await _arguments(call, request, values, cache))


async def _arguments(
    call: _Call, request: Request, values: Mapping[str, Any], cache: dict[Callable[..., Any], Any]
) -> dict[str, Any]:
    kwargs = {name: values[name] for name in call.param_names}
    for name, dependency in call.dependencies:
        # FastAPI solves a dependency's own dependencies first, then takes the value the request
        # already has for it (a dependency met twice is called once) unless it says use_cache=False
        arguments = await _arguments(dependency, request, values, cache)
        if dependency.use_cache and dependency.call in cache:
            kwargs[name] = cache[dependency.call]
        else:
            kwargs[name] = await dependency.call(**arguments)
        cache.setdefault(dependency.call, kwargs[name])
    if call.request_name is not None:
        kwargs[call.request_name] = request
    return kwargs


def direct_gets_of(app: FastAPI) -> DirectGets:
    """The app's DirectGets layer (building its middleware stack if no request has yet), for the
    tests and benchmarks that compare it switched on and off (`.enabled`)."""
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while not isinstance(layer, DirectGets):
        layer = layer.app  # a layer without .app raises: the direct path is not installed
    return layer
