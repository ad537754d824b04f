"""Run numbered jobs on a few Python threads that call GIL-free numba kernels (Hogwild).

Jobs are handed out in order from a shared counter; each job's randomness is seeded from its
number, never from the thread that runs it, so results with one thread are reproducible and
results with several differ only by the order of racing updates (as in word2vec.c and GloVe).
The caller's thread watches progress and turns Ctrl-C into a clean stop after running jobs end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 0.25  # how often the progress callback runs


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
        stop.set()
        for t in pool:
            t.join()
        raise
    if on_tick:
        on_tick()
    if errors:
        raise errors[0]
