"""word2vec driver: skip-gram or CBOW with negative sampling over an id stream.

The stream (trainer/vocab.py) is cut once into chunks of whole sentences; every epoch runs each
chunk as one job on the Hogwild threads (trainer/epochs.py, trainer/hogwild.py). The learning
rate falls linearly from `alpha` to `min_alpha` over all epochs, by the position of the chunk in
the schedule, so it does not depend on thread timing. fastText's driver runs the same way
(run_word_epochs, check_word_run). The output is the input-embedding matrix, and the output
layer (syn1neg) beside it, which fine-tuning (`--init-from`, trainer/finetune.py) starts from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from firth_core.errors import ConfigurationError
from firth_trainer import word2vec_kernels as kernels
from firth_trainer.checks import (
    MovementProbe,
    require_non_negative,
    require_positive,
    require_sgd_trained,
    require_threads_and_seed,
)
from firth_trainer.epochs import ChunkReport, Display, EpochRun, linear_rate, run_epochs
from firth_trainer.vocab import TokenStream, Vocab, alias_table, keep_thresholds

if TYPE_CHECKING:  # fasttext.py imports this module
    from firth_trainer.fasttext import FastTextParams

CHUNK_ENTRIES = 20_000  # stream entries a job: small enough for a smooth alpha and balanced threads


@dataclass(frozen=True)
class Word2VecParams:
    """word2vec's hyperparameters. Each field's metadata is the help line of its `firth train`
    flag; the values live in WORD2VEC_DEFAULTS below, one entry an algorithm."""

    family: ClassVar[str] = "word2vec"
    algorithm: str  # "sgns" (skip-gram) or "cbow"; chosen by --algorithm, not a flag of its own
    dim: int = field(metadata={"help": "vector dimension"})
    window: int = field(metadata={"help": "context words on each side"})
    negative: int = field(metadata={"help": "negative samples an example"})
    epochs: int = field(metadata={"help": "passes over the corpus", "aliases": ("--iter",)})
    sample: float = field(metadata={"help": "frequent-word subsampling threshold (0: off)"})
    alpha: float = field(metadata={"help": "initial learning rate"})
    min_alpha: float = field(metadata={"help": "final learning rate"})
    threads: int = field(metadata={"help": "worker threads (0: every core)"})
    seed: int = field(metadata={"help": "random seed; with --threads 1 runs are bit-for-bit equal"})
    batch_negatives: str = field(
        metadata={
            "help": "one set of negatives a skip-gram window or a pair of CBOW centre words, "
            "updated as one matrix product (pWord2Vec's HogBatch; 'off': fresh negatives for "
            "every example, word2vec.c's update)",
            "choices": ("on", "off"),
        }
    )
    hot_rows: int = field(
        metadata={
            "help": "with --batch-negatives on: each job trains a private copy of the N most "
            "frequent words' output rows and adds its change to the shared rows when it ends "
            "(Vuurens et al. 2016), so threads stop writing the hottest rows at once; 0: off"
        }
    )

    def resolved(self) -> Word2VecParams:
        """The parameters a run uses: threads 0 becomes the number of cores."""
        return replace(self, threads=self.threads if self.threads > 0 else os.cpu_count() or 1)

    def check(self, fine_tuning: bool = False) -> None:
        """Refuse a value no run can use. Fine-tuning may take --epochs 0 (the parent's rows
        copied, the new words' rows fresh)."""
        if self.algorithm not in WORD2VEC_DEFAULTS:
            raise ConfigurationError(
                f"algorithm must be one of {sorted(WORD2VEC_DEFAULTS)}, not {self.algorithm!r}"
            )
        check_word_run(self, fine_tuning)
        if self.batch_negatives not in ("on", "off"):
            raise ConfigurationError(f"batch-negatives must be 'on' or 'off', not {self.batch_negatives!r}")
        require_non_negative("hot_rows", self.hot_rows)
        if self.hot_rows and self.batch_negatives == "off":
            raise ConfigurationError(
                "hot-rows needs --batch-negatives on (the per-example kernels write in place)"
            )


def check_word_run(p: Word2VecParams | FastTextParams, fine_tuning: bool) -> None:
    """The checks word2vec and fastText share. Fine-tuning may take --epochs 0."""
    for name in ("dim", "window", "negative", "alpha"):
        require_positive(name, getattr(p, name))
    if fine_tuning:
        require_non_negative("epochs", p.epochs)
    else:
        require_positive("epochs", p.epochs)
    require_non_negative("sample", p.sample)
    require_non_negative("min_alpha", p.min_alpha)
    if p.min_alpha > p.alpha:
        raise ConfigurationError(
            f"min-alpha must not exceed alpha ({p.alpha}): the rate decays from alpha to "
            f"min-alpha, got {p.min_alpha}"
        )
    require_threads_and_seed(p.threads, p.seed)


_SGNS = Word2VecParams(
    algorithm="sgns",
    dim=100,  # word2vec.c's and gensim's default size
    window=5,  # maximum distance between centre and context; shrunk at random per word
    negative=5,  # 5-20 for small corpora, 2-5 for large (Mikolov et al. 2013)
    epochs=5,  # gensim's default; word2vec.c's -iter
    sample=1e-3,  # word2vec.c's and gensim's subsampling threshold
    alpha=0.025,  # word2vec.c's rate for skip-gram
    min_alpha=1e-4,  # gensim's final rate (word2vec.c: alpha * 1e-4)
    threads=0,  # every core
    seed=1,  # seeds the initial vectors and every chunk's random stream
    # Shared negatives write each hot output row once a window (CBOW: once a group of
    # CBOW_GROUP centre words) rather than once an example: faster on one thread and far less
    # contention on several. "off" (word2vec.c's and gensim's per-example draws) sees more
    # distinct negatives per epoch, which may matter when epochs are few.
    batch_negatives="on",
    # Off until a quiet 2-core run shows the threads contending for the hottest rows (README).
    hot_rows=0,
)
# One table of defaults an algorithm, beside its trainer (as fastText's `unsupervised_default`):
# what `firth train` uses for every flag left out, and what its --help shows.
WORD2VEC_DEFAULTS: dict[str, Word2VecParams] = {
    "sgns": _SGNS,
    # word2vec.c's rate for CBOW. Per-example negatives until a quiet run confirms the batched
    # kernel's quality (groups of 4 scored 1.3 analogy points under gensim; of 2, within it: README).
    "cbow": replace(_SGNS, algorithm="cbow", alpha=0.05),  # batched too: met 2x gensim in 3 of 3 quiet runs
}
WORD2VEC_SUMMARIES = {"sgns": "skip-gram with negative sampling", "cbow": "CBOW with negative sampling"}


@dataclass
class WarmStart:
    """Where a fine-tuning run starts (trainer/finetune.py builds it) instead of init_vectors."""

    w_in: np.ndarray  # (vocabulary, dim) float32: the parent's rows, then fresh ones
    w_out: np.ndarray  # (vocabulary, dim) float32: the parent's output rows (or zeros), then zeros
    lockf: np.ndarray  # (vocabulary,) float32 factor on each input row's updates (0: locked)
    stream_counts: np.ndarray  # int64 counts in the new corpus alone: its subsampling rates


@dataclass
class TrainResult:
    vectors: np.ndarray
    output: np.ndarray  # the output layer (syn1neg), stored as the artifact's output.npy
    seconds: float
    words: int  # in-vocabulary words read, all epochs
    kept: int  # words left after subsampling (gensim's "effective words"), all epochs
    epoch_loss: list[float]  # mean loss an example, each epoch

    def as_meta(self, raw_tokens: int, epochs: int) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "words_per_second": round(raw_tokens * epochs / self.seconds) if self.seconds > 0 else None,
            "effective_words_per_second": round(self.kept / self.seconds) if self.seconds > 0 else None,
            "final_loss": self.epoch_loss[-1] if self.epoch_loss else None,  # None: --epochs 0
            "epoch_loss": self.epoch_loss,
        }


