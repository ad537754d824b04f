"""service/heap.py against the real glibc, in fresh processes (arenas are per process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from firth_service.heap import ARENAS, _libc

# Eight threads that each allocate while all are alive: without a cap glibc gives each its own
# arena (up to eight per core); malloc_stats() then prints one "Arena N:" block per arena.
PROGRAM = """
import ctypes, sys, threading
from firth_service.heap import limit_arenas
if sys.argv[1] == "cap":
    limit_arenas()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
barrier = threading.Barrier(8)
def allocate():
    libc.malloc(1 << 16)
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.malloc_stats()
"""


def arenas(mode: str, before: str = "") -> int:
    """How many arenas PROGRAM's threads got, with `before` run first in its process."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", before + PROGRAM, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_limit_arenas_caps_the_arenas_threads_get() -> None:
    assert arenas("free") > ARENAS  # the control: eight threads, more arenas than the cap
    assert arenas("cap") <= ARENAS


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_an_arena_count_set_in_the_environment_is_left_alone() -> None:
    assert arenas("cap", before="import os; os.environ['MALLOC_ARENA_MAX']='8'\n") > ARENAS
