"""HTTP limits uvicorn does not have, and the keyword arguments for its Config.

uvicorn (httptools) closes idle keep-alive connections (`timeout_keep_alive`) but has no deadline
for a request's headers or body, no cap on their size or number (only h11 has
`h11_max_incomplete_event_size`, and h11 is the slower parser), and its `limit_concurrency`
answers 503 once *connections* pass the cap, which would refuse every request from a thousand idle
keep-alive clients. So firth serves with a small subclass of uvicorn's httptools protocol:

- headers must be complete within `header_timeout_seconds` of a connection's opening or a request's
  first byte, the body within `body_timeout_seconds` of the headers; else the connection is closed
  (a 408 is written first when nothing of the request was answered yet);
- the request line and headers may hold `max_header_bytes` bytes in `max_header_count` lines;
  beyond either, 431 and the connection closed;
- a worker holds at most `max_connections` connections. At the cap, a new connection takes the
  place of the one that has waited longest for its request's headers, if that one has waited
  EVICT_AFTER_SECONDS or more (it is answered 408 and closed): a client sends its headers with
  its first packet, within a round trip of connecting, so the oldest incomplete connection is a
  slow or silent one, and slow connections (slowloris) can no longer fill the cap and lock everyone
  else out until the header timeout. (A second was too long: 5,000 slow connections reopened as
  fast as they were closed turned each worker's 960 places over in well under a second, and some
  newcomers found no connection old enough.) With none to close, the new connection is answered
  503 and closed at once, so its file descriptor is free again;
- each response reaches the socket in one write (service/coalescing.py), so a worker killed
  mid-response never leaves a load balancer holding headers without their body;
- when the worker already has FIRTH_MAX_CONCURRENT_REQUESTS requests in flight (uvicorn's own set
  of running request tasks, so requests still queued on the event loop count too), a new one is
  answered 429 with Retry-After right here, written straight to the socket: no task, no
  middleware, no routing (but the CORS headers FIRTH_CORS_ORIGINS asks for, and OpenAI's error
  shape on its routes). A 429 is then a few microseconds of work, which is what lets a worker stay
  responsive when a thousand clients retry at once (the app's own admission check,
  service/admission.py, stays as the second line, for requests the parser let through);
- cheaper still, at the limit a request that arrives whole in one read (a GET with no body,
  between requests on its connection, no Origin header, no Connection header but keep-alive) is
  answered from its bytes with a prebuilt 429, without the parser's Python callbacks for each part
  of it (`_shed_whole_request`); the checks' verdict is remembered per request's bytes (clients
  at the limit retry the same requests), the 429 goes to the socket at once rather than through
  the coalescing step's callback, and the header deadline's timer is made once a connection and
  moved on, not made and cancelled for every request. With 1,024 connections flooding two workers
  that is ~30% more answers a second, and p99 46-50 ms where it was 63-79 (bench/overload_bench.py).
  Any other request goes through the parser and is shed in `on_headers_complete` as before.

The open-file limit is raised to the hard limit at start (`raise_open_file_limit`), and the
connection cap is kept FD_RESERVE below it: uvloop (libuv) answers an accept() that fails for want of
file descriptors by resetting the connection without a word, so firth never lets it come to that:
the connection past the cap is accepted, answered 503 and closed, and a warning is logged (at most
one per REFUSAL_LOG_SECONDS, with the count).
"""

from __future__ import annotations

import asyncio
import logging
import re
import resource
from collections.abc import Callable
from typing import Any, ClassVar

import httptools
import orjson
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from firth_service.admission import ADMITTED, RETRY_AFTER_SECONDS
from firth_service.auth import CORS_EXPOSE_HEADERS
from firth_service.coalescing import CoalescingTransport
from firth_service.errors import OPENAI_PREFIX as OPENAI_ROUTES
from firth_service.errors import PROBLEM_JSON
from firth_service.logging_setup import logging_config
from firth_service.settings import Settings

log = logging.getLogger("firth.http")
FD_RESERVE = 64  # descriptors kept for model files, logs, the listening socket, metrics files
EVICT_AFTER_SECONDS = 0.25  # at the cap, a connection still without its headers this long makes room
REFUSAL_LOG_SECONDS = 10.0


