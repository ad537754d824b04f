"""GloVe in stages, like the original: vocabulary -> co-occurrence -> shuffle -> fit.

The vocabulary and id stream come from trainer/vocab.py; counting and shuffling from
trainer/glove_cooccur.py; the AdaGrad kernel from trainer/glove_kernels.py. The output is word +
context vectors (glove.c's -model 2).

Where this departs from glove.c, whose threads race over slices of one file walked in the same
order every iteration:
- the shuffled records are grouped into blocks whose rows never meet (trainer/glove_blocks.py),
  and threads fit the blocks of one stratum at a time. No two threads write the same memory, so
  nothing is lost to cache-line fights; each block's rows fit in cache; and the vectors are the
  same bit for bit on any number of threads;
- every block is fitted in ROUNDS pieces, one a round, in order in the first iteration and in a
  fresh seeded order in every later one; the strata come in a fresh seeded order every round
  after the very first. That is plain SGD practice, and on the benchmark corpus it lowered the
  final loss (bench/train_bench.py).
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from firth_core.errors import InputFormatError, TrainingDiverged, TrainingStalled
from firth_trainer.checks import MovementProbe, require_positive, require_threads_and_seed
from firth_trainer.glove_blocks import (
    ROUNDS,
    aligned_empty,
    context_row0,
    group_into_blocks,
    groups_for,
    strata_order,
    stratum_blocks,
)
from firth_trainer.glove_cooccur import count_cooccurrences, shuffle_records
from firth_trainer.glove_kernels import fit_chunk, record_terms
from firth_trainer.hogwild import run_jobs
from firth_trainer.progress import Progress, note
from firth_trainer.vocab import TokenStream, Vocab
from firth_trainer.workfiles import work_memmap


@dataclass(frozen=True)
class GloveParams:
    """GloVe's hyperparameters. Each field's metadata is the help line of its `firth train` flag;
    the values live in GLOVE_DEFAULTS below."""

    family: ClassVar[str] = "glove"
    algorithm: ClassVar[str] = "glove"
    dim: int = field(metadata={"help": "vector dimension"})
    window: int = field(metadata={"help": "context words on each side"})
    epochs: int = field(metadata={"help": "passes over the co-occurrences", "aliases": ("--iter",)})
    x_max: float = field(metadata={"help": "cutoff of the weighting function"})
    alpha: float = field(metadata={"help": "exponent of the weighting function"})
    eta: float = field(metadata={"help": "initial AdaGrad learning rate"})
    grad_clip: float = field(metadata={"help": "gradient clipping value"})
    memory_gb: float = field(
        metadata={
            "help": "GiB for co-occurrence counting and shuffling before spilling to disk",
            "flag": "--memory",
        }
    )
    threads: int = field(metadata={"help": "worker threads (0: every core)"})
    seed: int = field(metadata={"help": "random seed; with --threads 1 runs are bit-for-bit equal"})

    def resolved(self) -> GloveParams:
        """The parameters a run uses: threads 0 becomes the number of cores."""
        return replace(self, threads=self.threads if self.threads > 0 else os.cpu_count() or 1)

    def check(self) -> None:
        for name in ("dim", "window", "epochs", "x_max", "alpha", "eta", "grad_clip", "memory_gb"):
            require_positive(name, getattr(self, name))
        require_threads_and_seed(self.threads, self.seed)


# GloVe's table of defaults, beside its trainer: what `firth train --algorithm glove` uses for
# every flag left out, and what its --help shows.
GLOVE_DEFAULTS: dict[str, GloveParams] = {
    "glove": GloveParams(
        dim=100,  # the size most GloVe results are quoted at; 50-300 is usual
        window=15,  # glove.c demo.sh's WINDOW_SIZE: a wide symmetric window, weighted 1/distance
        epochs=25,  # glove.c's default num_iter
        x_max=100.0,  # glove.c's cutoff of the weighting function (Pennington et al. 2014)
        alpha=0.75,  # exponent of the weighting function (Pennington et al. 2014)
        eta=0.05,  # glove.c's initial AdaGrad learning rate
        grad_clip=100.0,  # glove.c's grad_clip_value
        memory_gb=2.0,  # budget for counting and shuffling (glove.c: 4.0); beyond it, spill to disk
        threads=0,  # every core
        seed=1,  # initial vectors and the shuffle
    )
}
GLOVE_SUMMARIES = {"glove": "GloVe"}


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
    row_groups: int

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
            "row_groups": self.row_groups,
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


def block_piece(start: int, end: int, epoch: int, block: int, round_: int, seed: int) -> tuple[int, int]:
    """The records of block[start:end] fitted in round `round_` of an iteration: one of ROUNDS
    equal pieces, taken in order in the first iteration, then in an order seeded by (seed,
    iteration, block)."""
    k = round_ if epoch == 0 else _piece_order(seed, epoch, block)[round_]
    return start + (end - start) * k // ROUNDS, start + (end - start) * (k + 1) // ROUNDS


@functools.lru_cache(maxsize=1024)
def _piece_order(seed: int, epoch: int, block: int) -> tuple[int, ...]:
    """A block's piece order in one iteration, drawn once for its ROUNDS rounds."""
    return tuple(int(k) for k in np.random.default_rng((seed, epoch, block)).permutation(ROUNDS))


def _ignore(job: int, result: object) -> None:
    """run_jobs' result callback: fit_piece records its own results."""


