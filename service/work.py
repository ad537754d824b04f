"""Long work in a thread, bounded: a deadline, cancellation when the client goes away, and the
memory it freed handed back to the system afterwards.

The work runs with a CancelToken (firth_core.cancellation); its loops call `checkpoint()` between
chunks, so a cancelled evaluation stops within one chunk and frees its thread and heavy slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from firth_core.cancellation import Cancelled, CancelToken, cancellable
from firth_service.admission import Admission
from firth_service.errors import DeadlineExceeded
from firth_service.heap import release_memory
from firth_service.metrics import record_cancelled

T = TypeVar("T")
log = logging.getLogger("firth.work")


# Heavy work runs in threads of its own at a lower CPU priority (nice +10: about a tenth of a
# nice-0 thread's share when both want the CPU): on a busy machine the kernel then runs the
# event loop, and the lookups it answers, first. An unprivileged thread may lower its own priority
# but not raise it back, so these threads are kept for heavy work only (the pool is as large as
# the heavy slots, so it never queues).
HEAVY_NICE = 10


def _lower_priority() -> None:
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):  # not allowed here (some sandboxes): run at normal priority
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + HEAVY_NICE))


def heavy_threads(state: Any) -> ThreadPoolExecutor:
    """The app's heavy threads, made on first use (in the worker process, after the fork)."""
    pool: ThreadPoolExecutor | None = getattr(state, "heavy_threads", None)
    if pool is None:
        size = state.settings.max_concurrent_heavy
        pool = ThreadPoolExecutor(size, thread_name_prefix="firth-heavy", initializer=_lower_priority)
        state.heavy_threads = pool
    return pool


async def _in_thread(request: Request, heavy: bool, call: Callable[[], T]) -> T:
    """call() in Starlette's thread pool, or for heavy work in the low-priority heavy threads
    (with the request's context variables, as run_in_threadpool passes them)."""
    if not heavy:
        return await run_in_threadpool(call)
    pool = heavy_threads(request.app.state)
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(pool, context.run, call)


def _stopped(work: asyncio.Future[Any]) -> None:
    """Take the outcome of work abandoned by its cancelled request (its thread's Cancelled)."""
    if not work.cancelled():
        work.exception()


async def _disconnected(request: Request) -> None:
    """Return when the client has gone away. Called once the body has been read, so the next
    message from the server is http.disconnect (or nothing, until the response is sent)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def run_sized(request: Request, heavy: bool, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in the thread pool; when `heavy`, as run_bounded with a heavy slot. Light work
    skips the deadline watch and the malloc_trim after it, which would cost more than the work."""
    if not heavy:
        return await run_in_threadpool(fn, *args)
    return await run_bounded(request, fn, *args, heavy=True)


async def run_bounded(request: Request, fn: Callable[..., T], *args: Any, heavy: bool = False) -> T:
    """fn(*args) in a thread, stopped at its next checkpoint when the client disconnects or the
    deadline (Settings.request_deadline_seconds) passes. When `heavy`, it holds one of the
    worker's heavy slots (429 at once when none is free) and runs in the low-priority heavy
    threads; the slot covers the whole computation, as this waits for the thread to stop."""
    if not heavy:
        return await _bounded(request, fn, *args, heavy=False)
    admission: Admission = request.app.state.admission
    async with admission.heavy():
        return await _bounded(request, fn, *args, heavy=True)


async def _bounded(request: Request, fn: Callable[..., T], *args: Any, heavy: bool) -> T:
    deadline: float = request.app.state.settings.request_deadline_seconds
    token = CancelToken()

    def call() -> T:
        with cancellable(token):
            return fn(*args)

    work = asyncio.ensure_future(_in_thread(request, heavy, call))
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({work, watch}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
        if work in done:
            return work.result()
        reason = "disconnect" if watch in done else "deadline"
        token.cancel(reason)
        with contextlib.suppress(Cancelled):
            await work
        record_cancelled(reason)
        log.info("work stopped after %d checkpoints: %s", token.checkpoints, reason)
        raise DeadlineExceeded(deadline)  # a disconnected client never reads it
    finally:
        watch.cancel()
        if not work.done():  # this request itself was cancelled (shutdown): stop the thread too
            token.cancel("shutdown")
            work.add_done_callback(_stopped)  # its Cancelled is expected: never "never retrieved"
        release_memory()
