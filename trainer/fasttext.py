"""fastText driver (Bojanowski et al. 2017): skip-gram or CBOW with negative sampling where a
word's input vector is the mean of its own row and its character n-gram rows.

The run is the word2vec trainer's (trainer/word2vec.py): the same chunks of whole sentences on
the Hogwild threads, the same linear learning-rate schedule by position, subsampling, shrinking
window, alias-table negatives and per-chunk seeds, so `--threads 1 --seed S` is bit-for-bit
reproducible. The kernels are trainer/fasttext_kernels.py. Initialisation is gensim's
(`FastTextKeyedVectors.resize_vectors`): word rows and n-gram rows uniform in [-1, 1) / dim
(the n-gram rows from seed + 1), output rows zero.

`--maxn 0` is plain word2vec and is handed to the word2vec trainer (its sgns or cbow kernels,
the same numbers as `--algorithm sgns|cbow` with the same flags), which writes a model without
subwords.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from firth_core.errors import ConfigurationError, TrainingDiverged
from firth_core.subwords import SubwordSpec, compose_word_vectors, vocabulary_buckets
from firth_trainer import fasttext_kernels as ft_kernels
from firth_trainer import word2vec_kernels as w2v_kernels
from firth_trainer.checks import (
    MovementProbe,
    require_non_negative,
    require_positive,
    require_threads_and_seed,
)
from firth_trainer.hogwild import run_jobs
from firth_trainer.progress import Progress
from firth_trainer.vocab import TokenStream, Vocab, alias_table, keep_thresholds
from firth_trainer.word2vec import CHUNK_ENTRIES, TrainResult, Word2VecParams, init_vectors, train_word2vec

MODELS = ("skipgram", "cbow")
MAX_BUCKET = 2**31 - 1  # bucket rows are int32 in the kernels
# An estimate of the n-gram rows a vocabulary word has (a 10-letter word has 26 with minn 3,
# maxn 6), for the memory check before the vocabulary's rows are listed.
NGRAMS_A_WORD = 32


@dataclass(frozen=True)
class FastTextParams:
    """fastText's hyperparameters. Each field's metadata is the help line of its `firth train` flag
    (the word2vec ones word for word, so `firth train --help` shows one line for both)."""

    family: ClassVar[str] = "fasttext"
    algorithm: str  # always "fasttext"; the skip-gram / CBOW choice is --model
    model: str = field(
        metadata={
            "help": "skipgram: a word's n-grams predict its context; cbow: the context's n-grams "
            "predict the word",
            "choices": MODELS,
        }
    )
    dim: int = field(metadata={"help": "vector dimension"})
    window: int = field(metadata={"help": "context words on each side"})
    negative: int = field(metadata={"help": "negative samples an example"})
    epochs: int = field(metadata={"help": "passes over the corpus", "aliases": ("--iter",)})
    sample: float = field(metadata={"help": "frequent-word subsampling threshold (0: off)"})
    alpha: float = field(metadata={"help": "initial learning rate, either model (gensim FastText's)"})
    min_alpha: float = field(metadata={"help": "final learning rate"})
    threads: int = field(metadata={"help": "worker threads (0: every core)"})
    seed: int = field(metadata={"help": "random seed; with --threads 1 runs are bit-for-bit equal"})
    minn: int = field(metadata={"help": "shortest character n-gram of <word>"})
    maxn: int = field(metadata={"help": "longest character n-gram (0: no subwords, plain word2vec)"})
    bucket: int = field(metadata={"help": "hash buckets the n-grams share (rows of ngrams.npy)"})

    @property
    def subwords(self) -> SubwordSpec:
        return SubwordSpec(minn=self.minn, maxn=self.maxn, bucket=self.bucket)

    def resolved(self) -> FastTextParams:
        """The parameters a run uses: threads 0 becomes the number of cores."""
        return replace(self, threads=self.threads if self.threads > 0 else os.cpu_count() or 1)

    def check(self, fine_tuning: bool = False) -> None:
        """Refuse a value no run can use. Fine-tuning may take --epochs 0 (the parent's rows
        copied, the new words' rows fresh)."""
        if self.model not in MODELS:
            raise ConfigurationError(f"model must be one of {list(MODELS)}, not {self.model!r}")
        for name in ("dim", "window", "negative", "alpha"):
            require_positive(name, getattr(self, name))
        if fine_tuning:
            require_non_negative("epochs", self.epochs)
        else:
            require_positive("epochs", self.epochs)
        require_non_negative("sample", self.sample)
        require_non_negative("min_alpha", self.min_alpha)
        if self.min_alpha > self.alpha:
            raise ConfigurationError(
                f"min-alpha must not exceed alpha ({self.alpha}): the rate decays from alpha to "
                f"min-alpha, got {self.min_alpha}"
            )
        require_threads_and_seed(self.threads, self.seed)
        problem = self.subwords.problem()
        if problem:
            raise ConfigurationError(problem)
        if self.bucket > MAX_BUCKET:
            raise ConfigurationError(f"--bucket must be at most {MAX_BUCKET:,}, got {self.bucket:,}")

    def as_word2vec(self) -> Word2VecParams:
        """The word2vec run `--maxn 0` stands for."""
        from firth_trainer.word2vec import WORD2VEC_DEFAULTS

        algorithm = "sgns" if self.model == "skipgram" else "cbow"
        return replace(
            WORD2VEC_DEFAULTS[algorithm],
            **{f: getattr(self, f) for f in ("dim", "window", "negative", "epochs", "sample", "alpha")},
            min_alpha=self.min_alpha,
            threads=self.threads,
            seed=self.seed,
        )


# gensim's FastText defaults (and fastText's minn, maxn, bucket); the rest as word2vec's skip-gram.
FASTTEXT_DEFAULTS: dict[str, FastTextParams] = {
    "fasttext": FastTextParams(
        algorithm="fasttext",
        model="skipgram",  # fastText's `skipgram` and `cbow` commands; gensim's sg=1 / sg=0
        dim=100,
        window=5,
        negative=5,
        epochs=5,
        sample=1e-3,
        alpha=0.025,  # gensim FastText's for both models (fastText's own is 0.05)
        min_alpha=1e-4,
        threads=0,
        seed=1,
        minn=3,
        maxn=6,
        bucket=2_000_000,
    )
}
FASTTEXT_SUMMARIES = {"fasttext": "skip-gram or CBOW (--model) over character n-grams (fastText)"}


@dataclass
class FastTextResult(TrainResult):
    """TrainResult's figures; `vectors` are the full word vectors (own row and n-grams composed),
    `output` the output rows (gensim's syn1neg). ngrams is None for `--maxn 0` (plain word2vec)."""

    ngrams: np.ndarray | None = None  # (bucket, dim) n-gram rows


@dataclass
class SubwordStart:
    """Where a fine-tuning run starts (trainer/finetune.py builds it) instead of init_subword_vectors."""

    w_words: np.ndarray  # (vocabulary, dim) float32: the parent's words' own rows, then fresh ones
    w_ngrams: np.ndarray  # (bucket, dim) float32: the parent's n-gram rows
    w_out: np.ndarray  # (vocabulary, dim) float32: the parent's output rows (or zeros), then zeros
    lock_words: np.ndarray  # (vocabulary,) float32 factor on each own-row update (0: locked)
    lock_ngrams: np.ndarray  # (bucket,) float32 factor on each n-gram-row update (0: locked)
    stream_counts: np.ndarray  # int64 counts in the new corpus alone: its subsampling rates


def fasttext_memory(n_words: int, dim: int, bucket: int, maxn: int) -> int:
    """Bytes of a run's large allocations: word, n-gram and output rows, the composed vectors and
    the vocabulary's n-gram lists (float32 rows, int32 row numbers)."""
    if maxn == 0:
        return 2 * n_words * dim * 4
    return (3 * n_words + bucket) * dim * 4 + n_words * NGRAMS_A_WORD * 4


def init_subword_vectors(
    n_words: int, bucket: int, dim: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gensim's start: word rows and n-gram rows uniform in [-1, 1) / dim from seeds `seed` and
    `seed + 1`, output rows zero."""
    w_words, w_out = init_vectors(n_words, dim, seed)
    w_ngrams = np.random.default_rng(seed + 1).random((bucket, dim), dtype=np.float32)
    w_ngrams *= np.float32(2.0)
    w_ngrams -= np.float32(1.0)
    w_ngrams /= np.float32(dim)
    return w_words, w_ngrams, w_out


def train_fasttext(
    stream: TokenStream,
    vocab: Vocab,
    params: FastTextParams,
    raw_tokens: int | None = None,
    quiet: bool = False,
    start: SubwordStart | None = None,
) -> FastTextResult:
    """Train from init_subword_vectors, or from `start` when fine-tuning (negatives by
    vocab.counts, subsampling by the new corpus' counts, as train_word2vec)."""
    params.check(fine_tuning=start is not None)
    p = params.resolved()
    if not p.subwords.enabled:
        w = train_word2vec(stream, vocab, p.as_word2vec(), raw_tokens=raw_tokens, quiet=quiet)
        return FastTextResult(w.vectors, w.output, w.seconds, w.words, w.kept, w.epoch_loss)
    ids = np.asarray(stream.ids)
    offsets, rows = vocabulary_buckets(vocab.words, p.subwords)
    if start is None:
        w_words, w_ngrams, w_out = init_subword_vectors(len(vocab), p.bucket, p.dim, p.seed)
        lock_words = np.ones(len(vocab), dtype=np.float32)
        lock_ngrams = np.ones(p.bucket, dtype=np.float32)
        stream_counts = vocab.counts
    else:
        w_words, w_ngrams, w_out = start.w_words, start.w_ngrams, start.w_out
        lock_words, lock_ngrams, stream_counts = start.lock_words, start.lock_ngrams, start.stream_counts
    if p.epochs == 0:
        vectors = compose_word_vectors(w_words, w_ngrams, offsets, rows)
        return FastTextResult(vectors, w_out, 0.0, 0, 0, [], ngrams=w_ngrams)
    probe = MovementProbe(w_words, len(vocab), None if start is None else np.flatnonzero(lock_words != 0))
    thresh, alias = alias_table(vocab.counts)
    config = ft_kernels.FastTextConfig(
        ids, w_words, w_ngrams, w_out, offsets, rows, keep_thresholds(stream_counts, p.sample), thresh, alias,
        int(p.window), int(p.negative), lock_words, lock_ngrams,
    )  # fmt: skip
    kernel = ft_kernels.train_chunk_sg if p.model == "skipgram" else ft_kernels.train_chunk_cbow
    bounds = w2v_kernels.chunk_bounds(ids, CHUNK_ENTRIES)
    n_chunks = len(bounds) - 1
    length = max(int(ids.shape[0]), 1)
    schedule = p.epochs * length
    alpha, min_alpha = float(p.alpha), float(p.min_alpha)

    def lr(epoch: int, pos: int) -> float:
        return alpha - (alpha - min_alpha) * (epoch * length + pos) / schedule

    def job(i: int) -> tuple[int, int, float, int]:
        epoch, c = divmod(i, n_chunks)
        s, e = int(bounds[c]), int(bounds[c + 1])
        seed = np.uint64(w2v_kernels.mix_seed(p.seed, epoch, c))
        out: tuple[int, int, float, int] = kernel(
            config, w2v_kernels.Chunk(s, e, lr(epoch, s), lr(epoch, e), seed)
        )
        return out

    loss_sum = [0.0] * p.epochs
    examples = [0] * p.epochs
    totals = {"words": 0, "kept": 0, "last": 0}
    scale = (raw_tokens or stream.tokens) / max(stream.tokens, 1)  # show raw corpus words, as gensim does
    every = w2v_kernels.LOSS_EVERY

    def on_result(i: int, result: tuple[int, int, float, int]) -> None:
        epoch = i // n_chunks
        totals["words"] += result[0]
        totals["kept"] += result[1]
        loss_sum[epoch] += result[2]
        examples[epoch] += (result[3] + every - 1) // every
        totals["last"] = epoch

    with Progress(round(p.epochs * stream.tokens * scale), f"fasttext {p.model}", quiet=quiet) as bar:

        def on_tick() -> None:
            e = totals["last"]
            done = totals["words"] / max(p.epochs * stream.tokens, 1)
            bar.update(
                round(totals["words"] * scale),
                epoch=f"{e + 1}/{p.epochs}",
                loss=f"{loss_sum[e] / max(examples[e], 1):.4f}",
                lr=f"{alpha - (alpha - min_alpha) * done:.5f}",
            )

        started = time.perf_counter()
        run_jobs(p.epochs * n_chunks, job, p.threads, on_result, on_tick)
        seconds = time.perf_counter() - started
    epoch_loss = [round(s / max(n, 1), 6) for s, n in zip(loss_sum, examples, strict=True)]
    if not (np.isfinite(w_words).all() and np.isfinite(w_out).all()):
        raise TrainingDiverged(
            f"fasttext {p.model} diverged: the vectors overflowed to NaN or Inf; "
            f"no model was written (try a smaller --alpha than {alpha:g})"
        )
    probe.require_moved(w_words, f"fasttext {p.model}", f"--alpha {alpha:g} is too small to train")
    vectors = compose_word_vectors(w_words, w_ngrams, offsets, rows)
    if not np.isfinite(vectors).all():  # an n-gram row only the NaN check above did not cover
        raise TrainingDiverged(
            f"fasttext {p.model} diverged: the n-gram vectors overflowed to NaN or Inf; no model was written"
        )
    return FastTextResult(
        vectors, w_out, seconds, totals["words"], totals["kept"], epoch_loss, ngrams=w_ngrams
    )
