"""word2vec driver: skip-gram or CBOW with negative sampling over an id stream.

The stream (trainer/vocab.py) is cut once into chunks of whole sentences; every epoch runs each
chunk as one job on the Hogwild threads (trainer/hogwild.py). The learning rate falls linearly
from `alpha` to `min_alpha` over all epochs, by the position of the chunk in the schedule, so it
does not depend on thread timing. The output is the input-embedding matrix.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firth_core.errors import InputFormatError, TrainingDiverged
from trainer import word2vec_kernels as kernels
from trainer.checks import MovementProbe, require_non_negative, require_positive, require_threads_and_seed
from trainer.hogwild import run_jobs
from trainer.progress import Progress
from trainer.vocab import TokenStream, Vocab, alias_table, keep_thresholds

CHUNK_ENTRIES = 20_000  # stream entries a job: small enough for a smooth alpha and balanced threads
DEFAULT_ALPHA = {"sgns": 0.025, "cbow": 0.05}  # word2vec.c's defaults for skip-gram and CBOW


@dataclass
class Word2VecParams:
    algorithm: str = "sgns"  # "sgns" (skip-gram) or "cbow"
    dim: int = 100  # word2vec.c's and gensim's default size
    window: int = 5  # maximum distance between centre and context; shrunk at random per word
    negative: int = 5  # negatives an example: 5-20 for small corpora, 2-5 for large (Mikolov 2013)
    epochs: int = 5  # gensim's default; word2vec.c's -iter
    sample: float = 1e-3  # subsampling threshold (word2vec.c's and gensim's default)
    alpha: float | None = None  # initial learning rate; None: 0.025 skip-gram, 0.05 CBOW
    min_alpha: float = 1e-4  # final learning rate (gensim's default; word2vec.c: alpha * 1e-4)
    threads: int = 0  # 0: every core
    seed: int = 1  # seeds initial vectors and every chunk's random stream

    def resolved(self) -> Word2VecParams:
        out = Word2VecParams(**asdict(self))
        if out.alpha is None:
            out.alpha = DEFAULT_ALPHA[out.algorithm]
        if out.threads <= 0:
            out.threads = os.cpu_count() or 1
        return out

    def check(self) -> None:
        if self.algorithm not in DEFAULT_ALPHA:
            raise InputFormatError(
                f"algorithm must be one of {sorted(DEFAULT_ALPHA)}, not {self.algorithm!r}"
            )
        for name in ("dim", "window", "epochs", "negative"):
            require_positive(name, getattr(self, name))
        require_non_negative("sample", self.sample)
        if self.alpha is not None:
            require_positive("alpha", self.alpha)
        require_non_negative("min_alpha", self.min_alpha)
        alpha = DEFAULT_ALPHA[self.algorithm] if self.alpha is None else self.alpha
        if self.min_alpha > alpha:
            raise InputFormatError(
                f"min-alpha must not exceed alpha ({alpha}): the rate decays from alpha to min-alpha, "
                f"got {self.min_alpha}"
            )
        require_threads_and_seed(self.threads, self.seed)


@dataclass
class TrainResult:
    vectors: np.ndarray
    seconds: float
    words: int  # in-vocabulary words read, all epochs
    kept: int  # words left after subsampling (gensim's "effective words"), all epochs
    epoch_loss: list[float]  # mean loss an example, each epoch

    def as_meta(self, raw_tokens: int, epochs: int) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "words_per_second": round(raw_tokens * epochs / self.seconds) if self.seconds > 0 else None,
            "effective_words_per_second": round(self.kept / self.seconds) if self.seconds > 0 else None,
            "final_loss": self.epoch_loss[-1],
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
) -> TrainResult:
    p = params.resolved()
    p.check()
    assert p.alpha is not None
    ids = np.asarray(stream.ids)
    w_in, w_out = init_vectors(len(vocab), p.dim, p.seed)
    probe = MovementProbe(w_in, len(vocab))
    keep = keep_thresholds(vocab.counts, p.sample)
    thresh, alias = alias_table(vocab.counts)
    bounds = kernels.chunk_bounds(ids, CHUNK_ENTRIES)
    n_chunks = len(bounds) - 1
    length = max(int(ids.shape[0]), 1)
    schedule = p.epochs * length
    kernel = kernels.train_chunk_sg if p.algorithm == "sgns" else kernels.train_chunk_cbow
    alpha, min_alpha = float(p.alpha), float(p.min_alpha)

    def lr(epoch: int, pos: int) -> float:
        return alpha - (alpha - min_alpha) * (epoch * length + pos) / schedule

    def job(i: int) -> tuple[int, int, float, int]:
        epoch, c = divmod(i, n_chunks)
        s, e = int(bounds[c]), int(bounds[c + 1])
        seed = np.uint64(kernels.mix_seed(p.seed, epoch, c))
        out: tuple[int, int, float, int] = kernel(
            ids,
            s,
            e,
            w_in,
            w_out,
            keep,
            thresh,
            alias,
            p.window,
            p.negative,
            lr(epoch, s),
            lr(epoch, e),
            seed,
        )
        return out

    loss_sum = [0.0] * p.epochs
    examples = [0] * p.epochs
    totals = {"words": 0, "kept": 0, "last": 0}
    scale = (raw_tokens or stream.tokens) / max(stream.tokens, 1)  # show raw corpus words, as gensim does

    def on_result(i: int, result: tuple[int, int, float, int]) -> None:
        epoch = i // n_chunks
        totals["words"] += result[0]
        totals["kept"] += result[1]
        loss_sum[epoch] += result[2]
        examples[epoch] += (result[3] + kernels.LOSS_EVERY - 1) // kernels.LOSS_EVERY
        totals["last"] = epoch

    with Progress(round(p.epochs * stream.tokens * scale), f"{p.algorithm}", quiet=quiet) as bar:

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
    if not np.isfinite(w_in).all():
        raise TrainingDiverged(
            f"{p.algorithm} diverged: the vectors overflowed to NaN or Inf; "
            f"no model was written (try a smaller --alpha than {alpha:g})"
        )
    probe.require_moved(w_in, p.algorithm, f"--alpha {alpha:g} is too small to train")
    return TrainResult(w_in, seconds, totals["words"], totals["kept"], epoch_loss)
