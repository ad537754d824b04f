"""corpus -> vocabulary -> word2vec, fastText or GloVe -> (evaluation) -> model artifact.

Everything a run knows goes into meta.json: the algorithm and every hyperparameter, corpus
statistics with the sha256 of each file, training time, words/s and loss, and the evaluation
scores when asked. Work files live in a temporary directory that is removed whatever happens,
and the artifact is written atomically, so a failed run leaves nothing at --out. word2vec's
output layer is kept as output.npy; with a parent model (`--init-from`, trainer/finetune.py) the
run continues it on the new corpus.
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

from firth_core.artifact import NGRAMS_FILE, OUTPUT_FILE, check_destination, write_artifact
from firth_core.errors import ConfigurationError, ResourceLimit
from firth_core.resources import require_memory
from firth_trainer.corpus import encode_corpus
from firth_trainer.fasttext import (
    FASTTEXT_DEFAULTS,
    FASTTEXT_SUMMARIES,
    FastTextParams,
    fasttext_memory,
    train_fasttext,
)
from firth_trainer.finetune import Parent, merge_vocab, subword_warm_start, warm_start
from firth_trainer.glove import GLOVE_DEFAULTS, GLOVE_SUMMARIES, GloveParams, glove_memory, train_glove
from firth_trainer.progress import note
from firth_trainer.supervised import SUPERVISED_DEFAULTS, SUPERVISED_SUMMARIES, SupervisedParams
from firth_trainer.vocab import VocabParams, build_vocab
from firth_trainer.word2vec import (
    WORD2VEC_DEFAULTS,
    WORD2VEC_SUMMARIES,
    Word2VecParams,
    train_word2vec,
    word2vec_memory,
)
from firth_trainer.work_dirs import work_directory

IN_MEMORY_ENTRIES = 1 << 28  # id streams up to 1 GiB stay in memory; longer ones are memory-mapped files

TrainerParams = Word2VecParams | GloveParams | FastTextParams | SupervisedParams
# Every algorithm `firth train` offers: its table of defaults (kept beside its trainer) and a summary.
ALGORITHMS: dict[str, TrainerParams] = {
    **WORD2VEC_DEFAULTS,
    **FASTTEXT_DEFAULTS,
    **GLOVE_DEFAULTS,
    **SUPERVISED_DEFAULTS,
}
SUMMARIES: dict[str, str] = {
    **WORD2VEC_SUMMARIES,
    **FASTTEXT_SUMMARIES,
    **GLOVE_SUMMARIES,
    **SUPERVISED_SUMMARIES,
}


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
    parent: Parent | None = None  # fine-tuning: the model to continue (finetune.prepare builds it)

    @property
    def algorithm(self) -> str:
        return self.params.algorithm

    def check(self) -> None:
        self.vocab.check()
        if self.parent is None:
            self.params.check()
        else:
            if not isinstance(self.params, Word2VecParams | FastTextParams):
                raise ConfigurationError(f"--init-from does not apply to {self.algorithm}")
            self.params.check(fine_tuning=True)
            if (
                self.params.dim != self.parent.dim
                or self.vocab.standardize != self.parent.artifact.standardize
            ):
                raise ConfigurationError(
                    f"dimension {self.params.dim} and standardize {self.vocab.standardize} must be the "
                    f"parent's ({self.parent.dim}, {self.parent.artifact.standardize})"
                )
        if self.tmp_dir is not None and not Path(self.tmp_dir).is_dir():
            raise ConfigurationError(f"tmp-dir {self.tmp_dir}: not a directory")
        if self.subword_buckets():
            # The bucket rows alone may not fit, whatever the corpus: say so before reading it.
            require_memory(
                self.memory_needed(0),
                f"{self.subword_buckets():,} n-gram buckets x {self.params.dim:,} dimensions (fasttext)",
                "; lower --bucket or --dim",
            )
        check_destination(self.out, self.overwrite)  # before hours of training, not after

    def subword_buckets(self) -> int:
        """The n-gram rows a fastText run allocates (0 for every other run and for --maxn 0)."""
        p = self.params
        return p.bucket if isinstance(p, FastTextParams) and p.subwords.enabled else 0

    def memory_needed(self, n_words: int) -> int:
        """Bytes of the vectors and training state for a vocabulary of `n_words`."""
        if isinstance(self.params, GloveParams):
            return glove_memory(n_words, self.params.dim)
        if isinstance(self.params, FastTextParams):
            return fasttext_memory(n_words, self.params.dim, self.subword_buckets(), self.params.maxn)
        assert isinstance(self.params, Word2VecParams)
        return word2vec_memory(n_words, self.params.dim)


def _versions() -> dict[str, str]:
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__}


def train_model(cfg: TrainConfig) -> tuple[Path, dict[str, Any]]:
    """Run the whole pipeline; returns the model directory and its metadata."""
    cfg.check()
    started = time.perf_counter()
    try:
        if isinstance(cfg.params, SupervisedParams):
            from firth_trainer.supervised_pipeline import train_classifier

            return train_classifier(cfg, started)
        return _train_in(cfg, started)
    except OSError as exc:  # the work files' disk (reading the corpus reports its own errors)
        where = cfg.tmp_dir or tempfile.gettempdir()
        hint = "; free some space or point --tmp-dir at a larger disk" if exc.errno == errno.ENOSPC else ""
        raise ResourceLimit(
            f"cannot write work files under {where} ({exc.strerror or exc.__class__.__name__}){hint}; "
            "no model was written"
        ) from None


def _train_in(cfg: TrainConfig, started: float) -> tuple[Path, dict[str, Any]]:
    with work_directory(cfg.tmp_dir) as work:
        note(f"reading {cfg.corpus} ...", cfg.quiet)
        encoded = encode_corpus(cfg.corpus, cfg.vocab.standardize, work)
        stats = encoded.stats
        big = encoded.length > IN_MEMORY_ENTRIES
        ids_path = work / "ids.i32" if big else None
        parent, merged = cfg.parent, None
        if parent is None:
            vocab, stream = build_vocab(encoded, cfg.vocab.min_count, cfg.vocab.max_vocab, ids_path)
            grown = ""
        else:
            merged = merge_vocab(encoded, parent.artifact, cfg.vocab.min_count, cfg.vocab.max_vocab, ids_path)
            vocab, stream = merged.vocab, merged.stream
            grown = f", {merged.new_words:,} of them new to {parent.artifact.name}"
        os.unlink(encoded.ids_path)
        stream_tokens = stream.tokens
        note(
            f"{stats.lines:,} lines, {stats.tokens:,} tokens, {len(encoded.words):,} distinct words; "
            f"vocabulary {len(vocab):,} words{grown} ({stream.tokens:,} tokens) with min-count "
            f"{cfg.vocab.min_count}",
            cfg.quiet,
        )
        buckets = cfg.subword_buckets()
        require_memory(  # before counting or allocating anything large
            cfg.memory_needed(len(vocab)),
            f"{len(vocab):,} words{f' and {buckets:,} n-gram buckets' if buckets else ''} "
            f"x {cfg.params.dim:,} dimensions ({cfg.algorithm})",
            f"; lower --dim{', or --bucket' if buckets else ''}, or prune the vocabulary with --min-count "
            "or --max-vocab",
        )
        extras: dict[str, np.ndarray] = {}
        subwords: dict[str, Any] = {}
        if isinstance(cfg.params, GloveParams):
            g = train_glove(stream, vocab, cfg.params, work, quiet=cfg.quiet)
            vectors = g.vectors
            algorithm = {"name": "glove", **asdict(g.params)}
            training = g.as_meta()
            # GloVe has no passes over words to count; this is corpus tokens over counting + fitting.
            seconds = training["seconds"]
            training["words_per_second"] = round(stats.tokens / seconds) if seconds > 0 else None
        elif isinstance(cfg.params, FastTextParams):
            ft_start = None
            if parent is not None and merged is not None:
                ft_start = subword_warm_start(parent, merged, cfg.params)
            f = train_fasttext(
                stream, vocab, cfg.params, raw_tokens=stats.tokens, quiet=cfg.quiet, start=ft_start
            )
            vectors = f.vectors
            ft_params = cfg.params.resolved()
            algorithm = {"name": cfg.algorithm, **asdict(ft_params)}
            del algorithm["algorithm"]
            training = f.as_meta(stats.tokens, ft_params.epochs)
            extras[OUTPUT_FILE] = f.output
            if f.ngrams is not None:
                extras[NGRAMS_FILE] = f.ngrams
                subwords = {"subwords": ft_params.subwords.to_meta()}
        else:
            assert isinstance(cfg.params, Word2VecParams)
            start = None if parent is None or merged is None else warm_start(parent, merged, cfg.params.seed)
            w = train_word2vec(
                stream, vocab, cfg.params, raw_tokens=stats.tokens, quiet=cfg.quiet, start=start
            )
            vectors = w.vectors
            extras[OUTPUT_FILE] = w.output
            params = cfg.params.resolved()
            algorithm = {"name": cfg.algorithm, **asdict(params)}
            del algorithm["algorithm"]
            training = w.as_meta(stats.tokens, params.epochs)
        del stream
    algorithm.update(min_count=cfg.vocab.min_count, max_vocab=cfg.vocab.max_vocab)
    meta: dict[str, Any] = {
        "source": "firth train",
        "algorithm": algorithm,
        "corpus": {**stats.as_meta(), "vocab_size": len(vocab), "vocab_tokens": stream_tokens},
        "training": {**training, "total_seconds": None, "versions": _versions()},
        **subwords,
    }
    counts: np.ndarray | None = vocab.counts
    if parent is not None and merged is not None:
        meta["init_from"] = parent.as_meta(merged.new_words)
        counts = vocab.counts if merged.counts_known else None
    if cfg.evaluate:
        from firth_core.evaluation import evaluate_all
        from firth_core.keyed_vectors import KeyedVectors

        note("evaluating ...", cfg.quiet)
        kv = KeyedVectors(vocab.words, vectors, counts, cfg.vocab.standardize)
        meta["evaluation"] = evaluate_all(kv)
    meta["training"]["total_seconds"] = round(time.perf_counter() - started, 3)
    path = write_artifact(
        cfg.out,
        vocab.words,
        vectors,
        name=cfg.name,
        standardize=cfg.vocab.standardize,
        counts=counts,
        meta=meta,
        overwrite=cfg.overwrite,
        extras=extras,
    )
    return path, meta
