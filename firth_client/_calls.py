"""A request of the client and how to read its answer: `Call`, made by the operation modules
(firth_client/_system.py, _vectors.py, _neighbors.py, _texts.py, _evaluation.py, _vocabulary.py)
and sent, unchanged, by FirthClient and AsyncFirthClient.

`OPERATIONS` lists the service's operations as (method, OpenAPI path); a test compares it with
the live app's spec, and another checks that the client's methods really reach each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from firth_client.errors import UnexpectedResponseError, error_from_response

T = TypeVar("T")
Params = Mapping[str, str | int | float | bool]

OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/problems"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model}"),
        ("GET", "/v1/models/{model}/vectors/{word}"),
        ("POST", "/v1/models/{model}/vectors"),
        ("GET", "/v1/models/{model}/similarity"),
        ("POST", "/v1/models/{model}/similarity"),
        ("POST", "/v1/models/{model}/similarity/matrix"),
        ("POST", "/v1/models/{model}/n-similarity"),
        ("GET", "/v1/models/{model}/neighbors"),
        ("POST", "/v1/models/{model}/neighbors"),
        ("POST", "/v1/models/{model}/neighbors/batch"),
        ("GET", "/v1/models/{model}/analogy"),
        ("POST", "/v1/models/{model}/analogy"),
        ("POST", "/v1/models/{model}/doesnt-match"),
        ("POST", "/v1/models/{model}/evaluate"),
        ("POST", "/v1/models/{model}/project"),
        ("POST", "/v1/models/{model}/embed"),
        ("POST", "/v1/models/{model}/classify"),
        ("POST", "/v1/models/{model}/encode"),
        ("GET", "/v1/models/{model}/vocabulary"),
        ("POST", "/v1/models/{model}/embedding-matrix"),
        ("POST", "/admin/reload"),
    }
)


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    operation: str  # the OpenAPI path template
    path: str  # the template with its segments filled in, percent-encoded
    parse: Callable[[httpx.Response], T]
    params: Params | None = None
    json: Any = None
    idempotent: bool = True  # safe to send again on 429/503 (see _retry.py)

    def finish(self, outcome: httpx.Response | Exception) -> T:
        """The result of the last attempt: a transport error raised again, a typed exception for
        an error status, else the parsed answer."""
        if isinstance(outcome, Exception):
            raise outcome
        if not outcome.is_success:
            raise error_from_response(outcome)
        try:
            return self.parse(outcome)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise UnexpectedResponseError(
                outcome.status_code,
                "about:blank",
                "Unexpected response",
                f"{self.method} {self.operation} answered a body the client cannot read ({exc!r})",
                {},
            ) from exc


def call(
    method: str,
    operation: str,
    parse: Callable[[httpx.Response], T],
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    idempotent: bool = True,
    **segments: str,
) -> Call[T]:
    assert (method, operation) in OPERATIONS, (method, operation)
    # safe="": a "/" or "?" inside a word must not become part of the URL's structure
    path = operation.format(**{k: quote(v, safe="") for k, v in segments.items()})
    kept = {k: v for k, v in (params or {}).items() if v is not None}
    return Call(method, operation, path, parse, kept or None, json, idempotent)


def without_none(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields that are set (the service's defaults stand for the others)."""
    return {k: v for k, v in fields.items() if v is not None}
