"""Supervised text classifier (fastText's supervised mode): driver, hyperparameters, defaults.

The examples (trainer/supervised_data.py) are visited in one seeded random order, the same every
epoch (fastText keeps the file's order; a shuffle once makes a file sorted by label train as well
as a mixed one), cut into chunks that run as jobs on the Hogwild threads (trainer/hogwild.py).
The learning rate falls linearly from `alpha` to 0 over all epochs by the example's position in
the schedule, as fastText's does by tokens. Word rows start uniform in +-1/dim (fastText's
initialisation) or from a pretrained model's rows matched by word; word n-gram bucket rows start
at zero (fastText draws them uniform too, but a bucket no training text reaches then adds noise
to a prediction; at zero it adds nothing, and a zeroed matrix costs no time to draw); the
output rows start at zero.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from firth_core.errors import ConfigurationError
from firth_core.label_tree import empty_tree, huffman_tree
from firth_trainer import supervised_kernels as kernels
from firth_trainer.checks import (
    MovementProbe,
    require_non_negative,
    require_positive,
    require_sgd_trained,
    require_threads_and_seed,
)
from firth_trainer.epochs import ChunkReport, Display, run_epochs
from firth_trainer.supervised_data import LabelledCorpus

CHUNK_EXAMPLES = 500  # examples a job: a smooth rate and balanced threads, little per-call overhead
LOSSES = tuple(kernels.LOSS_KINDS)


@dataclass(frozen=True)
class SupervisedParams:
    """The classifier's hyperparameters. Each field's metadata is the help line of its
    `firth train` flag; the values live in SUPERVISED_DEFAULTS below."""

    family: ClassVar[str] = "supervised"
    algorithm: str
    dim: int = field(metadata={"help": "vector dimension"})
    epochs: int = field(metadata={"help": "passes over the corpus", "aliases": ("--iter",)})
    alpha: float = field(metadata={"help": "initial learning rate"})
    threads: int = field(metadata={"help": "worker threads (0: every core)"})
    seed: int = field(metadata={"help": "random seed; with --threads 1 runs are bit-for-bit equal"})
    loss: str = field(
        metadata={
            "help": "softmax (one label an example), ova (one-vs-all: each label a yes/no of its own, "
            "for multi-label data) or hs (hierarchical softmax: a Huffman tree of the labels, for many labels)",
            "choices": LOSSES,
        }
    )
    word_ngrams: int = field(
        metadata={"help": "also hash runs of up to N words into bucket rows (fastText's)"}
    )
    bucket: int = field(metadata={"help": "hash buckets for word n-grams (used when --word-ngrams > 1)"})
    # Set by --pretrained / --freeze-embeddings (trainer/commands/train.py), not table flags.
    pretrained: str | None = None
    freeze_embeddings: bool = False

    def resolved(self) -> SupervisedParams:
        return replace(self, threads=self.threads if self.threads > 0 else os.cpu_count() or 1)

    @property
    def buckets(self) -> int:
        """Bucket rows the model holds: none without word n-grams (fastText sets bucket 0 then)."""
        return self.bucket if self.word_ngrams > 1 else 0

    def check(self) -> None:
        for name in ("dim", "epochs", "alpha", "word_ngrams"):
            require_positive(name, getattr(self, name))
        require_non_negative("bucket", self.bucket)
        if self.word_ngrams > 1 and self.bucket < 1:
            raise ConfigurationError(f"bucket must be > 0 with --word-ngrams {self.word_ngrams}")
        if self.loss not in LOSSES:
            raise ConfigurationError(f"loss must be one of {list(LOSSES)}, not {self.loss!r}")
        require_threads_and_seed(self.threads, self.seed)


# fastText's supervised defaults (args.cc: lr 0.1, epoch 5, wordNgrams 1, bucket 2,000,000 when
# word n-grams are on, loss softmax, dim 100), beside the trainer as the other tables are.
SUPERVISED_DEFAULTS: dict[str, SupervisedParams] = {
    "supervised": SupervisedParams(
        algorithm="supervised",
        dim=100,
        epochs=5,
        alpha=0.1,
        threads=0,
        seed=1,
        loss="softmax",
        word_ngrams=1,
        bucket=2_000_000,
    )
}
SUPERVISED_SUMMARIES = {"supervised": "text classifier from __label__ lines (fastText's supervised)"}


def supervised_memory(n_words: int, n_labels: int, params: SupervisedParams) -> int:
    return (n_words + params.buckets + n_labels) * params.dim * 4


@dataclass
class SupervisedResult:
    input_rows: np.ndarray  # (words + the buckets used, dim): LabelledCorpus.rows numbers them
    output: np.ndarray  # (labels, dim)
    seconds: float
    examples: int  # examples seen, all epochs
    epoch_loss: list[float]

    def as_meta(self, tokens: int, epochs: int) -> dict[str, Any]:
        rate = lambda n: round(n / self.seconds) if self.seconds > 0 else None  # noqa: E731
        return {
            "seconds": round(self.seconds, 3),
            "examples_per_second": rate(self.examples),
            "words_per_second": rate(tokens * epochs),
            "final_loss": self.epoch_loss[-1],
            "epoch_loss": self.epoch_loss,
        }


def initial_rows(n_words: int, n_buckets: int, params: SupervisedParams) -> np.ndarray:
    """Word rows uniform in [-1, 1) / dim (fastText's), then n_buckets bucket rows at zero."""
    w_in = np.zeros((n_words + n_buckets, params.dim), dtype=np.float32)
    rng = np.random.default_rng(params.seed)
    words = rng.random((n_words, params.dim), dtype=np.float32)
    words *= np.float32(2.0)
    words -= np.float32(1.0)
    words /= np.float32(params.dim)
    w_in[:n_words] = words
    return w_in


def train_supervised(
    data: LabelledCorpus,
    params: SupervisedParams,
    start_rows: tuple[np.ndarray, np.ndarray] | None = None,
    quiet: bool = False,
) -> SupervisedResult:
    """Train on `data`. `start_rows` = (word row numbers, their starting vectors), from --pretrained."""
    params.check()
    p = params.resolved()
    n_words, n = len(data.words), data.n_examples
    w_in = initial_rows(n_words, len(data.buckets_used), p)
    if start_rows is not None:
        w_in[start_rows[0]] = start_rows[1]
    w_out = np.zeros((len(data.labels), p.dim), dtype=np.float32)
    frozen = p.freeze_embeddings
    probe = MovementProbe(w_out if frozen else w_in, len(data.labels) if frozen else n_words)
    order = np.random.default_rng([p.seed, 1]).permutation(n).astype(np.int64)
    config = kernels.SupervisedConfig(
        data.rows, data.offsets, data.example_labels, data.label_offsets, order, w_in, w_out,
        kernels.LOSS_KINDS[p.loss],
        huffman_tree(data.label_counts.tolist()) if p.loss == "hs" else empty_tree(),
        not frozen,
    )  # fmt: skip
    alpha, schedule = float(p.alpha), p.epochs * n

    def rate(epoch: int, pos: int) -> float:  # fastText's: linear to 0, by example position
        return alpha * (1.0 - (epoch * n + pos) / schedule)

    run = run_epochs(
        kernels.train_chunk,
        config,
        [*range(0, n, CHUNK_EXAMPLES), n],
        epochs=p.epochs,
        seed=p.seed,
        threads=p.threads,
        rate=rate,
        report=_chunk_report,
        display=Display("supervised", schedule, alpha, 0.0, unit="example", quiet=quiet),
    )
    probed = w_out if frozen else w_in
    require_sgd_trained("supervised", alpha, probe, probed, w_in, w_out, diverged="supervised training")
    return SupervisedResult(w_in, w_out, run.seconds, run.done, run.epoch_loss)


def _chunk_report(result: tuple[float, int, int]) -> ChunkReport:
    """A classifier chunk's (summed loss, examples, tokens): its loss sums every example."""
    loss, examples, _tokens = result
    return ChunkReport(examples, 0, loss, examples)


def bucket_matrix(result: SupervisedResult, data: LabelledCorpus, params: SupervisedParams) -> np.ndarray:
    """All `bucket` n-gram rows, as prediction indexes them: the trained ones in place, the
    buckets no training text reached at zero."""
    full = np.zeros((params.buckets, params.dim), dtype=np.float32)
    full[data.buckets_used] = result.input_rows[len(data.words) :]
    return full