def glove_memory(n_words: int, dim: int) -> int:
    """Bytes of W and the AdaGrad sums, the random block that initialises W, and the output
    vectors (all float32): the large allocations beside the co-occurrence budget (--memory)."""
    rows = context_row0(n_words) + n_words
    return 3 * rows * (dim + 1) * 4 + n_words * dim * 4


def init_parameters(n_words: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """W uniform in [-0.5, 0.5) / dim, AdaGrad sums at 1 (glove.c): word rows from 0, context
    rows from context_row0(n_words) (a few unused rows between). Both 64-byte aligned, so the row
    groups of trainer/glove_blocks.py share no cache line."""
    rng = np.random.default_rng(seed)
    shape = (context_row0(n_words) + n_words, dim + 1)
    W, gradsq = aligned_empty(shape), aligned_empty(shape)
    W[...] = (rng.random(shape, dtype=np.float32) - np.float32(0.5)) / np.float32(dim)
    gradsq[...] = 1.0
    return W, gradsq


def train_glove(
    stream: TokenStream, vocab: Vocab, params: GloveParams, work: Path, quiet: bool = False
) -> GloveResult:
    params.check()
    p = params.resolved()
    n = len(vocab)
    budget = int(p.memory_gb * (1 << 30))
    started = time.perf_counter()
    note(f"counting co-occurrences (window {p.window}) ...", quiet)
    records, stats = count_cooccurrences(stream.ids, n, p.window, budget, work)
    if len(records) == 0:
        raise InputFormatError("no co-occurrences: every sentence has a single in-vocabulary word")
    records, consumed = shuffle_records(records, budget, p.seed, work), records
    consumed.discard_files()
    counting = time.perf_counter() - started
    note(f"{len(records):,} co-occurrence records ({stats.spills} spills) in {counting:.1f} s", quiet)

    groups = groups_for(n)
    (records, block_starts), consumed = group_into_blocks(records, n, work, groups), records
    consumed.discard_files()  # every record is in the blocks now
    del consumed  # and an in-memory copy goes
    col_row0 = context_row0(n)
    W, gradsq = init_parameters(n, p.dim, p.seed)
    rows, cols = np.asarray(records.rows), np.asarray(records.cols)
    n_rec = len(records)
    log_x = work_memmap(work / "log_x.f32", np.float32, (n_rec,))
    weight = work_memmap(work / "weight.f32", np.float32, (n_rec,))
    for s in range(0, n_rec, 1 << 24):  # once, in blocks: the same for every iteration
        log_x[s : s + (1 << 24)], weight[s : s + (1 << 24)] = record_terms(
            records.vals[s : s + (1 << 24)], p.x_max, p.alpha
        )
    if not np.any(weight):
        raise TrainingStalled(
            f"GloVe: every co-occurrence weighs 0 with --alpha {p.alpha:g} and --x-max {p.x_max:g} "
            "(the weight is (count / x-max)^alpha), so the vectors would never move; no model was written"
        )
    probe = MovementProbe(W[:, : p.dim], n)  # the word vectors, not the biases (no --eta on them)
    n_blocks = len(block_starts) - 1
    # Per block, summed in block order after each iteration: the same loss on any thread count.
    block_loss = np.zeros((p.epochs, n_blocks))
    block_skipped = np.zeros((p.epochs, n_blocks), dtype=np.int64)
    done = {"records": 0, "epoch": 0}
    lock = threading.Lock()

    with Progress(p.epochs * n_rec, "glove", unit="rec", quiet=quiet) as bar:

        def on_tick() -> None:
            e = done["epoch"]
            seen = done["records"] - e * n_rec
            loss = block_loss[e].sum() / max(seen, 1)
            bar.update(done["records"], epoch=f"{e + 1}/{p.epochs}", loss=f"{loss:.4f}")

        def fit_piece(epoch: int, block: int, round_: int) -> None:
            s, e = block_piece(
                int(block_starts[block]), int(block_starts[block + 1]), epoch, block, round_, p.seed
            )
            loss, skipped = fit_chunk(
                W, gradsq, rows, cols, log_x, weight, s, e, col_row0, p.eta, p.grad_clip
            )
            block_loss[epoch, block] += loss
            block_skipped[epoch, block] += skipped
            with lock:
                done["records"] += e - s

        fit_started = time.perf_counter()
        for epoch in range(p.epochs):
            done["epoch"] = epoch
            for round_ in range(ROUNDS):
                for stratum in strata_order(epoch * ROUNDS + round_, p.seed, groups):
                    blocks = stratum_blocks(int(stratum), groups)

                    def job(
                        k: int, epoch: int = epoch, blocks: list[int] = blocks, round_: int = round_
                    ) -> None:
                        fit_piece(epoch, blocks[k], round_)

                    run_jobs(len(blocks), job, min(p.threads, len(blocks)), _ignore, on_tick)
        fitting = time.perf_counter() - fit_started
    loss_sum = block_loss.sum(axis=1)
    epoch_loss = [round(s / n_rec, 6) for s in loss_sum]
    check_converging(epoch_loss)
    probe.require_moved(
        W[:, : p.dim], "GloVe", f"check --alpha {p.alpha:g}, --x-max {p.x_max:g} and --eta {p.eta:g}"
    )
    vectors = W[:n, : p.dim] + W[col_row0 : col_row0 + n, : p.dim]
    skipped = int(block_skipped.sum())
    return GloveResult(vectors, p, counting, fitting, n_rec, stats.spills, epoch_loss, skipped, groups)
