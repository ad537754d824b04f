"""Admission control, per worker: a cap on requests in flight and a smaller one on heavy requests.

Beyond either cap the answer is an immediate 429 problem+json with Retry-After (the model is TEI's
--max-concurrent-requests): a client is told to come back instead of waiting in a queue that only
grows. Probes (/healthz, /readyz) and /metrics are never refused.

Counting requests "in flight" on one event loop: a lookup answered inline never yields, so without
help every request would see the count at 0 while hundreds wait in the loop's ready queue. An
admitted request therefore yields once (`sleep(0)`) after checking in: every request already parsed
in this turn of the loop checks in before any of them runs, so the count is the real backlog and the
ones past the cap are answered 429 at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from firth_service.errors import TooBusy, problem_for
from firth_service.metrics import record_heavy, record_rejected

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Set in the scope by the HTTP layer (service/http_limits.py) on a request it admitted under the
# same cap: no second check, and no yield to let others check in, which under a flood of 429s
# would cost the admitted request one more turn of the event loop behind hundreds of them.
ADMITTED = "firth.admitted"
RETRY_AFTER_SECONDS = 1  # lookups take milliseconds: a second later the backlog is gone
HEAVY_RETRY_AFTER_SECONDS = 2  # an evaluation takes seconds
HEAVY_BATCH = 32  # batches of more queries than this count as heavy
# The text endpoints (/embed, /encode, /embedding-matrix, the OpenAI route, texts in similarity
# and neighbours): standardising, splitting and pooling cost about 0.1 us a character (75-110 ms
# a million on the shared 2-core machine, whatever the number of texts), and building a matrix or
# a bag-of-words answer 60-70 ms a million numbers, where a lookup takes 0.2 ms. Past these sizes
# a request costs 10 ms or more, fifty lookups' worth, and takes a heavy slot. 100,000 characters
# is one text at its limit, or a thousand of 100 characters; an embedding matrix of 20,000 words.
HEAVY_TEXT_CHARS = 100_000  # characters in all the texts of one request
HEAVY_TOKEN_IDS = 20_000  # token ids in one OpenAI request (the tokens of about 100,000 characters)
HEAVY_CELLS = 1_000_000  # numbers in an encode answer or an embedding matrix (4 MB of float32)


def text_chars(texts: Iterable[str]) -> int:
    return sum(len(text) for text in texts)


def heavy_texts(texts: Iterable[str]) -> bool:
    """Whether tokenising these texts is heavy work (see HEAVY_TEXT_CHARS)."""
    return text_chars(texts) > HEAVY_TEXT_CHARS


class Admission:
    """The worker's counts; one per app (each worker has its own)."""

    def __init__(self, max_requests: int, max_heavy: int) -> None:
        self.max_requests = max_requests
        self.max_heavy = max_heavy
        self.in_flight = 0
        self.heavy_in_flight = 0

    @asynccontextmanager
    async def heavy(self) -> AsyncIterator[None]:
        """Hold a heavy slot for the body, or raise TooBusy (429) at once when none is free."""
        if self.heavy_in_flight >= self.max_heavy:
            record_rejected("heavy")
            raise TooBusy("heavy requests", self.max_heavy, HEAVY_RETRY_AFTER_SECONDS)
        self.heavy_in_flight += 1
        record_heavy(+1)
        try:
            yield
        finally:
            self.heavy_in_flight -= 1
            record_heavy(-1)


class AdmissionLimit:
    """Pure ASGI middleware: the cap on requests in flight."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if scope.get(ADMITTED):  # the HTTP layer counted it against the same cap already
            admission.in_flight += 1
            try:
                await self.app(scope, receive, send)
            finally:
                admission.in_flight -= 1
            return
        if admission.in_flight >= admission.max_requests:
            record_rejected("requests")
            busy = TooBusy("requests", admission.max_requests, RETRY_AFTER_SECONDS)
            await problem_for(busy, scope.get("path", ""))(scope, receive, send)
            return
        admission.in_flight += 1
        try:
            await asyncio.sleep(0)  # let the requests parsed in this loop turn check in first
            await self.app(scope, receive, send)
        finally:
            admission.in_flight -= 1
