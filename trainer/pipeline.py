"""corpus -> vocabulary -> word2vec or GloVe -> (evaluation) -> model artifact.

Everything a run knows goes into meta.json: the algorithm and every hyperparameter, corpus
statistics with the sha256 of each file, training time, words/s and loss, and the evaluation
scores when asked. Work files live in a temporary directory that is removed whatever happens,
and the artifact is written atomically, so a failed run leaves nothing at --out.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firth_core.artifact import check_destination, write_artifact
from trainer.corpus import encode_corpus
from trainer.glove import GLOVE_DEFAULTS, GLOVE_SUMMARIES, GloveParams, train_glove
from trainer.progress import note
from trainer.vocab import VocabParams, build_vocab
from trainer.word2vec import WORD2VEC_DEFAULTS, WORD2VEC_SUMMARIES, Word2VecParams, train_word2vec

IN_MEMORY_ENTRIES = 1 << 28  # id streams up to 1 GiB stay in memory; longer ones are memory-mapped files

TrainerParams = Word2VecParams | GloveParams
# Every algorithm `firth train` offers: its table of defaults (kept beside its trainer) and a summary.
ALGORITHMS: dict[str, TrainerParams] = {**WORD2VEC_DEFAULTS, **GLOVE_DEFAULTS}
SUMMARIES: dict[str, str] = {**WORD2VEC_SUMMARIES, **GLOVE_SUMMARIES}


@dataclass
class TrainConfig:
    corpus: str
    out: str
    params: TrainerParams  # the algorithm's hyperparameters: an entry of ALGORITHMS, perhaps changed
    vocab: VocabParams = field(default_factory=VocabParams)
    name: str | None = None
    evaluate: bool = False
    overwrite: bool = False
    quiet: bool = False
    tmp_dir: str | None = None

    @property
    def algorithm(self) -> str:
        return self.params.algorithm

    def check(self) -> None:
        self.vocab.check()
        self.params.check()
        check_destination(self.out, self.overwrite)  # before hours of training, not after


def _versions() -> dict[str, str]:
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__}


def train_model(cfg: TrainConfig) -> tuple[Path, dict[str, Any]]:
    """Run the whole pipeline; returns the model directory and its metadata."""
    cfg.check()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="firth-train-", dir=cfg.tmp_dir) as tmp:
        work = Path(tmp)
        note(f"reading {cfg.corpus} ...", cfg.quiet)
        encoded = encode_corpus(cfg.corpus, cfg.vocab.standardize, work)
        stats = encoded.stats
        big = encoded.length > IN_MEMORY_ENTRIES
        vocab, stream = build_vocab(
            encoded, cfg.vocab.min_count, cfg.vocab.max_vocab, work / "ids.i32" if big else None
        )
        os.unlink(encoded.ids_path)
        note(
            f"{stats.lines:,} lines, {stats.tokens:,} tokens, {len(encoded.words):,} distinct words; "
            f"vocabulary {len(vocab):,} words ({stream.tokens:,} tokens) with min-count {cfg.vocab.min_count}",
            cfg.quiet,
        )
        if isinstance(cfg.params, GloveParams):
            g = train_glove(stream, vocab, cfg.params, work, quiet=cfg.quiet)
            vectors = g.vectors
            algorithm = {"name": "glove", **asdict(g.params)}
            training = g.as_meta()
            # GloVe has no passes over words to count; this is corpus tokens over counting + fitting.
            seconds = training["seconds"]
            training["words_per_second"] = round(stats.tokens / seconds) if seconds > 0 else None
        else:
            w = train_word2vec(stream, vocab, cfg.params, raw_tokens=stats.tokens, quiet=cfg.quiet)
            vectors = w.vectors
            params = cfg.params.resolved()
            algorithm = {"name": cfg.algorithm, **asdict(params)}
            del algorithm["algorithm"]
            training = w.as_meta(stats.tokens, params.epochs)
        del stream
    algorithm.update(min_count=cfg.vocab.min_count, max_vocab=cfg.vocab.max_vocab)
    meta: dict[str, Any] = {
        "source": "firth train",
        "algorithm": algorithm,
        "corpus": {**stats.as_meta(), "vocab_size": len(vocab), "vocab_tokens": int(vocab.total)},
        "training": {**training, "total_seconds": None, "versions": _versions()},
    }
    if cfg.evaluate:
        from firth_core.evaluation import evaluate_all
        from firth_core.keyed_vectors import KeyedVectors

        note("evaluating ...", cfg.quiet)
        kv = KeyedVectors(vocab.words, vectors, vocab.counts, cfg.vocab.standardize)
        meta["evaluation"] = evaluate_all(kv)
    meta["training"]["total_seconds"] = round(time.perf_counter() - started, 3)
    path = write_artifact(
        cfg.out,
        vocab.words,
        vectors,
        name=cfg.name,
        standardize=cfg.vocab.standardize,
        counts=vocab.counts,
        meta=meta,
        overwrite=cfg.overwrite,
    )
    return path, meta
