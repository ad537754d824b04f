"""The supervisor: load the models, bind one socket per worker, fork the workers, keep them up.

Why not uvicorn's `--workers` or gunicorn's arbiter: both give every worker one shared listening
socket, and whichever process wakes first accepts every pending connection, so a handful of
keep-alive clients often all land on one worker (measured: 8 of 8 wrk connections on one worker,
half the throughput; README, Performance); gunicorn's `reuse_port` only sets SO_REUSEPORT on that
one socket. uvicorn's supervisor also spawns its workers, so each would load and verify the models
itself instead of sharing the supervisor's memory-mapped matrices. Here each worker slot has its own
SO_REUSEPORT socket, which the kernel balances new connections across; the supervisor binds and
keeps them, so a worker's replacement takes over the same socket and the connections queued on it.

- A worker that ends, whatever the cause, is logged (one line: worker, pid, signal or exit status),
  counted (`firth_worker_restarts_total`) and replaced by a fresh fork at once (after 1 s if it
  lived less than a second, so a worker that cannot start does not spin).
- Workers die with the supervisor (PR_SET_PDEATHSIG): no orphan keeps serving a port.
- A second firth-serve on the same address and port is refused before it loads anything.
- SIGTERM/SIGINT: every worker drains (service/workers.py); the supervisor exits 0 when all have,
  killing any still alive a few seconds after the drain deadline, or at once on a second signal.
- SIGHUP reloads the models (service/reload.py): the supervisor forwards it to every worker, which
  re-reads the models directory in a thread while it keeps serving, then reloads its own registry
  in its main thread (verifying, but starting no HNSW build: no thread or OpenMP team before a
  later fork), so a worker forked after a crash starts from the new versions. No worker is replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

from firth_core.errors import FirthError
from firth_service.registry import ModelRegistry, load_registry
from firth_service.reload import SUPERVISED_ENV, install_sighup, reload_models
from firth_service.settings import Settings
from firth_service.workers import run_worker

log = logging.getLogger("firth.supervisor")
_BACKLOG = 2048  # pending connections per socket; bursts of clients should queue, not be refused
_QUICK_DEATH = 1.0  # a worker that lived less than this is restarted after this long
_KILL_AFTER_DRAIN = 5.0  # seconds past the drain deadline before a worker is killed outright
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def fail(message: str) -> None:
    print(f"firth-serve: error: {message}", file=sys.stderr)


class AddressInUse(Exception):
    """Something already listens where this instance would; the message is one line."""


def claim_address(host: str, port: int) -> socket.socket | None:
    """Refuse to start where something already listens: returns a lock to hold for the process's
    lifetime (None where there is no abstract socket namespace), raises AddressInUse.

    Workers bind with SO_REUSEPORT, which would let a second firth-serve join the same port. A
    plain bind (no SO_REUSEPORT) fails while anything listens there, firth-serve included; an
    abstract Unix socket named after the address (Linux; released when the process ends) closes
    the gap between that probe and the workers' binds against a second firth-serve starting at
    the same moment."""
    lock: socket.socket | None = None
    if sys.platform.startswith("linux"):
        lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lock.bind(f"\0firth-serve:{host}:{port}")
        except OSError:
            lock.close()
            raise AddressInUse(
                f"cannot listen on {host}:{port} (another firth-serve is serving it)"
            ) from None
    try:
        bind_socket(host, port, reuse_port=False, listen=False).close()
    except OSError as exc:
        if lock is not None:
            lock.close()
        raise AddressInUse(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    return lock


def bind_socket(host: str, port: int, reuse_port: bool, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT from a last run is fine
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    if listen:
        sock.listen(_BACKLOG)
    return sock


def load_models(settings: Settings) -> ModelRegistry | None:
    """The registry, or None after printing one clear line (a bad model directory)."""
    try:
        return load_registry(settings)
    except FirthError as exc:
        fail(str(exc))
        return None


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux); if the parent ended
    before the request was made, end now. The signal follows the thread that forked: the
    supervisor forks from its only thread."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != parent_pid:
        os._exit(1)


def describe_end(exitcode: int | None) -> tuple[str | None, int | None]:
    """(signal name, exit status) of a finished multiprocessing worker."""
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name, None
        except ValueError:
            return f"signal {-exitcode}", None
    return None, exitcode


@dataclass
class Worker:
    slot: int
    process: BaseProcess
    ready_fd: int  # read end of the pipe the worker writes one byte to once it accepts; -1 after
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid or 0


class Supervisor:
    def __init__(self, registry: ModelRegistry, settings: Settings, sockets: list[socket.socket]) -> None:
        self.registry = registry
        self.settings = settings
        self.sockets = sockets
        self.context = multiprocessing.get_context("fork")
        # read by every worker's /metrics at scrape time: one shared count, not summed per worker
        self.restarts = self.context.RawValue("Q", 0)
        self.active: dict[int, Worker] = {}  # slot -> the worker serving it
        self.restart_at: dict[int, float] = {}  # slot -> when to fork its replacement
        self.signals: list[int] = []
        self.stop_deadline: float | None = None

    # -- forking
    def fork(self, slot: int) -> Worker:
        ready_r, ready_w = os.pipe()
        process = self.context.Process(
            target=self._worker_main,
            args=(slot, ready_r, ready_w, os.getpid()),
            name=f"firth-worker-{slot}",
        )
        process.start()
        os.close(ready_w)
        return Worker(slot, process, ready_r)

    def _worker_main(self, slot: int, ready_r: int, ready_w: int, parent_pid: int) -> None:
        die_with_parent(parent_pid)
        signal.set_wakeup_fd(-1)
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)
        os.close(ready_r)
        for worker in self.live():
            if worker.ready_fd >= 0:
                os.close(worker.ready_fd)
        for i, sock in enumerate(self.sockets):
            if i != slot:
                sock.close()
        # a forked worker inherits the supervisor's handlers: until uvicorn installs its own, a
        # SIGTERM simply ends it (it serves nothing yet). The supervisor drives the workers: a
        # terminal's Ctrl-C (SIGINT to the whole group) is its business alone. SIGHUP (forwarded by
        # the supervisor) reloads this worker's models in a thread; uvicorn leaves it alone.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # a SIGHUP forwarded before this (just after the fork) met the supervisor's inherited
        # handler, which only noted it in this copy of its list: taken up here, not lost
        missed = signal.SIGHUP in self.signals
        install_sighup(self.registry, self.settings)
        if missed:
            signal.raise_signal(signal.SIGHUP)
        restarts = self.restarts
        run_worker(self.registry, self.settings, self.sockets[slot], ready_w, lambda: int(restarts.value))
        logging.shutdown()
        os._exit(0)  # threads still computing a cut request are not waited for

    def live(self) -> list[Worker]:
        return [*self.active.values()]

    # -- signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)  # handled in the loop; the wakeup fd ends its wait

    def handle_signals(self) -> None:
        while self.signals:
            signum = self.signals.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT):
                if self.stop_deadline is None:
                    log.info("stopping: draining every worker")
                    self.stop_deadline = time.monotonic() + self.settings.drain_seconds + _KILL_AFTER_DRAIN
                    self.restart_at.clear()
                    for sock in self.sockets:  # the workers hold their own until they stop listening
                        sock.close()
                    for worker in self.live():
                        self.send(worker, signal.SIGTERM)
                else:  # asked twice: stop now
                    log.warning("stopping at once: killing every worker")
                    for worker in self.live():
                        self.send(worker, signal.SIGKILL)
            elif signum == signal.SIGHUP and self.stop_deadline is None:
                self.reload()

    def reload(self) -> None:
        """Every worker reloads in its own thread; meanwhile this process reloads the registry its
        future forks start from. Here in the main thread, with no HNSW build (a thread, and faiss's
        OpenMP team, must not exist at a fork): a worker forked later builds in its own lifespan."""
        log.info("SIGHUP: every worker reloads its models; so does the supervisor, for later workers")
        for worker in self.live():
            self.send(worker, signal.SIGHUP)
        try:
            reload_models(self.registry, self.settings, build_indexes=False)
        except Exception:  # the old models stay; the supervisor must keep supervising
            log.exception("supervisor reload failed; workers forked later start from the models before it")

    @staticmethod
    def send(worker: Worker, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signum)

    # -- events
    def reap(self, worker: Worker) -> None:
        worker.process.join()
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1
        if self.stop_deadline is not None:
            if self.active.get(worker.slot) is worker:
                del self.active[worker.slot]
            return
        signame, status = describe_end(worker.process.exitcode)
        lived = time.monotonic() - worker.started
        log.error(
            "worker %d (pid %d) ended (%s) after %.1f s; starting another",
            worker.slot,
            worker.pid,
            signame or f"exit status {status}",
            lived,
            extra={"worker": worker.slot, "pid": worker.pid, "signal": signame, "exit_status": status},
        )
        self.restarts.value += 1
        del self.active[worker.slot]
        self.restart_at[worker.slot] = time.monotonic() + (_QUICK_DEATH if lived < _QUICK_DEATH else 0.0)

    def on_ready(self, worker: Worker) -> None:
        os.read(worker.ready_fd, 1)  # b"r" once accepting; b"": the worker ended first (reaped apart)
        os.close(worker.ready_fd)
        worker.ready_fd = -1

    def advance(self) -> None:
        now = time.monotonic()
        for slot, at in list(self.restart_at.items()):
            if at <= now:
                del self.restart_at[slot]
                self.active[slot] = self.fork(slot)
        if self.stop_deadline is not None and now >= self.stop_deadline:
            for worker in self.live():
                log.error(
                    "worker %d (pid %d) still running after the drain; killing it", worker.slot, worker.pid
                )
                self.send(worker, signal.SIGKILL)
            self.stop_deadline = float("inf")

    def timeout(self) -> float:
        moments = [*self.restart_at.values()]
        if self.stop_deadline is not None:
            moments.append(self.stop_deadline)
        return max(0.0, min(moments, default=time.monotonic() + 1.0) - time.monotonic())

    # -- the loop
    def run(self) -> int:
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        os.environ[SUPERVISED_ENV] = str(os.getpid())  # workers inherit it: POST /admin/reload signals us
        for slot in range(len(self.sockets)):
            self.active[slot] = self.fork(slot)
        while True:
            self.handle_signals()
            self.advance()
            workers = self.live()
            if self.stop_deadline is not None and not workers:
                break
            by_sentinel = {w.process.sentinel: w for w in workers}
            by_ready = {w.ready_fd: w for w in workers if w.ready_fd >= 0}
            woken = multiprocessing.connection.wait(
                [self.wakeup_r, *by_sentinel, *by_ready], timeout=min(self.timeout(), 1.0)
            )
            for handle in cast(list[int], woken):  # all are file descriptors here
                if handle == self.wakeup_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wakeup_r, 512)
                elif handle in by_sentinel:
                    self.reap(by_sentinel[handle])
                elif by_ready[handle].ready_fd >= 0:  # readable: a byte, or EOF from a worker's end
                    self.on_ready(by_ready[handle])
        for sock in self.sockets:
            sock.close()
        return 0


def freeze_loaded_objects() -> None:
    """Move every object alive now (the loaded models' words and dicts, the imported modules) out
    of the cyclic GC's reach before forking: a worker's full collections no longer walk them
    (measured: gen-2 pauses of 96-128 ms, six in 10 s under a flood, gone), nor write to their
    headers, which would copy the shared pages into each worker (Instagram's gc.freeze)."""
    gc.collect()
    gc.freeze()


def serve(settings: Settings, held: list[int], announce: Callable[[], None] | None = None) -> int:
    """Claim the address, load the models, fork the workers; `announce` logs start-up facts once
    the address is ours (a second instance's only output is its one error line). `held` gathers
    the SIGHUPs that came during the start (firth-serve's main keeps them from its first line, as
    SIGHUP's default action would end the process): a large model's first start takes minutes, so
    one may well come while the models load, and they are read again before any worker forks."""
    try:
        lock = claim_address(settings.host, settings.port)
    except AddressInUse as exc:
        fail(str(exc))
        return 2
    if announce is not None:
        announce()
    registry = load_models(settings)
    if registry is None:
        return 2
    if held:
        held.clear()
        log.info("SIGHUP while the models loaded: reloading them before the workers start")
        try:
            reload_models(registry, settings, build_indexes=False)
        except Exception:  # as Supervisor.reload: what loaded serves
            log.exception("reload at start failed; the models loaded first are served")
    sockets: list[socket.socket] = []
    try:
        for _ in range(settings.workers):
            sockets.append(bind_socket(settings.host, settings.port, reuse_port=settings.workers > 1))
    except OSError as exc:  # something else took the port while the models loaded
        for sock in sockets:
            sock.close()
        fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror})")
        return 2
    # fork after loading: workers share the loaded matrices and indexes copy-on-write and start
    # at once. Safe because nothing here has started an OpenMP team or a thread (HNSW builds and
    # uvicorn start inside each worker).
    freeze_loaded_objects()
    supervisor = Supervisor(registry, settings, sockets)
    supervisor.signals = held  # a SIGHUP from here until run() installs its handler is not lost
    status = supervisor.run()
    # Tearing down the interpreter with the models loaded takes a second or more on a busy host,
    # and a stop should be prompt: nothing is left to clean up (the kernel closes the sockets and
    # releases the address lock, held until here).
    del lock
    logging.shutdown()
    sys.stderr.flush()
    os._exit(status)
