"""The one error table: domain exceptions -> HTTP status and an RFC 9457 problem+json body.

Routes never catch exceptions themselves. Exception text from core code is written for users
(see firth_core/errors.py); anything unexpected becomes a generic 500 whose details go to the
log only, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from firth_core.errors import (
    ArtifactError,
    ConfigurationError,
    DimensionMismatch,
    EmptyQuery,
    EmptyText,
    FirthError,
    IdOutOfRange,
    InputFormatError,
    InvalidQuery,
    InvalidVector,
    NotAClassifier,
    OutputTooLarge,
    UnknownModel,
    UnknownWord,
    VectorizationError,
)
from firth_service.logging_setup import request_id_var
from firth_service.validation_loc import client_loc

log = logging.getLogger("firth.errors")
PROBLEM_JSON = "application/problem+json"


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body exceeds {limit} bytes")


class OverBudget(Exception):
    """A request whose shape exceeds the cost budget (service/budget.py), refused before computing."""

    def __init__(self, what: str, estimate: int, limit: int, unit: str, advice: str = "") -> None:
        self.what, self.estimate, self.limit, self.unit = what, estimate, limit, unit
        detail = f"{what}: {estimate:,} {unit}, over the budget of {limit:,} {unit} per request"
        super().__init__(f"{detail}: {advice}" if advice else detail)


class TooBusy(Exception):
    """The worker already has as many requests (or heavy ones) in flight as it takes."""

    def __init__(self, kind: str, limit: int, retry_after: int) -> None:
        self.kind, self.limit, self.retry_after = kind, limit, retry_after
        super().__init__(f"this worker already has {limit} {kind} in flight; retry after {retry_after} s")


class DeadlineExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the request was still computing after {seconds:g} s and was stopped")


class CutByDrain(Exception):
    """A request still running at the end of the shutdown drain (service/drain_cuts.py)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the server is shutting down: the request was cut by its drain after {seconds:.1f} s; "
            "retry it (another replica answers)"
        )


class UnsupportedMediaType(Exception):
    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        sent = "no Content-Type" if content_type is None else f"Content-Type {content_type!r}"
        super().__init__(
            f"the request body must be JSON sent with Content-Type: application/json, got {sent} "
            "(curl: use --json, or -H 'Content-Type: application/json' with -d)"
        )


class Unauthorized(Exception):
    """401: no API key, or a wrong one. `challenge` is the WWW-Authenticate value (RFC 6750 3)."""

    challenge = 'Bearer realm="firth"'


class MissingCredentials(Unauthorized):
    def __init__(self, need: str) -> None:
        super().__init__(f"{need}: send it as Authorization: Bearer <key>")


class WrongCredentials(Unauthorized):
    challenge = 'Bearer realm="firth", error="invalid_token", error_description="the key is not valid"'

    def __init__(self) -> None:
        super().__init__("the key sent in Authorization: Bearer is not valid")


class Forbidden(Exception):
    """403: a valid API key on an endpoint that needs the admin key."""

    challenge = 'Bearer realm="firth", error="insufficient_scope"'


class AdminDisabled(Exception):
    """403: /admin/* while the server has no admin key configured."""

    def __init__(self) -> None:
        super().__init__("the admin endpoints are off: the server has no FIRTH_ADMIN_KEY")


def is_json_media_type(content_type: str) -> bool:
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