def word2vec_memory(n_words: int, dim: int) -> int:
    """Bytes of the input and output matrices (float32), the two large allocations of a run."""
    return 2 * n_words * dim * 4


def init_vectors(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input rows uniform in [-1, 1) / dim (gensim 4; word2vec.c uses half that range), output rows
    zero (both)."""
    rng = np.random.default_rng(seed)
    w_in = rng.random((n, dim), dtype=np.float32)
    w_in *= np.float32(2.0)
    w_in -= np.float32(1.0)
    w_in /= np.float32(dim)
    return w_in, np.zeros((n, dim), dtype=np.float32)


def train_word2vec(
    stream: TokenStream,
    vocab: Vocab,
    params: Word2VecParams,
    raw_tokens: int | None = None,
    quiet: bool = False,
    start: WarmStart | None = None,
) -> TrainResult:
    """Train from init_vectors, or from `start` when fine-tuning. Negatives are drawn by
    vocab.counts (a fine-tuned vocabulary's: parent's + new corpus', as gensim's vocabulary
    update); frequent words are subsampled by their counts in the stream being trained."""
    params.check(fine_tuning=start is not None)
    p = params.resolved()
    ids = np.asarray(stream.ids)
    if start is None:
        w_in, w_out = init_vectors(len(vocab), p.dim, p.seed)
        lockf = np.ones(len(vocab), dtype=np.float32)
        stream_counts = vocab.counts
    else:
        w_in, w_out, lockf, stream_counts = start.w_in, start.w_out, start.lockf, start.stream_counts
    if p.epochs == 0:
        return TrainResult(w_in, w_out, 0.0, 0, 0, [])
    probe = MovementProbe(w_in, len(vocab), np.flatnonzero(lockf != 0))
    keep = keep_thresholds(stream_counts, p.sample)
    thresh, alias = alias_table(vocab.counts)
    kernel = {
        ("sgns", "on"): kernels.train_chunk_sg_batched,
        ("sgns", "off"): kernels.train_chunk_sg,
        ("cbow", "on"): kernels.train_chunk_cbow_batched,
        ("cbow", "off"): kernels.train_chunk_cbow,
    }[p.algorithm, p.batch_negatives]
    config = kernels.KernelConfig(
        ids, w_in, w_out, keep, thresh, alias, int(p.window), int(p.negative), lockf, int(p.hot_rows)
    )
    run = run_word_epochs(kernel, config, ids, p, p.algorithm, stream.tokens, raw_tokens, quiet)
    require_sgd_trained(p.algorithm, float(p.alpha), probe, w_in, w_in)
    return TrainResult(w_in, w_out, run.seconds, run.done, run.kept, run.epoch_loss)


def word_chunk_report(result: tuple[int, int, float, int]) -> ChunkReport:
    """A word2vec or fastText chunk's (words read, kept, sampled loss, examples): its loss sums
    one example in LOSS_EVERY."""
    words, kept, loss, examples = result
    return ChunkReport(words, kept, loss, (examples + kernels.LOSS_EVERY - 1) // kernels.LOSS_EVERY)


def run_word_epochs(
    kernel: Callable[[Any, kernels.Chunk], tuple[int, int, float, int]],
    config: Any,
    ids: np.ndarray,
    p: Word2VecParams | FastTextParams,
    desc: str,
    tokens: int,
    raw_tokens: int | None,
    quiet: bool,
) -> EpochRun:
    """The word2vec and fastText runs: the stream cut once into chunks of whole sentences, alpha
    falling linearly to min_alpha by stream position over all epochs; the progress bar counts raw
    corpus words (gensim's), `raw_tokens` of them an epoch when given."""
    length = max(int(ids.shape[0]), 1)
    alpha, min_alpha = float(p.alpha), float(p.min_alpha)
    return run_epochs(
        kernel,
        config,
        kernels.chunk_bounds(ids, CHUNK_ENTRIES),
        epochs=p.epochs,
        seed=p.seed,
        threads=p.threads,
        rate=linear_rate(alpha, min_alpha, p.epochs, length),
        report=word_chunk_report,
        display=Display(
            desc,
            p.epochs * tokens,
            alpha,
            min_alpha,
            scale=(raw_tokens or tokens) / max(tokens, 1),
            quiet=quiet,
        ),
    )
