"""Run numbered jobs on a few Python threads that call GIL-free numba kernels (Hogwild).

Jobs are handed out in order from a shared counter; each job's randomness is seeded from its
number, never from the thread that runs it, so results with one thread are reproducible and
results with several differ only by the order of racing updates (as in word2vec.c and GloVe).
The caller's thread watches progress and turns Ctrl-C into a clean stop once running jobs end (or
STOP_WAIT_SECONDS have passed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 0.25  # how often the progress callback runs
STOP_WAIT_SECONDS = 3.0  # how long an interrupted run waits for its running jobs to end


def run_jobs(
    n_jobs: int,
    job: Callable[[int], Any],
    threads: int,
    on_result: Callable[[int, Any], None],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Run job(0) ... job(n_jobs - 1) on `threads` threads; on_result(i, result) runs under a lock."""
    lock = threading.Lock()
    state = {"next": 0}
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        while not stop.is_set():
            with lock:
                i = state["next"]
                if i >= n_jobs:
                    return
                state["next"] = i + 1
            try:
                result = job(i)
            except BaseException as exc:
                errors.append(exc)
                stop.set()
                return
            with lock:
                on_result(i, result)

    pool = [
        threading.Thread(target=worker, name=f"firth-train-{t}", daemon=True) for t in range(max(1, threads))
    ]
    for t in pool:
        t.start()
    try:
        for t in pool:
            while t.is_alive():
                t.join(POLL_SECONDS)
                if on_tick:
                    on_tick()
    except BaseException:
        # Ctrl-C or SIGTERM: no thread takes another job; those running are waited for a while,
        # then left (daemon threads, GIL-free kernels) so the stop is prompt even when one job is
        # long (a huge --negative, say): the caller's `with` blocks then remove the work files,
        # which a kernel may still write through a map (the mapped pages outlive the unlink)
        stop.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for t in pool:
            t.join(max(0.0, deadline - time.monotonic()))
        raise
    if on_tick:
        on_tick()
    if errors:
        raise errors[0]
