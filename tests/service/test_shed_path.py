"""The HTTP layer at its in-flight limit, fed bytes directly (uvicorn's protocol, the real httptools
parser, a recording transport): a plain whole GET is answered with the prebuilt 429 without the
parser; anything the parser must judge (a bare LF, the absolute form, an upgrade, a body, a
pipelined request behind a closing 429) goes through it, and is answered as it would be."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvloop

from bench.shed_cost import protocol_at_the_limit
from firth_service.http_limits import (
    SHEDDABLE_CACHE_SIZE,
    SHEDDABLE_KEY_BYTES,
    LimitedHttpToolsProtocol,
    too_busy_response,
)
from firth_service.settings import Settings

BUSY = too_busy_response(1, 1, close=False, openai=False)
BUSY_CLOSE = too_busy_response(1, 1, close=True, openai=False)


class Recorder(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


class CountingParser:
    """The real parser, counting what it is fed."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self.fed = 0

    def feed_data(self, data: bytes) -> None:
        self.fed += 1
        self._parser.feed_data(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


@contextmanager
def at_the_limit(
    **settings_fields: Any,
) -> Iterator[tuple[LimitedHttpToolsProtocol, Recorder, CountingParser, list[int]]]:
    """A connection on a worker whose one place in flight is taken."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    shed: list[int] = []
    transport = Recorder()
    settings = Settings(max_concurrent_requests=1, header_timeout_seconds=0.2, **settings_fields)
    protocol = protocol_at_the_limit(loop, transport, settings, lambda: shed.append(1))
    parser = CountingParser(protocol.parser)
    protocol.parser = parser  # type: ignore[assignment]
    try:
        yield protocol, transport, parser, shed
    finally:
        protocol.connection_lost(None)
        loop.run_until_complete(asyncio.sleep(0))
        asyncio.set_event_loop(None)
        loop.close()


def settle(protocol: LimitedHttpToolsProtocol) -> None:
    """One turn of the loop: the coalesced writes and the shed count go out."""
    protocol.loop.run_until_complete(asyncio.sleep(0))


GET = b"GET /v1/models/default/neighbors?word=frog HTTP/1.1\r\nHost: x\r\n"


def test_a_whole_get_is_answered_from_its_bytes_and_the_connection_stays() -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        protocol.data_received(GET + b"Connection: keep-alive\r\nAccept: */*\r\n\r\n")
        protocol.data_received(GET + b"\r\n")
        settle(protocol)
        assert parser.fed == 0
        assert transport.written == BUSY + BUSY and not transport.closed
        assert sum(shed) == 2


def test_split_requests_go_through_the_parser_with_the_same_answer() -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        protocol.data_received(GET[:20])
        protocol.data_received(GET[20:] + b"\r\n")
        settle(protocol)
        assert parser.fed == 2
        assert transport.written == BUSY and not transport.closed
        assert sum(shed) == 1


def test_a_bare_line_feed_is_left_to_the_parser_which_refuses_it() -> None:
    """A bare LF could hide a Content-Length from the byte checks (the body would then be read as
    the next request): the parser judges it, and answers 400."""
    with at_the_limit() as (protocol, transport, parser, shed):
        protocol.data_received(GET + b"X-A: 1\nContent-Length: 5\r\n\r\n")
        settle(protocol)
        assert parser.fed == 1
        assert transport.written.startswith(b"HTTP/1.1 400 ") and transport.closed
        assert sum(shed) == 0


def test_a_probe_in_absolute_form_is_not_shed() -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        try:
            protocol.data_received(b"GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            settle(protocol)
        except AssertionError as exc:  # the app was reached, as it must be: probes are never shed
            assert "/healthz" in str(exc)
        assert parser.fed == 1
        assert not transport.written.startswith(b"HTTP/1.1 429 ")
        assert sum(shed) == 0


UPGRADE = GET + (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)
# a request with a body is answered and closed; nothing pipelined behind that 429 is answered
POST_THEN_GET = (
    b"POST /v1/models/default/vectors HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + GET + b"\r\n"
)


@pytest.mark.parametrize("data", [UPGRADE, POST_THEN_GET], ids=["upgrade", "body-then-pipelined"])
def test_one_closing_429_through_the_parser(data: bytes) -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        protocol.data_received(data)
        settle(protocol)
        assert parser.fed == 1
        assert transport.written == BUSY_CLOSE and transport.closed
        assert sum(shed) == 1


def test_connection_close_and_head_are_answered_by_the_parsers_path() -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        protocol.data_received(b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        settle(protocol)
        assert parser.fed == 1 and transport.written == BUSY
        protocol.data_received(GET + b"Connection: close\r\n\r\n")
        settle(protocol)
        assert parser.fed == 2
        assert transport.written == BUSY + BUSY_CLOSE and transport.closed
        assert sum(shed) == 2


def test_idle_after_its_429_a_connection_is_closed_without_a_408() -> None:
    """A 408 written as the client sends its next request could pass for that request's answer."""
    with at_the_limit() as (protocol, transport, _parser, _shed):
        protocol.data_received(GET + b"\r\n")
        protocol.loop.run_until_complete(asyncio.sleep(0.4))  # past the header timeout (0.2 s)
        assert transport.written == BUSY and transport.closed


def test_a_connection_that_never_sends_is_answered_408() -> None:
    with at_the_limit() as (protocol, transport, _parser, _shed):
        protocol.loop.run_until_complete(asyncio.sleep(0.4))
        assert transport.written.startswith(b"HTTP/1.1 408 ") and transport.closed


def test_what_the_bytes_decided_is_remembered_and_the_parser_still_judges_its_own() -> None:
    """The byte checks' verdict is remembered per request: a request the parser must judge (HEAD)
    still goes to it every time, and a plain GET is answered from its bytes every time."""
    with at_the_limit() as (protocol, transport, parser, shed):
        head = b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        for data in (GET + b"\r\n", head, GET + b"\r\n", head):
            protocol.data_received(data)
            settle(protocol)
        assert parser.fed == 2
        assert transport.written == BUSY * 4 and sum(shed) == 4
        assert protocol._sheddable == {GET + b"\r\n": BUSY, head: b""}


def test_the_memo_is_bounded() -> None:
    with at_the_limit() as (protocol, transport, parser, shed):
        requests = SHEDDABLE_CACHE_SIZE + 10
        for i in range(requests):
            protocol.data_received(GET.replace(b"frog", b"frog%d" % i) + b"\r\n")
            assert len(protocol._sheddable) <= SHEDDABLE_CACHE_SIZE
        long = GET + b"X-Pad: " + b"a" * SHEDDABLE_KEY_BYTES + b"\r\n\r\n"  # too long to keep
        protocol.data_received(long)
        settle(protocol)
        assert long not in protocol._sheddable
        assert parser.fed == 0 and transport.written == BUSY * (requests + 1)
        assert sum(shed) == requests + 1


def test_each_set_of_limits_remembers_its_own_verdicts() -> None:
    """Three header lines pass a limit of 100 but not of 2: a worker with the tighter limit must
    not take the looser one's verdict for the same bytes, and answers 431 through its parser."""
    data = GET + b"A: 1\r\nB: 2\r\n\r\n"
    with at_the_limit() as (protocol, transport, parser, _shed):
        protocol.data_received(data)
        settle(protocol)
        assert parser.fed == 0 and transport.written == BUSY
    with at_the_limit(max_header_count=2) as (protocol, transport, parser, shed):
        protocol.data_received(data)
        settle(protocol)
        assert parser.fed == 1 and sum(shed) == 0
        assert transport.written.startswith(b"HTTP/1.1 431 ") and transport.closed