# exception -> (status, slug, title). The first isinstance match wins: the FirthError catch-all stays last.
ERROR_TABLE: dict[type[Exception], tuple[int, str, str]] = {
    UnknownModel: (404, "unknown-model", "Unknown model"),
    UnknownWord: (404, "unknown-word", "Word not in vocabulary"),
    EmptyQuery: (422, "empty-query", "Empty query"),
    VectorizationError: (422, "invalid-vectorization", "Invalid TextVectorization option"),
    IdOutOfRange: (422, "id-out-of-range", "Token id out of range"),
    OutputTooLarge: (422, "output-too-large", "Answer too large"),
    EmptyText: (422, "empty-text", "No word of the text is in the vocabulary"),
    NotAClassifier: (422, "not-a-classifier", "The model is not a classifier"),
    InvalidQuery: (422, "invalid-query", "Invalid query"),
    DimensionMismatch: (422, "dimension-mismatch", "Vector has the wrong dimension"),
    InvalidVector: (422, "invalid-vector", "Invalid vector"),
    InputFormatError: (422, "invalid-input", "Malformed input"),
    ConfigurationError: (422, "invalid-configuration", "Invalid configuration"),
    ArtifactError: (503, "model-unavailable", "Model unavailable"),
    BodyTooLarge: (413, "body-too-large", "Request body too large"),
    OverBudget: (422, "over-budget", "Request over its cost budget"),
    TooBusy: (429, "too-many-requests", "Too many requests in flight"),
    DeadlineExceeded: (503, "deadline-exceeded", "Request took too long"),
    CutByDrain: (503, "shutting-down", "Server shutting down"),
    UnsupportedMediaType: (415, "unsupported-media-type", "Request body is not JSON"),
    Unauthorized: (401, "unauthorized", "Missing or invalid API key"),
    Forbidden: (403, "forbidden", "Needs the admin key"),
    AdminDisabled: (403, "admin-disabled", "Admin endpoints are off"),
    FirthError: (422, "invalid-request", "Invalid request"),  # any other user error: last, as a catch-all
}
VALIDATION = (422, "validation-error", "Request failed validation")
MALFORMED_JSON = (400, "malformed-json", "Request body is not valid JSON")
INTERNAL = (500, "internal-error", "Internal error")


OPENAI_PREFIX = "/openai/"  # OpenAI-compatible routes answer errors in OpenAI's shape
# slug -> the request field an OpenAI error names in `param`
_OPENAI_PARAMS = {
    "unknown-model": "model",
    "dimension-mismatch": "dimensions",
    "id-out-of-range": "input",
    "empty-query": "input",
    "over-budget": "input",
}


# firth slugs OpenAI's clients know under another code
OPENAI_CODES = {"unknown-model": "model_not_found", "too-many-requests": "rate_limit_exceeded"}


def openai_error(status: int, slug: str, detail: str, extensions: dict[str, Any]) -> Response:
    """The same error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, which its
    clients parse: invalid input is a 400 as OpenAI answers it, an unknown model 404 model_not_found."""
    param = _OPENAI_PARAMS.get(slug)
    errors = extensions.get("errors")
    if errors:
        loc = [part for part in errors[0]["loc"] if part != "body"]
        param = ".".join(loc[:1]) or param
    status = 400 if status == 422 else status
    kind = "server_error" if status >= 500 else "invalid_request_error"
    code = OPENAI_CODES.get(slug, slug.replace("-", "_"))
    if slug == "too-many-requests":
        kind = "requests"  # OpenAI's rate-limit error: type "requests", code "rate_limit_exceeded"
    body = {"error": {"message": detail, "type": kind, "param": param, "code": code}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def problem(status: int, slug: str, title: str, detail: str, instance: str, **extensions: Any) -> Response:
    if instance.startswith(OPENAI_PREFIX):
        return openai_error(status, slug, detail, extensions)
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON)


def _extensions(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, UnknownWord):
        return {"word": exc.word, "suggestions": exc.suggestions}
    if isinstance(exc, UnknownModel):
        return {"model": exc.name, "available": exc.available}
    if isinstance(exc, DimensionMismatch):
        return {"expected": exc.expected, "got": exc.got}
    if isinstance(exc, NotAClassifier):
        return {"model": exc.name, "kind": exc.kind}
    if isinstance(exc, EmptyText):
        return {"field": exc.field, "index": exc.index, "tokens": exc.tokens[:100]}
    if isinstance(exc, BodyTooLarge):
        return {"limit_bytes": exc.limit}
    if isinstance(exc, OverBudget):
        return {"budget": exc.what, "estimate": exc.estimate, "limit": exc.limit, "unit": exc.unit}
    if isinstance(exc, TooBusy):
        return {"limit": exc.limit, "retry_after": exc.retry_after}
    return {}


