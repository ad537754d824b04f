"""CoalescingTransport: the writes of one event-loop step reach the wrapped transport as one
`writelines`, in order; `close` writes what is pending first; nothing is written once the
transport is closing. One test drives a real uvloop socket end to end."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvloop

from firth_service.coalescing import CoalescingTransport


class Recorder(asyncio.Transport):
    """The wrapped transport's side: what it was asked to do, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", list(list_of_data)))

    def write(self, data: Any) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


async def one_step() -> None:
    await asyncio.sleep(0)  # callbacks scheduled with call_soon before this run first


def test_writes_of_one_step_go_out_as_one_writelines() -> None:
    async def main() -> list[tuple[str, Any]]:
        inner = Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(bytearray(b"{}"))
        assert inner.calls == [] and transport.get_write_buffer_size() == 40
        await one_step()
        transport.write(b"next")  # a later step: a write of its own
        await one_step()
        return inner.calls

    calls = asyncio.run(main())
    assert calls == [
        ("writelines", [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", b"{}"]),
        ("writelines", [b"next"]),
    ]


def test_close_writes_what_is_pending_first_and_a_closing_transport_gets_nothing() -> None:
    async def main() -> list[tuple[str, Any]]:
        inner = Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"429")
        transport.close()
        transport.write(b"late")  # after close: dropped, as the real transport would
        await one_step()
        await one_step()
        return inner.calls

    assert asyncio.run(main()) == [("writelines", [b"429"]), ("close", None)]


def test_a_real_socket_receives_every_byte_in_order() -> None:
    received = bytearray()

    async def main() -> None:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        real, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        transport = CoalescingTransport(real, loop)  # type: ignore[arg-type]
        body = bytes(range(256)) * 4096  # 1 MiB: more than one write of the socket
        transport.write(b"head:")
        transport.write(body)
        transport.close()
        theirs.setblocking(False)
        while len(received) < 5 + len(body):
            try:
                chunk = await loop.sock_recv(theirs, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                break
            received.extend(chunk)
        theirs.close()
        assert bytes(received) == b"head:" + body

    uvloop.run(main())


def test_write_now_goes_out_at_once_after_anything_pending() -> None:
    async def main() -> list[tuple[str, Any]]:
        inner = Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write_now(b"whole")  # nothing pending: straight to the socket, no flush scheduled
        assert inner.calls == [("write", b"whole")]
        transport.write(b"head")
        transport.write_now(b"tail")  # after what is pending, in one writelines
        assert inner.calls[1:] == [("writelines", [b"head", b"tail"])]
        await one_step()  # the flush scheduled for "head" finds nothing left
        inner.closing = True
        transport.write_now(b"late")  # a closing transport is written nothing
        return inner.calls

    calls = asyncio.run(main())
    assert calls == [("write", b"whole"), ("writelines", [b"head", b"tail"])]
