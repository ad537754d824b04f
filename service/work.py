"""Long work in a thread, bounded: a deadline, cancellation when the client goes away, and the
memory it freed handed back to the system afterwards.

The work runs with a CancelToken (firth_core.cancellation); its loops call `checkpoint()` between
chunks, so a cancelled evaluation stops within one chunk and frees its thread and heavy slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from firth_core.cancellation import Cancelled, CancelToken, cancellable
from firth_service.admission import Admission
from firth_service.errors import DeadlineExceeded
from firth_service.metrics import record_cancelled

T = TypeVar("T")
log = logging.getLogger("firth.work")


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): nothing to trim
        return None


_malloc_trim = _load_malloc_trim()


def release_memory() -> None:
    """Return freed heap pages to the system. glibc keeps large freed blocks of worker threads'
    arenas mapped, so after a heavy request a worker's RSS would stay at its peak."""
    if _malloc_trim is not None:
        _malloc_trim(0)


async def _disconnected(request: Request) -> None:
    """Return when the client has gone away. Called once the body has been read, so the next
    message from the server is http.disconnect (or nothing, until the response is sent)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def run_sized(request: Request, heavy: bool, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in the thread pool; when `heavy`, holding one of the worker's heavy slots (429
    at once when none is free) and bounded as run_bounded. Light work skips the deadline watch and
    the malloc_trim after it, which would cost more than the work."""
    if not heavy:
        return await run_in_threadpool(fn, *args)
    admission: Admission = request.app.state.admission
    async with admission.heavy():
        return await run_bounded(request, fn, *args)


async def run_bounded(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in the thread pool, stopped at its next checkpoint when the client disconnects or
    the deadline (Settings.request_deadline_seconds) passes. Waits for the thread to stop, so the
    caller's heavy slot covers the whole computation."""
    deadline: float = request.app.state.settings.request_deadline_seconds
    token = CancelToken()

    def call() -> T:
        with cancellable(token):
            return fn(*args)

    work = asyncio.ensure_future(run_in_threadpool(call))
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
        release_memory()
