"""glibc's heap, tuned for a long-running server: few arenas, freed memory handed back.

glibc gives threads their own malloc arenas, up to eight per core, and each keeps the high-water
mark of what its threads once held: with Starlette's forty-thread pool and the heavy threads, a
worker's anonymous memory crept up for minutes under a mixed load (the soak, bench/soak.py: +8.7%
and +10.7% PSS in 150 s; with two arenas +6.7% and +5.3%, from a lower start). So firth-serve caps
the arenas at ARENAS (gunicorn's and Heroku's advice for Python servers is the same), unless
MALLOC_ARENA_MAX is set, and trims the heap after heavy requests. Elsewhere (musl, macOS) both are
no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from typing import Any

log = logging.getLogger("firth.heap")
ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim  # noqa: B018  # glibc only: musl and macOS have no such function
        return libc
    except (OSError, AttributeError, TypeError):
        return None


_libc = _glibc()


def limit_arenas() -> None:
    """Cap malloc's arenas at ARENAS for this process and the workers it forks, unless the
    environment's MALLOC_ARENA_MAX already says how many (glibc read it at start)."""
    if _libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return
    if _libc.mallopt(_M_ARENA_MAX, ARENAS) != 1:
        log.warning("could not cap malloc's arenas at %d", ARENAS)


def release_memory() -> None:
    """Return freed heap pages to the system. glibc keeps large freed blocks of worker threads'
    arenas mapped, so after a heavy request a worker's RSS would stay at its peak."""
    if _libc is not None:
        _libc.malloc_trim(0)