def problem_for(exc: Exception, instance: str) -> Response:
    for cls, (status, slug, title) in ERROR_TABLE.items():
        if isinstance(exc, cls):
            response = problem(status, slug, title, str(exc), instance, **_extensions(exc))
            if isinstance(exc, TooBusy):
                response.headers["Retry-After"] = str(exc.retry_after)
            elif isinstance(exc, (DeadlineExceeded, CutByDrain)):
                response.headers["Retry-After"] = "1"
            challenge = getattr(exc, "challenge", None)
            if challenge is not None:
                response.headers["WWW-Authenticate"] = challenge
            return response
    status, slug, title = INTERNAL
    return problem(status, slug, title, "the server failed to answer; the error was logged", instance)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers to, for a 405's Allow header: the router lists only
    those of the first route that matched the path, and GET and POST of one path are two routes."""
    methods = {
        method
        for route in request.app.router.routes
        for method in HTTP_METHODS
        if route.matches({**request.scope, "method": method})[0] is Match.FULL
    }
    return ", ".join(m for m in HTTP_METHODS if m in methods)


def _validation_errors(exc: RequestValidationError, route: Any = None) -> list[dict[str, Any]]:
    # Never echo the offending input back: it may be large. Location and message suffice.
    body_field = getattr(route, "body_field", None)  # the matched route's body, to name locations by
    return [
        {
            "loc": [str(p) for p in _client_loc(err.get("loc", ()), body_field)],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


def _client_loc(loc: Sequence[Any], body_field: Any) -> list[Any]:
    """The location as the client sent it: a tagged union's tag dropped (service/validation_loc.py)."""
    if body_field is None or not loc or loc[0] != "body":
        return list(loc)
    info = body_field.field_info
    return ["body", *client_loc(loc[1:], info.annotation, info)]


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        return problem_for(exc, request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc, request.scope.get("route"))
        content_type = request.headers.get("content-type")
        if (content_type is None or not is_json_media_type(content_type)) and any(
            e["loc"][:1] == ["body"] for e in errors
        ):
            # FastAPI reads a body only when it is sent as JSON, so a form-encoded or untyped one
            # (curl -d without -H) looks like a missing body: say what is really wrong. Routing
            # and the model lookup ran first, so a wrong URL or model still gets its 404 / 405.
            return problem_for(UnsupportedMediaType(content_type), request.url.path)
        if any(e["type"] == "json_invalid" for e in errors):
            status, slug, title = MALFORMED_JSON
            return problem(
                status, slug, title, "the request body could not be parsed as JSON", request.url.path
            )
        status, slug, title = VALIDATION
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return problem(status, slug, title, detail, request.url.path, errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8, nested too deep ...
            status, slug, title = MALFORMED_JSON
            return problem(
                status, slug, title, "the request body could not be parsed as JSON", request.url.path
            )
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        response = problem(exc.status_code, slug, title, str(exc.detail), request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request) or response.headers.get("Allow", "")
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")  # the access line carries the route; raw paths hold user words
        response = problem_for(exc, request.url.path)
        # Starlette answers this one from outside every middleware, so the id is added here.
        request_id = request_id_var.get()
        if request_id is not None:
            response.headers["X-Request-ID"] = request_id
        return response

    for cls in ERROR_TABLE:
        app.add_exception_handler(cls, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def problem_catalogue() -> list[dict[str, Any]]:
    """The table as data, served at /problems so clients can see every error type."""
    rows = [*ERROR_TABLE.values(), VALIDATION, MALFORMED_JSON, INTERNAL]
    return [{"type": f"/problems/{slug}", "status": status, "title": title} for status, slug, title in rows]
