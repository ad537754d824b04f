"""corpus -> vocabulary -> word2vec or GloVe -> (evaluation) -> model artifact.

Everything a run knows goes into meta.json: the algorithm and every hyperparameter, corpus
statistics with the sha256 of each file, training time, words/s and loss, and the evaluation
scores when asked. Work files live in a temporary directory that is removed whatever happens,
and the artifact is written atomically, so a failed run leaves nothing at --out.
"""

from __future__ import annotations

import errno
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firth_core.artifact import check_destination, write_artifact
from firth_core.errors import InputFormatError, ResourceLimit
from firth_core.resources import require_memory
from firth_core.standardize import STANDARDIZERS
from trainer.corpus import encode_corpus
from trainer.glove import GloveParams, glove_memory, train_glove
from trainer.progress import note
from trainer.vocab import build_vocab
from trainer.word2vec import Word2VecParams, train_word2vec, word2vec_memory

DEFAULT_STANDARDIZE = "lower_and_strip_punctuation"  # as Keras' TextVectorization; the service does the same
IN_MEMORY_ENTRIES = 1 << 28  # id streams up to 1 GiB stay in memory; longer ones are memory-mapped files


@dataclass
class TrainConfig:
    algorithm: str
    corpus: str
    out: str
    name: str | None = None
    standardize: str = DEFAULT_STANDARDIZE
    min_count: int = 5  # word2vec.c's and gensim's default: rarer words get poor vectors and cost time
    max_vocab: int | None = None  # keep at most this many of the most frequent words; None: no limit
    evaluate: bool = False
    overwrite: bool = False
    quiet: bool = False
    tmp_dir: str | None = None
    word2vec: Word2VecParams = field(default_factory=Word2VecParams)
    glove: GloveParams = field(default_factory=GloveParams)

    def check(self) -> None:
        if self.algorithm not in ("sgns", "cbow", "glove"):
            raise InputFormatError(f"algorithm must be sgns, cbow or glove, not {self.algorithm!r}")
        if self.standardize not in STANDARDIZERS:
            raise InputFormatError(
                f"standardize must be one of {sorted(STANDARDIZERS)}, not {self.standardize!r}"
            )
        if self.min_count < 1:
            raise InputFormatError(f"min-count must be >= 1, got {self.min_count}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise InputFormatError(f"max-vocab must be >= 1, got {self.max_vocab}")
        if self.algorithm == "glove":
            self.glove.check()
        else:
            self.word2vec.algorithm = self.algorithm
            self.word2vec.check()
        if self.tmp_dir is not None and not Path(self.tmp_dir).is_dir():
            raise InputFormatError(f"tmp-dir {self.tmp_dir}: not a directory")
        check_destination(self.out, self.overwrite)  # before hours of training, not after

    def memory_needed(self, n_words: int) -> int:
        """Bytes of the vectors and training state for a vocabulary of `n_words`."""
        if self.algorithm == "glove":
            return glove_memory(n_words, self.glove.dim)
        return word2vec_memory(n_words, self.word2vec.dim)


def _versions() -> dict[str, str]:
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__}


def train_model(cfg: TrainConfig) -> tuple[Path, dict[str, Any]]:
    """Run the whole pipeline; returns the model directory and its metadata."""
    cfg.check()
    started = time.perf_counter()
    try:
        return _train_in(cfg, started)
    except OSError as exc:  # the work files' disk (reading the corpus reports its own errors)
        where = cfg.tmp_dir or tempfile.gettempdir()
        hint = "; free some space or point --tmp-dir at a larger disk" if exc.errno == errno.ENOSPC else ""
        raise ResourceLimit(
            f"cannot write work files under {where} ({exc.strerror or exc.__class__.__name__}){hint}; "
            "no model was written"
        ) from None


def _train_in(cfg: TrainConfig, started: float) -> tuple[Path, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="firth-train-", dir=cfg.tmp_dir) as tmp:
        work = Path(tmp)
        note(f"reading {cfg.corpus} ...", cfg.quiet)
        encoded = encode_corpus(cfg.corpus, cfg.standardize, work)
        stats = encoded.stats
        big = encoded.length > IN_MEMORY_ENTRIES
        vocab, stream = build_vocab(encoded, cfg.min_count, cfg.max_vocab, work / "ids.i32" if big else None)
        os.unlink(encoded.ids_path)
        note(
            f"{stats.lines:,} lines, {stats.tokens:,} tokens, {len(encoded.words):,} distinct words; "
            f"vocabulary {len(vocab):,} words ({stream.tokens:,} tokens) with min-count {cfg.min_count}",
            cfg.quiet,
        )
        dim = cfg.glove.dim if cfg.algorithm == "glove" else cfg.word2vec.dim
        require_memory(  # before counting or allocating anything large
            cfg.memory_needed(len(vocab)),
            f"{len(vocab):,} words x {dim:,} dimensions ({cfg.algorithm})",
            "; lower --dim, or prune the vocabulary with --min-count or --max-vocab",
        )
        if cfg.algorithm == "glove":
            g = train_glove(stream, vocab, cfg.glove, work, quiet=cfg.quiet)
            vectors = g.vectors
            algorithm = {"name": "glove", **asdict(g.params)}
            training = g.as_meta()
            # GloVe has no passes over words to count; this is corpus tokens over counting + fitting.
            seconds = training["seconds"]
            training["words_per_second"] = round(stats.tokens / seconds) if seconds > 0 else None
        else:
            w = train_word2vec(stream, vocab, cfg.word2vec, raw_tokens=stats.tokens, quiet=cfg.quiet)
            vectors = w.vectors
            params = cfg.word2vec.resolved()
            algorithm = {"name": cfg.algorithm, **asdict(params)}
            del algorithm["algorithm"]
            training = w.as_meta(stats.tokens, params.epochs)
        del stream
    algorithm.update(min_count=cfg.min_count, max_vocab=cfg.max_vocab)
    meta: dict[str, Any] = {
        "source": "firth train",
        "algorithm": algorithm,
        "corpus": {**stats.as_meta(), "vocab_size": len(vocab), "vocab_tokens": int(vocab.total)},
        "training": {**training, "total_seconds": None, "versions": _versions()},
    }
    if cfg.evaluate:
        from firth_core.keyed_vectors import KeyedVectors
        from trainer.scoring import evaluate_all

        note("evaluating ...", cfg.quiet)
        kv = KeyedVectors(vocab.words, vectors, vocab.counts, cfg.standardize)
        meta["evaluation"] = evaluate_all(kv)
    meta["training"]["total_seconds"] = round(time.perf_counter() - started, 3)
    path = write_artifact(
        cfg.out,
        vocab.words,
        vectors,
        name=cfg.name,
        standardize=cfg.standardize,
        counts=vocab.counts,
        meta=meta,
        overwrite=cfg.overwrite,
    )
    return path, meta
