"""Serving processes: one worker runs in-process; several run as spawned processes, each with its
own listening socket bound with SO_REUSEPORT.

Why not uvicorn's `--workers`: its workers share one listening socket, and whichever process wakes
first accepts every pending connection, so a handful of keep-alive clients often all land on one
worker (measured: 8 of 8 wrk connections on one worker, half the throughput). With a socket per
worker and SO_REUSEPORT, the kernel spreads new connections across workers.

The models are loaded once, before any port is bound (a bound port means a ready model; a bad model
directory ends the program with one line and exit status 2), then the workers are forked and share
them copy-on-write.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from types import FrameType

import uvicorn

from firth_core.errors import FirthError
from service.http_limits import raise_open_file_limit, uvicorn_options
from service.registry import ModelRegistry, load_registry
from service.settings import Settings

log = logging.getLogger("firth.workers")
_BACKLOG = 2048  # pending connections per worker; bursts of clients should queue, not be refused


def bind_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(_BACKLOG)
    sock.set_inheritable(True)
    return sock


def load_models(settings: Settings) -> ModelRegistry | None:
    """The registry, or None after printing one clear line (a bad model directory)."""
    try:
        return load_registry(settings)
    except FirthError as exc:
        print(f"firth-serve: error: {exc}", file=sys.stderr)
        return None


def run_worker(registry: ModelRegistry, settings: Settings) -> int:
    """Bind and serve loaded models until told to stop. Returns the process exit status."""
    from service.app import create_app

    if settings.workers > 1:
        # Parallelism comes from the processes; faiss's OpenMP start-up on one-row searches costs
        # more than it gives (measured +16% requests/s with one thread per worker). libgomp keeps
        # this setting per thread: it holds for the searches answered inline on the event loop's
        # thread, while batches run in the threadpool and the background HNSW build still use
        # every core (checked: a build in another thread takes 2 CPU-seconds a second).
        import faiss

        faiss.omp_set_num_threads(1)
    try:
        sock = bind_socket(settings.host, settings.port, reuse_port=settings.workers > 1)
    except OSError as exc:
        print(
            f"firth-serve: error: cannot listen on {settings.host}:{settings.port} ({exc.strerror})",
            file=sys.stderr,
        )
        return 2
    raise_open_file_limit()
    app = create_app(settings, registry)
    config = uvicorn.Config(app, **uvicorn_options(settings, app))
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def serve(settings: Settings) -> int:
    registry = load_models(settings)
    if registry is None:
        return 2
    if settings.workers <= 1:
        return run_worker(registry, settings)
    return _supervise(registry, settings)


def _worker_main(registry: ModelRegistry, settings: Settings) -> None:
    # a forked worker inherits the supervisor's handlers; uvicorn installs its own and, on exit,
    # re-raises the signal it caught with the handler it found: make that Python's default
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run_worker(registry, settings))


def _supervise(registry: ModelRegistry, settings: Settings) -> int:
    # fork after loading: workers share the loaded matrices and indexes copy-on-write and start at
    # once. Safe here because nothing has started an OpenMP team or a Python thread yet (HNSW builds
    # and uvicorn start inside each worker).
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker_main, args=(registry, settings), name=f"firth-worker-{i}")
        for i in range(settings.workers)
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn finishes in-flight requests, then exits

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        if stopping:  # a signal during start-up: start no more workers
            break
        process.start()
    started = [p for p in processes if p.pid is not None]
    status = 0
    while True:
        for process in started:
            if not process.is_alive() and not stopping:
                # any exit we did not ask for (a bad model: 2; uvicorn giving up: 0) ends the service
                log.error("%s exited with status %s; stopping the others", process.name, process.exitcode)
                status = process.exitcode if process.exitcode and process.exitcode > 0 else 1
                stop(signal.SIGTERM, None)
        alive = [p.sentinel for p in started if p.is_alive()]
        if not alive:
            break
        multiprocessing.connection.wait(alive, timeout=1.0)
    for process in started:
        process.join()
    return status
