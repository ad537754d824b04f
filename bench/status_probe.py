"""Latency by status, for a sample of a load's connections: wrk reports one latency distribution
for all answers, and under overload nearly all of them are 429s, so its p99 says little about the
requests that were admitted.

StatusProbe keeps `connections` keep-alive connections of its own beside the load (a closed loop,
one request at a time on each, as wrk's), times every answer from the request's write to the
response's last byte, and reports percentiles per status. It runs on its own uvloop thread, at a
few microseconds of Python a request, so a couple of dozen connections cost the server's CPU
little; use it as some of the load's connections (e.g. wrk -c1000 and 24 here).

    with StatusProbe("127.0.0.1", port, paths) as probe:
        wrk(...)
    print(probe.describe())
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
import time
from collections.abc import Sequence

import numpy as np
import uvloop

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
_STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")
STOP_WAIT = 10.0  # seconds an answer in flight may still take once the load has ended
TIMEOUT = 2.0  # seconds a request may take before it counts as a timeout (wrk's --timeout 2s)


class _Connection(asyncio.Protocol):
    """One closed-loop client: a request, its whole answer timed, the next request."""

    def __init__(self, probe: StatusProbe, offset: int) -> None:
        self.probe = probe
        self.next_path = offset
        self.buffer = b""
        self.sent_at = 0.0
        self.awaiting = False
        self.deadline: asyncio.TimerHandle | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.probe.live.add(self)
        self.send()

    def send(self) -> None:
        if self.probe.stopping:
            self.transport.close()
            return
        paths = self.probe.paths
        path = paths[self.next_path % len(paths)]
        self.next_path += 1
        self.sent_at = time.perf_counter()
        self.awaiting = True
        self.deadline = asyncio.get_running_loop().call_later(self.probe.timeout, self.timed_out)
        self.transport.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode())

    def timed_out(self) -> None:
        """As wrk does: counted, the connection closed, and the client opens a new one."""
        self.probe.timeouts += 1
        self.awaiting = False
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = _CONTENT_LENGTH.search(self.buffer, 0, end + 2)
        status = _STATUS.match(self.buffer)
        if length is None or status is None:
            self.probe.errors += 1
            self.transport.close()
            return
        whole = end + 4 + int(length.group(1))
        if len(self.buffer) < whole:
            return
        took_ms = (time.perf_counter() - self.sent_at) * 1e3
        self.awaiting = False
        if self.deadline is not None:
            self.deadline.cancel()
        self.probe.times.setdefault(int(status.group(1)), []).append(took_ms)
        closing = b"\r\nconnection: close" in self.buffer[:end].lower()
        self.buffer = self.buffer[whole:]
        if closing:
            self.transport.close()
        else:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.probe.live.discard(self)
        if self.deadline is not None:
            self.deadline.cancel()
        if self.awaiting:  # closed with a request unanswered
            self.probe.errors += 1
            self.awaiting = False
        if not self.closed.done():
            self.closed.set_result(None)


class StatusProbe:
    """`connections` closed-loop keep-alive clients on `paths` until the `with` block ends; a
    connection the server closes (after a 429 with Connection: close, say) is opened again."""

    def __init__(
        self, host: str, port: int, paths: Sequence[str], connections: int = 24, timeout: float = TIMEOUT
    ) -> None:
        self.host, self.port, self.paths, self.connections = host, port, list(paths), connections
        self.timeout = timeout
        self.times: dict[int, list[float]] = {}
        self.errors = 0  # connections refused, or closed with a request unanswered
        self.timeouts = 0  # requests unanswered after `timeout` seconds (their connection closed)
        self.unanswered = 0  # requests still unanswered STOP_WAIT seconds after the load ended
        self.live: set[_Connection] = set()
        self.stopping = False
        self._thread = threading.Thread(target=self._run, name="status-probe", daemon=True)

    def _run(self) -> None:
        uvloop.run(self._clients())

    async def _clients(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.connections)))

    async def _client(self, offset: int) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopping:
            try:
                _, connection = await loop.create_connection(
                    functools.partial(_Connection, self, offset), self.host, self.port
                )
            except OSError:
                self.errors += 1
                await asyncio.sleep(0.05)
                continue
            await connection.closed
            offset = connection.next_path

    def __enter__(self) -> StatusProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping = True  # each client closes after its answer in flight
        self._thread.join(timeout=STOP_WAIT)
        # a request never answered would otherwise drop out of the percentiles unseen
        self.unanswered = sum(connection.awaiting for connection in list(self.live))

    def percentiles(self, status: int) -> tuple[int, float, float, float] | None:
        """(answers, p50, p99, max) in ms for `status`, or None when none came."""
        ms = self.times.get(status)
        if not ms:
            return None
        p50, p99 = np.percentile(ms, [50, 99])
        return len(ms), float(p50), float(p99), max(ms)

    def describe(self) -> str:
        parts = []
        for status in sorted(self.times):
            count, p50, p99, most = self.percentiles(status)  # type: ignore[misc]
            parts.append(f"{status}: {count:,}, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {most:.0f} ms")
        errors = f"; timeouts {self.timeouts}"
        errors += f"; connection errors {self.errors}" if self.errors else ""
        errors += f"; UNANSWERED {self.unanswered}" if self.unanswered else ""
        answers = "; ".join(parts) or "no answers"
        return f"probe ({self.connections} connections) by status: {answers}{errors}"
