"""Typed exceptions built from the service's RFC 9457 problem+json answers.

The class is chosen by the problem `type` (the catalogue is at GET /problems), falling back on
the HTTP status when a body is not problem+json (a proxy's 502 page, say). Transport failures
(connection refused, timeouts) are not wrapped: they stay httpx.TransportError.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import httpx


class FirthAPIError(Exception):
    """The service answered with an error status."""

    def __init__(self, status: int, type: str, title: str, detail: str, body: Any = None) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.body = body if body is not None else {}
        super().__init__(status, type, title, detail)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}" if self.detail else f"{self.status} {self.title}"

    def _extension(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default


class UnknownWordError(FirthAPIError, KeyError):
    """A word is not in the vocabulary. Also a KeyError, as in gensim."""

    @property
    def word(self) -> str | None:
        return self._extension("word")

    @property
    def suggestions(self) -> list[str]:
        return list(self._extension("suggestions", []))


class UnknownModelError(FirthAPIError):
    @property
    def model(self) -> str | None:
        return self._extension("model")

    @property
    def available(self) -> list[str]:
        return list(self._extension("available", []))


class ValidationError(FirthAPIError, ValueError):
    """The request was understood but cannot be answered as asked (422, or 400 malformed JSON)."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Pydantic's per-field errors (loc, msg, type) for /problems/validation-error."""
        return list(self._extension("errors", []))


class UnauthorizedError(FirthAPIError):
    """401: the server needs an API key (FirthClient(api_key=...)) and got none, or a wrong one."""


class ForbiddenError(FirthAPIError):
    """403: a valid key without the rights the endpoint needs (the admin key), or admin endpoints off."""


class PayloadTooLargeError(FirthAPIError):
    @property
    def limit_bytes(self) -> int | None:
        return self._extension("limit_bytes")


class RetryableError(FirthAPIError):
    """Base of the errors worth trying again later; `retry_after` is the server's hint, seconds."""

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, type, title, detail, body)
        self.retry_after = retry_after


class ServiceUnavailableError(RetryableError):
    """503: models still loading, a model that cannot be read, or an overloaded server."""


class RateLimitedError(RetryableError):
    """429 Too Many Requests."""


class UnexpectedResponseError(FirthAPIError):
    """A success status whose body is not what the endpoint documents (a proxy page, a version skew)."""


# Problem slug (the part after /problems/) -> exception class. Slugs not listed get the class of
# their status (below), then FirthAPIError.
_BY_TYPE: dict[str, type[FirthAPIError]] = {
    "unknown-word": UnknownWordError,
    "unknown-model": UnknownModelError,
    "validation-error": ValidationError,
    "malformed-json": ValidationError,
    "empty-query": ValidationError,
    "invalid-query": ValidationError,
    "dimension-mismatch": ValidationError,
    "invalid-vector": ValidationError,
    "invalid-input": ValidationError,
    "invalid-request": ValidationError,
    "body-too-large": PayloadTooLargeError,
    "unsupported-media-type": ValidationError,  # the client always sends JSON: a proxy changed it
    "model-unavailable": ServiceUnavailableError,
    "not-ready": ServiceUnavailableError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "admin-disabled": ForbiddenError,
}
_BY_STATUS: dict[int, type[FirthAPIError]] = {
    400: ValidationError,
    401: UnauthorizedError,
    403: ForbiddenError,
    413: PayloadTooLargeError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_class_for(problem_type: str, status: int) -> type[FirthAPIError]:
    slug = problem_type.rsplit("/problems/", 1)[-1] if "/problems/" in problem_type else ""
    return _BY_TYPE.get(slug) or _BY_STATUS.get(status) or FirthAPIError


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_from_response(response: httpx.Response) -> FirthAPIError:
    """The exception for an error response; never raises itself, whatever the body holds."""
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        problem_type = body["type"]
        title = str(body.get("title") or response.reason_phrase)
        detail = str(body.get("detail") or "")
    else:
        problem_type = "about:blank"
        title = response.reason_phrase or "HTTP error"
        detail = response.text[:200] if body is None else ""
        body = body if body is not None else {}
    cls = error_class_for(problem_type, status)
    if issubclass(cls, RetryableError):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return cls(status, problem_type, title, detail, body, retry_after=retry_after)
    return cls(status, problem_type, title, detail, body)