def _raw_problem(status: int, reason: str, slug: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, for answers given outside the app."""
    body = orjson.dumps({"type": f"/problems/{slug}", "title": reason, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _HeadersTooLarge(Exception):
    pass


UNLIMITED_PATHS = (b"/healthz", b"/readyz", b"/metrics")  # as service/admission.py's
# what in a request's head (lower case) makes its 429 more than the prebuilt one, or its reading
# the parser's: a body, a Connection or Origin header, an upgrade, or a header line folded or
# with space before its colon (the name matched anywhere, so `Content-Length :` is caught too)
_PARSED_HEADERS = (b"content-length", b"transfer-encoding", b"\r\nconnection", b"\r\norigin", b"upgrade")
_UNUSUAL = re.compile(rb"[\x00-\x20\x7f]")  # in a request target
_UNUSUAL_HEAD = re.compile(rb"\r\n[ \t]|[ \t]:|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
OPENAI_PREFIX = OPENAI_ROUTES.encode()  # its routes answer errors in OpenAI's shape
# `_shed_whole_request` remembers, per request's bytes, whether they may have the prebuilt 429 and
# which: clients retrying at the limit send the same few requests again and again, and the checks
# cost more than the rest of the answer's Python. Requests up to SHEDDABLE_KEY_BYTES are kept, at
# most SHEDDABLE_CACHE_SIZE of them (then the memo starts afresh): at most 2 MiB a worker.
SHEDDABLE_KEY_BYTES = 512
SHEDDABLE_CACHE_SIZE = 4096


def too_busy_response(limit: int, retry_after: int, close: bool, openai: bool, extra: str = "") -> bytes:
    """The 429 answered here: problem+json, or OpenAI's error shape on its routes; `extra` holds
    further header lines (CORS). deploy/nginx/firth.conf answers its own 429 in the same shape
    (tests/e2e/test_replicas.py compares them)."""
    detail = f"this worker already has {limit} requests in flight; retry after {retry_after} s"
    if openai:  # as service/errors.py's openai_error answers it
        error = {"message": detail, "type": "requests", "param": None, "code": "rate_limit_exceeded"}
        body, media_type = orjson.dumps({"error": error}), "application/json"
    else:
        problem = {
            "type": "/problems/too-many-requests",
            "title": "Too many requests in flight",
            "status": 429,
            "detail": detail,
            "limit": limit,
            "retry_after": retry_after,
        }
        body, media_type = orjson.dumps(problem), PROBLEM_JSON
    head = (
        f"HTTP/1.1 429 Too Many Requests\r\ncontent-type: {media_type}\r\n"
        f"retry-after: {retry_after}\r\ncontent-length: {len(body)}\r\n{extra}"
        f"connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def cors_header_lines(origins: tuple[str, ...], origin: bytes | None) -> str:
    """The header lines Starlette's CORSMiddleware (service/auth.py, install_cors) adds to a simple
    response, for answers written here, outside the app: without them a browser hides a 429's
    status and Retry-After from the page."""
    if not origins or origin is None:
        return ""
    lines = f"access-control-expose-headers: {', '.join(CORS_EXPOSE_HEADERS)}\r\n"
    if "*" in origins:
        return f"access-control-allow-origin: *\r\n{lines}"
    sent = origin.decode("latin-1")
    if sent in origins:
        lines = f"access-control-allow-origin: {sent}\r\n{lines}"
    return f"{lines}vary: Origin\r\n"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body deadlines, header limits and a connection cap.
    `limited_protocol(settings)` makes a subclass carrying the settings' values."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_header_bytes = 16 * 1024
    max_header_count = 100
    max_connections = 4096
    max_in_flight = 64
    retry_after = 1
    cors_origins: tuple[str, ...] = ()  # FIRTH_CORS_ORIGINS, for the CORS headers of a 429 answered here
    # the keep-alive 429s for these limits, prebuilt: (problem+json, OpenAI's shape)
    busy_keep_alive: tuple[bytes, bytes] = (b"", b"")
    on_shed: Any = staticmethod(lambda: None)  # counts a 429 answered here (the app's metric)
    _refusals = 0  # connections refused since the last warning (per worker process)
    _last_warning = 0.0
    _evictions = 0  # slow connections closed for new ones since the last warning
    _last_eviction_warning = 0.0
    # connections waiting for a request's headers, oldest first, with the loop time they began
    # waiting (one worker process serves one server, so one registry per process)
    _awaiting_headers: ClassVar[dict[LimitedHttpToolsProtocol, float]] = {}
    # request bytes -> the prebuilt 429 they may have, or b"" (see SHEDDABLE_CACHE_SIZE); one per
    # class, as its limits decide
    _sheddable: ClassVar[dict[bytes, bytes]] = {}

    transport: CoalescingTransport  # connection_made wraps uvicorn's

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._header_count = 0
        self._refused = False
        self._in_message = False  # the parser is inside a request (its first bytes came)
        self._idle_after_answer = False  # a 429 was answered here and nothing has come since
        self._shedding = False  # the current request was answered 429 here; skip its body

    # -- the connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # responses whole (its doc)
        if len(self.connections) > self.max_connections and not self._evict_a_slow_connection():
            self._warn_refused()
            self._refuse(
                _raw_problem(
                    503,
                    "Service Unavailable",
                    "too-many-connections",
                    f"this worker already holds {self.max_connections} connections",
                )
            )
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if len(self.tasks) >= self.max_in_flight and self._shed_whole_request(data):
            return
        super().data_received(data)

    # -- one request
    def on_message_begin(self) -> None:
        self._in_message = True
        self._idle_after_answer = False
        super().on_message_begin()
        self._header_bytes = self._header_count = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url), lines=0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value), lines=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        if self._refused:  # the connection is closing: a request pipelined behind is not answered
            self._shedding = True
            return
        path = self._path_to_shed()
        if path is not None:
            self._shed(path)
            return
        self.scope[ADMITTED] = True  # type: ignore[literal-required]  # the app's cap need not check again
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._shedding:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._shedding:
            self._shedding = False
            self._idle_after_answer = True
            self._arm_header_timer()  # an idle connection after a 429 is closed in time, too
            return
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.transport.flush()  # the whole response in one write, now (service/coalescing.py)
        super().on_response_complete()

    def _should_upgrade(self) -> bool:
        return not self._refused and super()._should_upgrade()

    def _unsupported_upgrade_warning(self) -> None:
        if not self._refused:  # an upgrade shed with a 429 is no warning's matter
            super()._unsupported_upgrade_warning()

    def send_400_response(self, msg: str) -> None:
        if self._refused:  # the parser stopped because we refused the headers: already answered
            return
        super().send_400_response(msg)

    # -- shedding load
    def _path_to_shed(self) -> bytes | None:
        """The request's path when it is to be answered 429 here, else None."""
        if len(self.tasks) < self.max_in_flight:
            return None
        if self.cycle is not None and not self.cycle.response_complete:
            return None  # a pipelined request behind one being answered: uvicorn queues it
        if self.cors_origins and self._is_preflight():
            return None  # answered by the CORS middleware, before any app work (see _is_preflight)
        path: bytes = httptools.parse_url(self.url).path or b""  # also in absolute form
        return None if path in UNLIMITED_PATHS else path

    def _is_preflight(self) -> bool:
        """A browser's CORS preflight (OPTIONS with Access-Control-Request-Method), as Starlette's
        CORSMiddleware tells one. A 429 to it would fail the preflight: the page would see a network
        error, not the 429 and Retry-After its real request gets."""
        return self.parser.get_method() == b"OPTIONS" and any(
            name == b"access-control-request-method" for name, _ in self.headers
        )

    def _shed_whole_request(self, data: bytes) -> bool:
        """At the limit: answer 429 to the request in `data` from its bytes, if it is one whole GET
        with no body that begins a request on an idle connection, and needs no answer but the
        prebuilt one (no Origin, no Connection but keep-alive, not a probe). False: parse it."""
        if self._in_message or (self.cycle is not None and not self.cycle.response_complete):
            return False
        answer = self._sheddable.get(data)  # None: not seen yet
        if answer is None:
            answer = self._prebuilt_answer(data)
            if len(data) <= SHEDDABLE_KEY_BYTES:
                if len(self._sheddable) >= SHEDDABLE_CACHE_SIZE:
                    self._sheddable.clear()
                self._sheddable[data] = answer
        if not answer:
            return False  # the parser's
        self._unset_keepalive_if_required()  # as the parser's path does, and the header deadline
        self._stop_header_timer()  # starts again for the next request
        self._arm_header_timer()
        self._idle_after_answer = True
        # one whole answer, with nothing of this connection's pending (its last response was
        # flushed when complete): straight to the socket, without the coalescing step's callback
        self.transport.write_now(answer)
        self.on_shed()
        return True

    @classmethod
    def _prebuilt_answer(cls, data: bytes) -> bytes:
        """The prebuilt 429 for the request in `data`, if its bytes alone show it may have one:
        one whole GET with no body, in origin form, to a limited path, with plain headers. Empty:
        the parser reads it. Depends on `data` and the class's limits only (so it is memoised)."""
        end = data.find(b"\r\n\r\n")
        if end < 0 or end + 4 != len(data) or len(data) > cls.max_header_bytes or data[:4] != b"GET ":
            return b""
        line_end = data.find(b"\r\n")
        if not data.endswith(b" HTTP/1.1", 0, line_end):
            return b""
        target = data[4 : line_end - 9]
        if target[:1] != b"/" or target.split(b"?", 1)[0] in UNLIMITED_PATHS or _UNUSUAL.search(target):
            return b""  # the absolute form, a probe, a space or a control byte: the parser's
        head = data[line_end : end + 2].lower()  # each header line between two line breaks
        lines = head.count(b"\r\n")
        # every line ends in CRLF (a bare LF or CR could hide a Content-Length), none is folded
        if (
            data.count(b"\n") != lines + 1
            or data.count(b"\r") != lines + 1
            or lines - 1 > cls.max_header_count
        ):
            return b""
        head = head.replace(b"\r\nconnection: keep-alive\r\n", b"\r\n")  # HTTP/1.1's default anyway
        if any(name in head for name in _PARSED_HEADERS) or _UNUSUAL_HEAD.search(head):
            return b""
        return cls.busy_keep_alive[target.startswith(OPENAI_PREFIX)]

    def _shed(self, path: bytes) -> None:
        self._shedding = True
        # as the client asks (HTTP/1.0, Connection: close), for an upgrade (the parser stops at its
        # headers), or when a body would have to be read and skipped: close instead
        close = (
            not self.parser.should_keep_alive()
            or self.parser.should_upgrade()
            or any(
                (name == b"content-length" and value.strip() != b"0") or name == b"transfer-encoding"
                for name, value in self.headers
            )
        )
        origin = next((value for name, value in self.headers if name == b"origin"), None)
        cors = cors_header_lines(self.cors_origins, origin)
        openai = path.startswith(OPENAI_PREFIX)
        if close or cors:
            self.transport.write_now(
                too_busy_response(self.max_in_flight, self.retry_after, close, openai, cors)
            )
        else:
            self.transport.write_now(self.busy_keep_alive[openai])
        self.on_shed()
        if close:
            self._refused = True
            self._cancel_timers()
            self.transport.close()

    # -- limits
    def _count_header_bytes(self, size: int, lines: int) -> None:
        self._header_bytes += size
        self._header_count += lines
        if self._header_bytes > self.max_header_bytes or self._header_count > self.max_header_count:
            self._refuse(
                _raw_problem(
                    431,
                    "Request Header Fields Too Large",
                    "headers-too-large",
                    f"a request may send at most {self.max_header_bytes} bytes of request line and "
                    f"headers in {self.max_header_count} header lines",
                )
            )
            raise _HeadersTooLarge  # stops the parser; httptools reports it as a parser error

    def _warn_refused(self) -> None:
        cls = LimitedHttpToolsProtocol
        cls._refusals += 1
        now = self.loop.time()
        if now - cls._last_warning >= REFUSAL_LOG_SECONDS:
            log.warning(
                "connection cap reached: refused %d connection(s) with 503 (cap %d per worker)",
                cls._refusals,
                self.max_connections,
            )
            cls._refusals, cls._last_warning = 0, now

    def _evict_a_slow_connection(self) -> bool:
        """At the cap, close the connection that has waited longest for its request's headers, if
        it has waited EVICT_AFTER_SECONDS, to make room for this one (see the module's doc)."""
        awaiting = LimitedHttpToolsProtocol._awaiting_headers
        if not awaiting:
            return False
        oldest = next(iter(awaiting))
        waited = self.loop.time() - awaiting[oldest]
        if waited < EVICT_AFTER_SECONDS:
            return False
        detail = (
            f"the request headers were still incomplete after {waited:.1f} s and the server, at its "
            "connection cap, needed the connection for another client"
        )
        oldest._refuse(_raw_problem(408, "Request Timeout", "request-timeout", detail))
        self._warn_evicted()
        return True

    def _warn_evicted(self) -> None:
        cls = LimitedHttpToolsProtocol
        cls._evictions += 1
        now = self.loop.time()
        if now - cls._last_eviction_warning >= REFUSAL_LOG_SECONDS:
            log.warning(
                "connection cap reached: closed %d connection(s) whose request headers were still "
                "incomplete after %gs or more, for new ones (cap %d per worker)",
                cls._evictions,
                EVICT_AFTER_SECONDS,
                self.max_connections,
            )
            cls._evictions, cls._last_eviction_warning = 0, now

    def _arm_header_timer(self) -> None:
        """Headers are awaited from now (unless they already were). The timer is made once and
        moved on when it fires early, not made and cancelled for every request: at a thousand
        429s a second per connection that was a tenth of the shedding's cost."""
        awaiting = LimitedHttpToolsProtocol._awaiting_headers
        if self._refused or self in awaiting:
            return
        awaiting[self] = self.loop.time()
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _stop_header_timer(self) -> None:
        LimitedHttpToolsProtocol._awaiting_headers.pop(self, None)  # its timer finds nothing to do

    def _header_deadline(self) -> None:
        self._header_timer = None
        since = LimitedHttpToolsProtocol._awaiting_headers.get(self)
        if since is None:
            return  # the headers came: the next wait makes a timer again
        left = since + self.header_timeout - self.loop.time()
        if left > 0:  # this wait began after the timer was made
            self._header_timer = self.loop.call_later(left, self._header_deadline)
            return
        self._headers_too_slow()

    def _headers_too_slow(self) -> None:
        LimitedHttpToolsProtocol._awaiting_headers.pop(self, None)
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a request is still being answered on it: nothing to add
            return
        if self._idle_after_answer:  # idle after its 429: closed without a word, as uvicorn's
            self.transport.close()  # keep-alive timeout does (a 408 could pass for the answer
            return  # to a request sent in the same instant)
        log.debug("closed a connection whose request headers did not arrive in %gs", self.header_timeout)
        detail = f"the request headers did not arrive within {self.header_timeout:g} s"
        self._refuse(_raw_problem(408, "Request Timeout", "request-timeout", detail))

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing():
            log.debug("closed a connection whose request body did not arrive in %gs", self.body_timeout)
            self.transport.close()  # the app's receive() now answers http.disconnect

    def _refuse(self, response: bytes) -> None:
        self._refused = True
        self._cancel_timers()
        self.transport.write(response)
        self.transport.close()

    def _cancel_timers(self) -> None:
        self._stop_header_timer()
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


def connection_cap(settings: Settings) -> int:
    """FIRTH_MAX_CONNECTIONS, kept FD_RESERVE below the open-file limit (see the module's doc)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft - FD_RESERVE))


def limited_protocol(
    settings: Settings, on_shed: Callable[[], None] | None = None
) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with these settings' limits; `on_shed` counts each 429 it answers."""
    cap = connection_cap(settings)
    if cap < settings.max_connections:
        log.warning("connection cap %d per worker: the open-file limit allows no more", cap)
    return type(
        "FirthHttpProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "header_timeout": settings.header_timeout_seconds,
            "body_timeout": settings.body_timeout_seconds,
            "max_header_bytes": settings.max_header_bytes,
            "max_header_count": settings.max_header_count,
            "max_connections": cap,
            "max_in_flight": settings.max_concurrent_requests,
            "retry_after": RETRY_AFTER_SECONDS,
            "busy_keep_alive": tuple(
                too_busy_response(settings.max_concurrent_requests, RETRY_AFTER_SECONDS, False, openai)
                for openai in (False, True)
            ),
            "cors_origins": tuple(settings.cors_origins),
            "on_shed": staticmethod(on_shed or (lambda: None)),
            "_sheddable": {},
        },
    )


def uvicorn_options(settings: Settings, app: FastAPI | None = None) -> dict[str, Any]:
    """Keyword arguments for uvicorn.Config serving `app`: logging and the HTTP limits."""
    on_shed = None
    if app is not None and getattr(app.state, "metrics", None) is not None:
        on_shed = app.state.metrics.rejected.labels("requests").inc
    return {
        "log_level": settings.log_level,
        "access_log": False,
        "log_config": logging_config(settings.log_level, json=settings.log_json),  # re-applied per process
        "http": limited_protocol(settings, on_shed),
        "timeout_keep_alive": settings.keep_alive_seconds,
    }


def raise_open_file_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit: each connection is a file descriptor, and
    distributions start processes at 1,024. Logged either way, so a low ceiling is visible."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        log.info("open-file limit %s (hard %s)", soft, hard)
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("open-file limit stays %s: raising it to %s failed (%s)", soft, target, exc)
        return
    log.info("open-file limit raised from %s to %s", soft, target)
