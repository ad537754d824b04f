"""GloVe in stages, like the original: vocabulary -> co-occurrence -> shuffle -> fit.

The vocabulary and id stream come from trainer/vocab.py; counting and shuffling from
trainer/glove_cooccur.py; the AdaGrad kernel from trainer/glove_kernels.py runs on Hogwild
threads over chunks of the shuffled records. The output is word + context vectors (glove.c's
-model 2).

Where this departs from glove.c, which walks the file in the same order every iteration: the
first iteration takes the chunks in file order, every later one in a fresh seeded permutation
(cheap, and it works on records memory-mapped from disk). That is plain SGD practice, and on
the benchmark corpus it lowers the final loss and raises the scores (bench/train_bench.py).
Iterations are separated by a barrier, so no two threads ever fit the same chunk at once (with
fewer chunks than threads they otherwise would, doubling every step on those records).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firth_core.errors import InputFormatError, TrainingDiverged
from trainer.checks import require_positive, require_threads_and_seed
from trainer.glove_cooccur import count_cooccurrences, shuffle_records
from trainer.glove_kernels import fit_chunk, record_terms
from trainer.hogwild import run_jobs
from trainer.progress import Progress, note
from trainer.vocab import TokenStream, Vocab

CHUNK_RECORDS = 1 << 17  # records a job: many jobs an iteration keep both threads busy to the end


@dataclass
class GloveParams:
    dim: int = 100  # the size most GloVe results are quoted at; 50-300 is usual
    window: int = 15  # glove.c demo.sh's WINDOW_SIZE: a wide symmetric window, weighted 1/distance
    epochs: int = 25  # glove.c's default num_iter
    x_max: float = 100.0  # glove.c's cutoff of the weighting function (Pennington et al. 2014)
    alpha: float = 0.75  # exponent of the weighting function (Pennington et al. 2014)
    eta: float = 0.05  # glove.c's initial AdaGrad learning rate
    grad_clip: float = 100.0  # glove.c's grad_clip_value
    memory_gb: float = 2.0  # budget for counting and shuffling (glove.c: 4.0); beyond it, spill to disk
    threads: int = 0  # 0: every core
    seed: int = 1  # initial vectors and the shuffle

    def resolved(self) -> GloveParams:
        out = GloveParams(**asdict(self))
        if out.threads <= 0:
            out.threads = os.cpu_count() or 1
        return out

    def check(self) -> None:
        for name in ("dim", "window", "epochs", "x_max", "alpha", "eta", "grad_clip", "memory_gb"):
            require_positive(name, getattr(self, name))
        require_threads_and_seed(self.threads, self.seed)


@dataclass
class GloveResult:
    vectors: np.ndarray
    params: GloveParams
    seconds_counting: float
    seconds_fitting: float
    records: int
    spills: int
    epoch_loss: list[float]
    skipped: int

    def as_meta(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds_counting + self.seconds_fitting, 3),
            "seconds_counting": round(self.seconds_counting, 3),
            "seconds_fitting": round(self.seconds_fitting, 3),
            "cooccurrence_records": self.records,
            "cooccurrence_spills": self.spills,
            "records_per_second": round(self.records * self.params.epochs / max(self.seconds_fitting, 1e-9)),
            "final_loss": self.epoch_loss[-1],
            "epoch_loss": self.epoch_loss,
            "skipped_non_finite": self.skipped,
        }


def check_converging(epoch_loss: list[float]) -> None:
    """AdaGrad on GloVe's loss falls from the first iteration on; a last loss above the first
    (or not finite) means the fit blew up, and its vectors would be noise."""
    first, last = epoch_loss[0], epoch_loss[-1]
    if not math.isfinite(last) or (len(epoch_loss) > 1 and last > first):
        raise TrainingDiverged(
            f"GloVe diverged: the loss went from {first:.4g} to {last:.4g}; "
            "no model was written (try a smaller --eta or another --seed)"
        )


def chunk_bounds(chunk: int, n_records: int) -> tuple[int, int]:
    return chunk * CHUNK_RECORDS, min((chunk + 1) * CHUNK_RECORDS, n_records)


def chunk_order(n_chunks: int, epoch: int, seed: int) -> np.ndarray:
    """The order an iteration fits the chunks in: file order first, then a permutation seeded by
    (seed, iteration), so one thread stays bit-for-bit reproducible."""
    if epoch == 0:
        return np.arange(n_chunks)
    return np.random.default_rng((seed, epoch)).permutation(n_chunks)


def init_parameters(n_words: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """W uniform in [-0.5, 0.5) / dim, AdaGrad sums at 1 (glove.c)."""
    rng = np.random.default_rng(seed)
    W = ((rng.random((2 * n_words, dim + 1), dtype=np.float32) - np.float32(0.5)) / np.float32(dim)).astype(
        np.float32
    )
    return W, np.ones((2 * n_words, dim + 1), dtype=np.float32)


def train_glove(
    stream: TokenStream, vocab: Vocab, params: GloveParams, work: Path, quiet: bool = False
) -> GloveResult:
    p = params.resolved()
    p.check()
    n = len(vocab)
    budget = int(p.memory_gb * (1 << 30))
    started = time.perf_counter()
    note(f"counting co-occurrences (window {p.window}) ...", quiet)
    records, stats = count_cooccurrences(stream.ids, n, p.window, budget, work)
    if len(records) == 0:
        raise InputFormatError("no co-occurrences: every sentence has a single in-vocabulary word")
    records = shuffle_records(records, budget, p.seed, work)
    counting = time.perf_counter() - started
    note(f"{len(records):,} co-occurrence records ({stats.spills} spills) in {counting:.1f} s", quiet)

    W, gradsq = init_parameters(n, p.dim, p.seed)
    rows, cols = np.asarray(records.rows), np.asarray(records.cols)
    n_rec = len(records)
    log_x = np.lib.format.open_memmap(work / "log_x.npy", mode="w+", dtype=np.float32, shape=(n_rec,))
    weight = np.lib.format.open_memmap(work / "weight.npy", mode="w+", dtype=np.float32, shape=(n_rec,))
    for s in range(0, n_rec, 1 << 24):  # once, in blocks: the same for every iteration
        log_x[s : s + (1 << 24)], weight[s : s + (1 << 24)] = record_terms(
            records.vals[s : s + (1 << 24)], p.x_max, p.alpha
        )
    n_chunks = -(-n_rec // CHUNK_RECORDS)
    loss_sum = [0.0] * p.epochs
    skipped = [0] * p.epochs
    done = {"records": 0, "epoch": 0}

    with Progress(p.epochs * n_rec, "glove", unit="rec", quiet=quiet) as bar:

        def on_tick() -> None:
            e = done["epoch"]
            seen = done["records"] - e * n_rec
            bar.update(done["records"], epoch=f"{e + 1}/{p.epochs}", loss=f"{loss_sum[e] / max(seen, 1):.4f}")

        def fit_epoch(epoch: int) -> None:
            order = chunk_order(n_chunks, epoch, p.seed)

            def job(k: int) -> tuple[float, int]:
                s, e = chunk_bounds(int(order[k]), n_rec)
                out: tuple[float, int] = fit_chunk(
                    W, gradsq, rows, cols, log_x, weight, s, e, n, p.eta, p.grad_clip
                )
                return out

            def on_result(k: int, result: tuple[float, int]) -> None:
                loss_sum[epoch] += result[0]
                skipped[epoch] += result[1]
                s, e = chunk_bounds(int(order[k]), n_rec)
                done["records"] += e - s

            done["epoch"] = epoch
            run_jobs(n_chunks, job, p.threads, on_result, on_tick)

        fit_started = time.perf_counter()
        for epoch in range(p.epochs):
            fit_epoch(epoch)
        fitting = time.perf_counter() - fit_started
    epoch_loss = [round(s / n_rec, 6) for s in loss_sum]
    check_converging(epoch_loss)
    vectors = W[:n, : p.dim] + W[n:, : p.dim]
    return GloveResult(vectors, p, counting, fitting, n_rec, stats.spills, epoch_loss, sum(skipped))
