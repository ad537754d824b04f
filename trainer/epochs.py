"""The epoch loop the chunked SGD trainers share (word2vec, fastText, the classifier).

A run is `epochs` passes over the same chunks: job i is chunk i % n_chunks of epoch
i // n_chunks, run on the Hogwild threads (trainer/hogwild.py) with the learning rates at the
chunk's two ends from `rate(epoch, position)` and its random stream from
mix_seed(seed, epoch, chunk), so the numbers depend on neither the thread count nor the timing.
Each chunk's sampled loss adds to its epoch's; the progress bar shows the epoch, its loss so far
and the learning rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from firth_trainer.hogwild import run_jobs
from firth_trainer.progress import Progress
from firth_trainer.word2vec_kernels import Chunk, mix_seed

Rate = Callable[[int, int], float]  # (epoch, position in the epoch) -> learning rate


class ChunkReport(NamedTuple):
    """What one chunk's kernel result adds to the run's figures."""

    done: int  # units of progress: words read (word2vec, fastText) or examples (classifier)
    kept: int  # words left after subsampling (0 where nothing is dropped)
    loss: float  # the loss the chunk summed over its sample of examples
    samples: int  # how many examples that loss sums over


@dataclass(frozen=True)
class Display:
    """How the progress bar shows the run."""

    desc: str
    total: int  # units of progress, all epochs
    alpha: float  # the rate shown falls linearly from alpha to min_alpha as the units are done
    min_alpha: float
    unit: str = "word"
    scale: float = 1.0  # shown units a unit (raw corpus words a word read, as gensim shows them)
    quiet: bool = False


@dataclass
class EpochRun:
    seconds: float  # spent in the training passes
    done: int  # units of progress, all epochs
    kept: int
    epoch_loss: list[float]  # mean sampled loss an example, each epoch


def linear_rate(alpha: float, min_alpha: float, epochs: int, length: int) -> Rate:
    """word2vec's schedule: the rate falls linearly from alpha to min_alpha over `epochs`
    passes of `length` positions, by position, never by thread timing."""
    schedule = epochs * length

    def rate(epoch: int, pos: int) -> float:
        return alpha - (alpha - min_alpha) * (epoch * length + pos) / schedule

    return rate


def run_epochs(
    kernel: Callable[[Any, Chunk], Any],
    config: Any,
    bounds: Sequence[int] | np.ndarray,
    *,
    epochs: int,
    seed: int,
    threads: int,
    rate: Rate,
    report: Callable[[Any], ChunkReport],
    display: Display,
) -> EpochRun:
    """kernel(config, Chunk) for every chunk stream[bounds[c]:bounds[c + 1]] of every epoch on
    `threads` threads; `report` reads a kernel's result."""
    n_chunks = len(bounds) - 1
    loss_sum = [0.0] * epochs
    samples = [0] * epochs
    totals = {"done": 0, "kept": 0, "last": 0}

    def job(i: int) -> Any:
        epoch, c = divmod(i, n_chunks)
        s, e = int(bounds[c]), int(bounds[c + 1])
        chunk_seed = np.uint64(mix_seed(seed, epoch, c))
        return kernel(config, Chunk(s, e, rate(epoch, s), rate(epoch, e), chunk_seed))

    def on_result(i: int, result: Any) -> None:
        epoch = i // n_chunks
        r = report(result)
        totals["done"] += r.done
        totals["kept"] += r.kept
        loss_sum[epoch] += r.loss
        samples[epoch] += r.samples
        totals["last"] = epoch

    d = display
    with Progress(round(d.total * d.scale), d.desc, unit=d.unit, quiet=d.quiet) as bar:

        def on_tick() -> None:
            e = totals["last"]
            bar.update(
                round(totals["done"] * d.scale),
                epoch=f"{e + 1}/{epochs}",
                loss=f"{loss_sum[e] / max(samples[e], 1):.4f}",
                lr=f"{d.alpha - (d.alpha - d.min_alpha) * totals['done'] / max(d.total, 1):.5f}",
            )

        started = time.perf_counter()
        run_jobs(epochs * n_chunks, job, threads, on_result, on_tick)
        seconds = time.perf_counter() - started
    epoch_loss = [round(s / max(n, 1), 6) for s, n in zip(loss_sum, samples, strict=True)]
    return EpochRun(seconds, totals["done"], totals["kept"], epoch_loss)
