"""BurstAcceptor: connections queued on a listener are all accepted within a few turns of a real
uvloop loop (uvloop's own server takes one a turn), only a few a turn at the connection cap, served by the protocol given, and none once it
is closed, while the listening socket itself stays open for the server that owns it."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, cast

import pytest
import uvloop

from firth_service.accept import ACCEPT_AT_CAP, BurstAcceptor

QUEUED = 40


class Echo(asyncio.Protocol):
    """Answers each chunk with itself, so a client can see its connection is served."""

    made: ClassVar[list[Echo]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        Echo.made.append(self)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class CountingAcceptor(BurstAcceptor):
    """Records how many connections each readiness callback accepted."""

    def __init__(self, *args: Any) -> None:
        self.per_turn: list[int] = []
        super().__init__(*args)

    def _accept_waiting(self) -> None:
        before = len(self._connecting)
        super()._accept_waiting()
        self.per_turn.append(len(self._connecting) - before)


ACCEPTORS: list[BurstAcceptor] = []


def acceptor_on(
    loop: asyncio.AbstractEventLoop, listener: socket.socket, room: Callable[[], int] = lambda: 1000
) -> CountingAcceptor:
    acceptor = CountingAcceptor(loop, listener, Echo, room)
    ACCEPTORS.append(acceptor)
    return acceptor


@contextmanager
def listener_and_loop() -> Iterator[tuple[socket.socket, asyncio.AbstractEventLoop]]:
    Echo.made = []
    loop = uvloop.new_event_loop()
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    try:
        yield listener, loop
    finally:  # a failed test leaves no watcher behind: uvloop's close() would wait on it
        while ACCEPTORS:
            ACCEPTORS.pop().close()
        turns(loop, 4)  # connections still being set up finish first
        for protocol in Echo.made:  # the server's side of each connection, before the loop goes
            protocol.transport.close()
        turns(loop, 4)
        listener.close()
        loop.close()


def queue_clients(listener: socket.socket, count: int) -> list[socket.socket]:
    """Connections the kernel completes and queues before anything accepts them."""
    return [socket.create_connection(listener.getsockname(), timeout=5) for _ in range(count)]


def turns(loop: asyncio.AbstractEventLoop, count: int) -> None:
    async def run() -> None:
        for _ in range(count):
            await asyncio.sleep(0)

    loop.run_until_complete(asyncio.wait_for(run(), 5))


def test_a_queue_of_connections_is_accepted_in_a_few_turns_and_served() -> None:
    with listener_and_loop() as (listener, loop):
        clients = queue_clients(listener, QUEUED)
        acceptor = acceptor_on(loop, listener)
        turns(loop, 4)
        assert len(Echo.made) == QUEUED
        assert acceptor.per_turn[0] == QUEUED  # all in one turn, the room allowing
        for i, client in enumerate(clients):
            client.sendall(b"ping %d" % i)
        turns(loop, 4)
        for i, client in enumerate(clients):
            assert client.recv(64) == b"ping %d" % i
            client.close()
        acceptor.close()


def test_at_the_connection_cap_a_turn_accepts_only_a_few() -> None:
    """Each connection accepted holds a descriptor the cap counts only once its protocol is made:
    with no room left, ACCEPT_AT_CAP a turn (the cap's eviction or 503 then deals with them)."""
    with listener_and_loop() as (listener, loop):
        clients = queue_clients(listener, QUEUED)
        acceptor = acceptor_on(loop, listener, room=lambda: 0)
        turns(loop, 2 * QUEUED // ACCEPT_AT_CAP + 2)
        assert len(Echo.made) == QUEUED
        assert 0 < max(acceptor.per_turn) <= ACCEPT_AT_CAP
        for client in clients:
            client.close()


def test_a_turn_accepts_what_the_cap_has_room_for() -> None:
    """Between the two: with room for 20 below the cap, the first turn takes 20 of the 40 queued,
    then the rest follow in later turns."""
    room = 20
    with listener_and_loop() as (listener, loop):
        clients = queue_clients(listener, QUEUED)
        acceptor = acceptor_on(loop, listener, room=lambda: room)
        turns(loop, 6)
        assert acceptor.per_turn[0] == room
        assert len(Echo.made) == QUEUED
        for client in clients:
            client.close()


def test_uvloops_own_server_takes_one_connection_a_turn() -> None:
    """Why BurstAcceptor exists (libuv >= 1.45): if this starts failing, libuv accepts in bursts
    again and service/accept.py may be removed."""
    with listener_and_loop() as (listener, loop):
        clients = queue_clients(listener, QUEUED)
        server = loop.run_until_complete(loop.create_server(Echo, sock=listener))
        turns(loop, 4)
        assert len(Echo.made) < QUEUED / 2
        server.close()
        for client in clients:
            client.close()


def test_after_close_nothing_more_is_accepted_and_the_listener_stays_open() -> None:
    with listener_and_loop() as (listener, loop):
        acceptor = acceptor_on(loop, listener)
        acceptor.close()
        acceptor.close()  # twice is harmless (the drain, then uvicorn's shutdown)
        clients = queue_clients(listener, 3)
        turns(loop, 4)
        assert Echo.made == []
        listener.setblocking(False)
        conn, _ = listener.accept()  # still listening: the queued connection is there
        conn.close()
        for client in clients:
            client.close()


def test_an_accept_error_pauses_watching_instead_of_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    with listener_and_loop() as (listener, loop):
        acceptor = acceptor_on(loop, listener)
        real = acceptor._sock

        class OutOfDescriptors:
            calls = 0

            def fileno(self) -> int:
                return real.fileno()

            def accept(self) -> tuple[socket.socket, object]:
                OutOfDescriptors.calls += 1
                raise OSError(errno.EMFILE, "Too many open files")

        monkeypatch.setattr(acceptor, "_sock", OutOfDescriptors())
        clients = queue_clients(listener, 2)
        turns(loop, 20)
        assert OutOfDescriptors.calls == 1  # paused: the readable listener is not polled again at once
        assert Echo.made == []
        monkeypatch.undo()
        loop.run_until_complete(asyncio.sleep(0.7))  # past PAUSE_SECONDS: watching again
        assert len(Echo.made) == 2
        acceptor.close()
        for client in clients:
            client.close()
