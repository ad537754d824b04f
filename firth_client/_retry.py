"""When to send a request again, and how long to wait first. Pure: the clients do the sleeping.

Only idempotent calls are retried. Every operation the service has today is a read-only query
(POST is used for bodies too large or structured for a URL, not for side effects), so all of them
are idempotent except the two probes, which report the state now and are never retried.

Retried: 429 and 503 answers (honouring Retry-After), and transport failures that mean the server
never saw or never answered the request (connect errors, a pooled connection closed under us).
Never retried: any other 4xx, 500 (a bug does not heal by asking again), read timeouts (the
server may still be working; asking again would double its load).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

from firth_client._calls import Call
from firth_client.errors import parse_retry_after

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 503})
RETRY_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # attempts after the first
    backoff: float = 0.2  # seconds before the first retry; doubles each time
    backoff_cap: float = 5.0  # longest wait between two attempts, without a Retry-After
    max_retry_after: float = 60.0  # a longer Retry-After raises at once instead of blocking

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.backoff_cap < 0:
            raise ValueError("retries, backoff and backoff_cap must be >= 0")

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of min(cap, b * 2^n),
        so that clients turned away together do not come back together."""
        full = min(self.backoff_cap, self.backoff * (2.0**attempt))
        return full / 2 + random.uniform(0, full / 2)

    def after_response(self, idempotent: bool, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to keep this response."""
        if not idempotent or response.status_code not in RETRY_STATUSES or attempt >= self.retries:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None:
            return self.backoff_delay(attempt)
        return retry_after if retry_after <= self.max_retry_after else None

    def after_error(self, idempotent: bool, error: Exception, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to raise `error`."""
        if not idempotent or not isinstance(error, RETRY_ERRORS) or attempt >= self.retries:
            return None
        return self.backoff_delay(attempt)

    def after(self, idempotent: bool, outcome: httpx.Response | Exception, attempt: int) -> float | None:
        if isinstance(outcome, httpx.Response):
            return self.after_response(idempotent, outcome, attempt)
        return self.after_error(idempotent, outcome, attempt)


class Attempts(Generic[T]):
    """The attempts at one call, without I/O (like httpx's auth flows, so that the blocking and
    the async client drive the same logic): give each attempt's outcome to `wait_after`; a wait
    means sleep and send again, None means done, and `result()` is then the call's result."""

    def __init__(self, policy: RetryPolicy, call: Call[T]) -> None:
        self._policy = policy
        self._call = call
        self._made = 0
        self._last: httpx.Response | Exception | None = None

    def wait_after(self, outcome: httpx.Response | Exception) -> float | None:
        self._last = outcome
        delay = self._policy.after(self._call.idempotent, outcome, self._made)
        self._made += 1
        return delay

    def result(self) -> T:
        assert self._last is not None, "result() before any attempt"
        return self._call.finish(self._last)
