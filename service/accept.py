"""Accept every connection waiting on the listener each turn of the event loop, not one.

Since libuv 1.45 (its commit 6c692ad, "unix: don't accept() connections in a loop"), uvloop's
server takes one connection off the listen queue per turn of the event loop. Under load a turn
takes 20-50 ms (every ready connection is served in it), so a burst of clients waits in the kernel's
queue for seconds: with 1,024 connections on two workers, `ss -ltn` showed 100-300 connections
queued on each listener for up to 8 s, strace one accept4 per epoll_pwait, and wrk ~400 requests
timed out (2 s) that had never been read. asyncio's own selector loop accepts up to `backlog`
connections per event; this does the same beside uvloop's server.

BurstAcceptor watches a duplicate of the listening socket and, whenever it is readable, accepts
waiting connections and hands each to the loop (`connect_accepted_socket`) with the protocol
uvicorn's server makes, so they are served, limited and drained like any other. uvloop's own
watcher stays: finding the queue empty, it ignores the EAGAIN.

A connection accepted here meets the connection cap (service/http_limits.py: evict a slow one or
answer 503) only when its protocol's connection_made runs, in the next turn; until then it holds a
file descriptor beyond the cap's count. So a turn accepts at most the room left under the cap
(`room()`, less those still being set up), and never fewer than ACCEPT_AT_CAP, which keeps those
in between within a quarter of the descriptors the cap holds in reserve (a worker has about 24 of
its own); and at most ACCEPT_BURST. Under 5,000 slow connections against a worker at its cap
(bench/slow_connections.py, `ulimit -n 1024`), accepting every waiting connection ran it out of
descriptors (EMFILE) and reset 1.4% of the other clients' connections, 16 a turn still 1.1%, 8
none (99.93% answered); while 8 a turn far from the cap left the last of 1,024 new connections
waiting a second to be accepted.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

from firth_service.http_limits import FD_RESERVE

log = logging.getLogger("firth.http")

ACCEPT_BURST = 256  # connections accepted per turn of the loop, at most
ACCEPT_AT_CAP = FD_RESERVE // 8  # and at least, at the connection cap (module doc)
PAUSE_SECONDS = 0.5  # after an accept error such as EMFILE, before trying again (no busy loop)
_RETRY_AT_ONCE = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR}


class BurstAcceptor:
    """Accepts in bursts on a duplicate of `listener` until `close()` (see the module's doc)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        room: Callable[[], int] = lambda: ACCEPT_BURST,
    ) -> None:
        """`room()`: how many more connections the connection cap allows now."""
        self._loop = loop
        self._factory = protocol_factory
        self._room = room
        self._sock = listener.dup()  # closing it leaves the server's socket open, and back
        self._sock.setblocking(False)
        self._connecting: set[asyncio.Future[Any]] = set()
        self._closed = False
        self._paused: asyncio.TimerHandle | None = None
        loop.add_reader(self._sock.fileno(), self._accept_waiting)

    def _accept_waiting(self) -> None:
        room = self._room() - len(self._connecting)
        for _ in range(min(ACCEPT_BURST, max(ACCEPT_AT_CAP, room))):
            try:
                conn, _ = self._sock.accept()
            except ConnectionAbortedError:
                continue  # the client gave up while queued: the next one
            except OSError as exc:
                if exc.errno not in _RETRY_AT_ONCE:
                    self._pause(exc)
                return
            future = asyncio.ensure_future(self._loop.connect_accepted_socket(self._factory, conn))
            self._connecting.add(future)
            future.add_done_callback(self._connected)

    def _connected(self, future: asyncio.Future[Any]) -> None:
        self._connecting.discard(future)
        if not future.cancelled() and future.exception() is not None:  # its socket is closed already
            log.debug("an accepted connection could not be set up: %s", future.exception())

    def _pause(self, exc: OSError) -> None:
        """Out of file descriptors or buffers: uvloop's watcher (with libuv's EMFILE handling) and
        the connection cap (service/http_limits.py) deal with it; this stops watching for a while."""
        log.warning("accepting connections failed (%s); retrying in %g s", exc, PAUSE_SECONDS)
        self._loop.remove_reader(self._sock.fileno())
        self._paused = self._loop.call_later(PAUSE_SECONDS, self._resume)

    def _resume(self) -> None:
        self._paused = None
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept_waiting)

    async def settled(self) -> None:
        """Return once the connections accepted are set up (their protocols made), so that a
        shutdown that closes connections sees them too."""
        await asyncio.gather(*self._connecting, return_exceptions=True)

    def close(self) -> None:
        """Stop accepting (the drain): connections already accepted are served to their end."""
        if self._closed:
            return
        self._closed = True
        if self._paused is not None:
            self._paused.cancel()
        else:
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
