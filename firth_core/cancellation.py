"""Cooperative cancellation of long computations (an evaluation, a t-SNE run, a 3CosMul scan).

The service sets a token for the work it hands to a thread; long loops call `checkpoint()` between
chunks, which raises `Cancelled` once the token is set (the client went away, the deadline passed).
Outside the service no token is set and `checkpoint()` costs one context-variable read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Cancelled(Exception):
    """The work was stopped at a checkpoint; its result is not wanted any more."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.checkpoints = 0  # checkpoints passed: how far the work got

    def cancel(self, reason: str) -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


_current: ContextVar[CancelToken | None] = ContextVar("firth_cancel_token", default=None)


@contextmanager
def cancellable(token: CancelToken) -> Iterator[CancelToken]:
    """Run the body with `token` as the one `checkpoint()` consults (in this thread / context)."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)


def checkpoint() -> None:
    """Raise Cancelled if the current work was cancelled; call it between chunks of work."""
    token = _current.get()
    if token is None:
        return
    token.checkpoints += 1
    if token.cancelled:
        raise Cancelled(token.reason)
