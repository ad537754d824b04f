"""glibc's heap, tuned for a long-running server: few arenas, fixed thresholds, freed memory handed back.

- Arenas. glibc gives threads their own malloc arenas, up to eight per core, and each keeps the
  high-water mark of what its threads once held: with Starlette's forty-thread pool and the heavy
  threads, a worker's anonymous memory crept up for minutes under a mixed load (the soak,
  bench/soak.py: +8.7% and +10.7% PSS in 150 s; with two arenas +6.7% and +5.3%, from a lower
  start). So firth-serve caps them at ARENAS (gunicorn's and Heroku's advice for Python servers).
- Thresholds. glibc raises its mmap threshold to the size of each mmapped block freed (up to
  32 MiB) and its trim threshold to twice that, so after one large numpy temporary the next ones
  come from the arenas, and up to 64 MiB freed at the top of a thread's arena stays resident:
  free() shrinks that top only beyond the trim threshold, and malloc_trim() never does (it
  trims the main arena's top and returns free pages *inside* every arena, not another arena's
  top). In the soak that was one worker's +25-34 MiB of private memory held for minutes after a
  heavy request, all of it free in glibc's own count. Fixed thresholds (setting them turns the
  adjustment off) keep blocks of MMAP_THRESHOLD and up in their own mappings, unmapped when freed,
  and have free() hand back an arena's top beyond TRIM_THRESHOLD.
- After heavy requests the heap is trimmed (`release_memory`, service/work.py).

A value set in the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
or the same in GLIBC_TUNABLES) wins: glibc read it at start. Elsewhere (musl, macOS) all of this
is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from typing import Any

log = logging.getLogger("firth.heap")
ARENAS = 2
MMAP_THRESHOLD = 4 * 1024 * 1024  # blocks this large get their own mapping, returned when freed
TRIM_THRESHOLD = 8 * 1024 * 1024  # an arena's free top beyond this goes back to the system on free()
# mallopt's parameter numbers, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim  # noqa: B018  # glibc only: musl and macOS have no such function
        return libc
    except (OSError, AttributeError, TypeError):
        return None


_libc = _glibc()


def _set_in_environment(variable: str, tunable: str) -> bool:
    """Whether the environment sets this malloc parameter (glibc applied it at start)."""
    return variable in os.environ or f"glibc.malloc.{tunable}=" in os.environ.get("GLIBC_TUNABLES", "")


def tune_malloc() -> None:
    """Cap malloc's arenas at ARENAS and fix its mmap and trim thresholds, for this process and the
    workers it forks; a parameter the environment already sets is left as it says."""
    if _libc is None:
        return
    settings = (
        (_M_ARENA_MAX, ARENAS, "MALLOC_ARENA_MAX", "arena_max"),
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", "mmap_threshold"),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", "trim_threshold"),
    )
    for parameter, value, variable, tunable in settings:
        if not _set_in_environment(variable, tunable) and _libc.mallopt(parameter, value) != 1:
            log.warning("could not set malloc's %s to %d", tunable, value)


def release_memory() -> None:
    """Return freed heap pages to the system. glibc keeps large freed blocks of worker threads'
    arenas mapped, so after a heavy request a worker's RSS would stay at its peak."""
    if _libc is not None:
        _libc.malloc_trim(0)
