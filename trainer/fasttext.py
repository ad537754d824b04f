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
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from firth_core.errors import ConfigurationError, TrainingDiverged
from firth_core.subwords import SubwordSpec, compose_word_vectors, vocabulary_buckets
from firth_trainer import fasttext_kernels as ft_kernels
from firth_trainer.checks import MovementProbe, require_sgd_trained
from firth_trainer.vocab import TokenStream, Vocab, alias_table, keep_thresholds
from firth_trainer.word2vec import (
    TrainResult,
    Word2VecParams,
    check_word_run,
    init_vectors,
    run_word_epochs,
    train_word2vec,
)

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
        check_word_run(self, fine_tuning)
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
    what = f"fasttext {p.model}"
    run = run_word_epochs(kernel, config, ids, p, what, stream.tokens, raw_tokens, quiet)
    require_sgd_trained(what, float(p.alpha), probe, w_words, w_words, w_out)
    vectors = compose_word_vectors(w_words, w_ngrams, offsets, rows)
    if not np.isfinite(vectors).all():  # an n-gram row only the NaN check above did not cover
        raise TrainingDiverged(
            f"{what} diverged: the n-gram vectors overflowed to NaN or Inf; no model was written"
        )
    return FastTextResult(vectors, w_out, run.seconds, run.done, run.kept, run.epoch_loss, ngrams=w_ngrams)
