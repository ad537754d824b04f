"""One serving process: uvicorn on a socket the supervisor bound, draining on SIGTERM.

The drain (FIRTH_DRAIN_SECONDS, from the first SIGTERM or SIGINT):
1. The app is marked draining: `/readyz` answers 503 and every response carries `Connection:
   close`, so keep-alive clients reconnect elsewhere. The listener stays open, so a load
   balancer's probe sees the 503 rather than a refused connection, until no request is in flight
   (or half the drain has passed).
2. The listener is closed; the worker waits for its connections to end (each closes after its next
   response, an idle one at uvicorn's keep-alive timeout) rather than closing idle ones under a
   client that may be sending on them.
3. At the drain deadline whatever still runs is cancelled: each such request is logged as one
   warning line and answered 503 `/problems/shutting-down` (service/drain_cuts.py). Either way the process then exits 0 at
   once (os._exit in the supervisor: a computation left in a thread is not waited for).
SIGINT is ignored (the supervisor turns it into SIGTERM); a second SIGTERM stops the worker as
uvicorn would.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

# imported by the supervisor, before it forks: a replacement worker then starts in a fraction of a
# second instead of importing FastAPI afresh (measured 1.2 s to accepting on a busy host)
from firth_service.accept import BurstAcceptor
from firth_service.app import create_app
from firth_service.http_limits import raise_open_file_limit, uvicorn_options
from firth_service.registry import ModelRegistry
from firth_service.settings import Settings

log = logging.getLogger("firth.workers")
# after the drain deadline, for the requests it cut to send their 503 (a computation that cannot be
# interrupted in its thread is left to the exit)
_CUT_GRACE = 0.5


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a bounded drain, and a byte on `ready_fd` once it accepts."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float, ready_fd: int | None = None) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.ready_fd = ready_fd
        self.drain_started = 0.0
        self.drain_deadline: float | None = None
        self.listening = True
        self.on_drain: Callable[[], None] = lambda: None
        self.acceptors: list[BurstAcceptor] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT:  # a terminal's Ctrl-C reaches every process: the supervisor decides
            return
        if self.drain_deadline is None and not self.should_exit:
            self.drain_started = time.monotonic()
            self.drain_deadline = self.drain_started + self.drain_seconds
            self.on_drain()
            log.info("draining: /readyz answers 503; stopping when idle, at most %.1f s", self.drain_seconds)
            return
        super().handle_exit(sig, frame)  # a second signal: stop now

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets and self.config.ssl is None:  # (plain TCP: firth serves no TLS)
            # the protocol uvicorn's startup gives its servers (service/accept.py)
            make_protocol = functools.partial(  # type: ignore[call-arg]  # as uvicorn's own
                self.config.http_protocol_class,
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
            )
            cap: int = getattr(self.config.http_protocol_class, "max_connections", 1 << 20)
            connections = self.server_state.connections

            def room() -> int:
                return cap - len(connections)

            loop = asyncio.get_running_loop()
            self.acceptors = [BurstAcceptor(loop, sock, make_protocol, room) for sock in sockets]
        if self.ready_fd is not None:
            if self.started:
                os.write(self.ready_fd, b"r")
            os.close(self.ready_fd)
            self.ready_fd = None

    async def on_tick(self, counter: int) -> bool:
        should_exit = await super().on_tick(counter)
        if self.drain_deadline is None or should_exit:
            return should_exit
        now = time.monotonic()
        left = self.drain_deadline - now
        if self.listening and (
            not self.server_state.tasks or now - self.drain_started >= self.drain_seconds / 2
        ):
            self.stop_listening()
        if (not self.listening and not self.server_state.connections) or left <= 0:
            # uvicorn's shutdown waits this long for requests still running, then cancels them
            wait = max(left, 0.0)
            if left <= 0 and self.server_state.tasks:
                self.cut_running()
                wait = _CUT_GRACE
            self.config.timeout_graceful_shutdown = wait  # type: ignore[assignment]  # typed int; asyncio takes float
            self.should_exit = True
            return True
        return False

    def cut_running(self) -> None:
        """The deadline: cancel what still runs. Each cut request logs its line and answers 503
        (service/drain_cuts.py) in the moments uvicorn's shutdown then waits."""
        log.warning("drain deadline: cutting %d request(s) still running", len(self.server_state.tasks))
        for task in self.server_state.tasks:
            task.cancel(msg="cut by the drain")

    def stop_listening(self) -> None:
        for acceptor in self.acceptors:
            acceptor.close()
        for server in self.servers:  # this process's copy; the supervisor keeps the socket
            server.close()
        self.listening = False

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for acceptor in self.acceptors:  # uvicorn's shutdown closes its servers, not these
            acceptor.close()
        for acceptor in self.acceptors:  # and those they accepted are among its connections
            await acceptor.settled()
        await super().shutdown(sockets=sockets)


def one_thread_per_library() -> None:
    """When several workers share the cores, parallelism comes from the processes:
    - faiss's OpenMP start-up on one-row searches costs more than it gives (measured +16%
      requests/s with one thread per worker). libgomp keeps this setting per thread: it holds for
      the searches answered inline on the event loop's thread, while batches run in the
      threadpool and the background HNSW build still use every core (checked: a build in another
      thread takes 2 CPU-seconds a second).
    - OpenBLAS's threads are made at numpy's import by the main thread, so they run at the
      worker's priority and would carry a heavy request's matrix products (the evaluation's
      tiles) past the lower priority of the heavy threads (service/work.py). With one, each
      product runs in the thread that asked for it (A/B beside 16 evaluations, shared machine:
      lookups' p99 39-45 ms against 40-444 ms with OpenBLAS's two)."""
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(1)
    threadpool_limits(1, user_api="blas")  # for the process, until it ends


def run_worker(
    registry: ModelRegistry,
    settings: Settings,
    sock: socket.socket,
    ready_fd: int | None = None,
    worker_restarts: Callable[[], int] | None = None,
) -> None:
    """Serve loaded models on `sock` until stopped (drained)."""
    if settings.workers > 1:
        one_thread_per_library()
    raise_open_file_limit()  # before uvicorn_options: the connection cap is kept below it
    app = create_app(settings, registry)
    if worker_restarts is not None:
        app.state.metrics.add_worker_restarts(worker_restarts)
    config = uvicorn.Config(
        app,
        **uvicorn_options(settings, app),  # logging, the HTTP limits (service/http_limits.py)
        timeout_graceful_shutdown=math.ceil(settings.drain_seconds),  # after a second signal
    )
    server = DrainingServer(config, settings.drain_seconds, ready_fd)

    def drain() -> None:
        app.state.draining = True

    server.on_drain = drain
    server.run(sockets=[sock])
