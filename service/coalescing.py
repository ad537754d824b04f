"""A transport that hands the socket each response whole: every write of one event-loop step in
one system call.

uvicorn writes a response's status line and headers when the app sends `http.response.start`, and
its body in a second write when the app sends `http.response.body`, a few microseconds later. A
worker killed between the two (SIGKILL, an OOM kill, a SIGBUS) leaves the headers sent and the
body never: a load balancer in front has already passed the headers on and can no longer retry the
request elsewhere, so its client sees a broken response. Behind nginx with three replicas under
wrk's load, 20 SIGKILLs broke 4 responses that way (bench/kill_under_load.py); since, 0 in 50.

Here writes are kept and written together with `writelines` (a single vectored write with
uvloop) when the response is complete (the protocol calls `flush`), or else at the end of the loop
step: for an ordinary response, which Starlette sends without yielding in between, the kernel
receives all of it or none of it, and a request whose worker died before it was answered can be
retried. A streamed response's chunks go out one step later than they would have. (Flushing only
at the end of the step held every response for a whole turn of the loop, which under a flood of
1,024 connections is 20 ms of other connections' reads.)
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport(asyncio.Transport):
    """Wraps a stream transport: `write` keeps the data and schedules one flush for the step;
    `close` flushes first. Everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def write_now(self, data: bytes) -> None:
        """Write `data`, a whole response, to the socket now, after anything pending: for an answer
        written in one piece there is nothing to coalesce, and no flush need be scheduled."""
        if self._pending:
            self.write(data)
            self.flush()
        elif not self._transport.is_closing():
            self._transport.write(data)

    def flush(self) -> None:
        """Write what is pending now (the protocol calls it when a response is complete)."""
        if not self._pending:
            return  # flushed already
        pending, self._pending = self._pending, []
        if not self._transport.is_closing():
            self._transport.writelines(pending)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()
