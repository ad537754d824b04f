"""What a 429 costs a worker at its in-flight limit, in its HTTP layer alone (no sockets, no wrk):
the byte path (`_shed_whole_request`, a whole GET answered with the prebuilt 429) for a request
sent again (its checks' verdict remembered) and for requests each new to it, beside the parser's
path for the same request (an Origin header sends it there), per request, best of 5.

    .venv/bin/python bench/shed_cost.py [--requests 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
import uvloop
from uvicorn.server import ServerState

from firth_service.http_limits import LimitedHttpToolsProtocol, limited_protocol
from firth_service.settings import Settings

REQUEST = b"GET /v1/models/default/neighbors?word=frog&k=10 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"


class Sink(asyncio.Transport):
    """A transport that keeps nothing: the socket's cost is not what is measured here."""

    def write(self, data: Any) -> None:
        pass

    def writelines(self, list_of_data: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


async def app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"the app was called for {scope.get('path')}: at the limit it never is")


def protocol_at_the_limit(
    loop: asyncio.AbstractEventLoop,
    transport: asyncio.Transport,
    settings: Settings,
    on_shed: Callable[[], None] | None = None,
) -> LimitedHttpToolsProtocol:
    """A connection on `transport` of a worker with these settings, every place in flight taken."""
    protocol_class = limited_protocol(settings, on_shed)
    config = uvicorn.Config(app, http=protocol_class, log_level="critical")
    config.load()
    state = ServerState()
    for _ in range(settings.max_concurrent_requests):  # the requests in flight
        state.tasks.add(loop.create_future())  # type: ignore[arg-type]
    protocol = protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
    protocol.connection_made(transport)
    return protocol


def per_request_us(data: bytes | Sequence[bytes], requests: int, rounds: int = 5) -> float:
    """Microseconds per `data_received` of `data` (or of each of a sequence of requests in turn) on
    a connection of a worker at its limit."""
    sequence = [data] * requests if isinstance(data, bytes) else list(data)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        protocol = protocol_at_the_limit(loop, Sink(), Settings(max_concurrent_requests=1))
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for each in sequence:
                protocol.data_received(each)
            loop.run_until_complete(asyncio.sleep(0))  # the turn's writes and timers
            best = min(best, (time.perf_counter() - started) / requests * 1e6)
        protocol.connection_lost(None)
        loop.run_until_complete(asyncio.sleep(0))
        return best
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args(argv)
    byte_path = per_request_us(REQUEST + b"\r\n", args.requests)
    # a different query each time: the byte path's checks, remembered per request, never remembered
    unseen = [REQUEST.replace(b"k=10", b"k=%d" % (10 + i)) + b"\r\n" for i in range(args.requests)]
    byte_path_unseen = per_request_us(unseen, args.requests)
    parser_path = per_request_us(REQUEST + b"Origin: https://example.org\r\n\r\n", args.requests)
    print(f"a 429 in the HTTP layer, {args.requests:,} requests, best of 5 (shared CPU):")
    print(f"  byte path (a whole GET, prebuilt 429), the same request again: {byte_path:.2f} us")
    print(f"  byte path, a request not seen before (its checks run): {byte_path_unseen:.2f} us")
    print(f"  parser path (the same with an Origin header): {parser_path:.2f} us")
    print(f"  ratio: {parser_path / byte_path:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
