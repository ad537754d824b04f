"""service/heap.py against the real glibc, in fresh processes (malloc's settings are per process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from firth_service.heap import ARENAS, _libc

# Eight threads that each allocate while all are alive: without a cap glibc gives each its own
# arena (up to eight per core); malloc_stats() then prints one "Arena N:" block per arena.
ARENAS_PROGRAM = """
import ctypes, sys, threading
from firth_service.heap import tune_malloc
if sys.argv[1] == "tuned":
    tune_malloc()
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

# What a heavy request does to a worker's heap, in a thread (so in an arena other than the main
# one): a 30 MiB temporary freed (glibc then raises its mmap threshold to 30 MiB and its trim
# threshold to 60 MiB), then 25 MiB of 1 MiB temporaries freed, then malloc_trim(0) as
# service/work.py calls it. Prints the anonymous memory still resident above the start, in MiB.
RETAINED_PROGRAM = """
import ctypes, sys, threading
from pathlib import Path
from firth_service.heap import tune_malloc
if sys.argv[1] == "tuned":
    tune_malloc()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
MiB = 1 << 20
def anonymous_mib():
    line = next(l for l in Path("/proc/self/smaps_rollup").read_text().splitlines() if l.startswith("Anonymous:"))
    return int(line.split()[1]) / 1024
def heavy_request(result):
    start = anonymous_mib()
    large = libc.malloc(30 * MiB); ctypes.memset(large, 1, 30 * MiB); libc.free(large)
    blocks = [libc.malloc(MiB) for _ in range(25)]
    for block in blocks: ctypes.memset(block, 1, MiB)
    for block in blocks: libc.free(block)
    libc.malloc_trim(0)
    result.append(anonymous_mib() - start)
result = []
thread = threading.Thread(target=heavy_request, args=(result,))
thread.start(); thread.join()
print(result[0])
"""


def run(program: str, mode: str, before: str = "", env: dict[str, str] | None = None) -> str:
    """`program` in a fresh process (the malloc variables of this one's environment dropped), with
    `before` run first and `env` added to its environment; its stdout and stderr."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    done = subprocess.run(
        [sys.executable, "-c", before + program, mode],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def arenas(mode: str, before: str = "") -> int:
    """How many arenas ARENAS_PROGRAM's threads got."""
    return sum(line.startswith("Arena ") for line in run(ARENAS_PROGRAM, mode, before).splitlines())


def retained_mib(mode: str, env: dict[str, str] | None = None) -> float:
    """MiB of RETAINED_PROGRAM's freed temporaries still resident after malloc_trim(0)."""
    return float(run(RETAINED_PROGRAM, mode, env=env).split()[-1])


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_tune_malloc_caps_the_arenas_threads_get() -> None:
    assert arenas("free") > ARENAS  # the control: eight threads, more arenas than the cap
    assert arenas("tuned") <= ARENAS


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_an_arena_count_set_in_the_environment_is_left_alone() -> None:
    assert arenas("tuned", before="import os; os.environ['MALLOC_ARENA_MAX']='8'\n") > ARENAS


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_a_threads_freed_temporaries_go_back_to_the_system() -> None:
    # the control: glibc's adjusted thresholds keep the freed top of the thread's arena, which
    # malloc_trim(0) does not return (the soak's one-worker step of +25-34 MiB)
    assert retained_mib("free") > 15
    assert retained_mib("tuned") < 3


@pytest.mark.skipif(_libc is None, reason="not glibc")
def test_thresholds_set_in_the_environment_are_left_alone() -> None:
    # glibc applies these at start; tune_malloc must not replace them with its own
    large = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}
    assert retained_mib("tuned", env=large) > 15
    tunables = {
        "GLIBC_TUNABLES": f"glibc.malloc.mmap_threshold={32 << 20}:glibc.malloc.trim_threshold={64 << 20}"
    }
    assert retained_mib("tuned", env=tunables) > 15
