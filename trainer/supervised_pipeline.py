"""labelled corpus -> (pretrained rows) -> supervised training -> classifier model directory.

The model directory is like every other: vectors.npy holds the word rows (the task's embeddings,
served by every endpoint), plus output.npy (the label rows) and, with word n-grams, the bucket
rows in word_ngrams.npy; meta.json's `classifier` record holds the labels and what prediction
needs, `algorithm` every hyperparameter, `training` the figures. Checks that need no corpus
(the pretrained model's dimension) run before reading it; the artifact is written atomically.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firth_core.artifact import OUTPUT_FILE, load_artifact, read_meta, write_artifact
from firth_core.classifier import WORD_NGRAMS_FILE
from firth_core.errors import ConfigurationError, InputFormatError
from firth_core.keyed_vectors import KeyedVectors
from firth_core.labelled_text import EOS, LABEL_PREFIX
from firth_core.resources import require_memory
from firth_core.subwords import HASH_NAME
from firth_trainer.progress import note
from firth_trainer.supervised import SupervisedParams, bucket_matrix, supervised_memory, train_supervised
from firth_trainer.supervised_data import read_labelled

if TYPE_CHECKING:
    from firth_trainer.pipeline import TrainConfig


def check_pretrained(params: SupervisedParams) -> None:
    """--pretrained names a readable model of the run's dimension (before any corpus is read)."""
    if params.pretrained is None:
        return
    dim = read_meta(params.pretrained)["dim"]
    if dim != params.dim:
        raise ConfigurationError(
            f"--pretrained {params.pretrained} has {dim} dimensions and this run {params.dim}: "
            f"pass --dim {dim} to start from it"
        )


def pretrained_rows(
    params: SupervisedParams, words: list[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The rows of `words` the pretrained model holds (matched by word, then by its own
    standardisation of the word), their vectors, and what meta.json records about it."""
    assert params.pretrained is not None
    artifact = load_artifact(params.pretrained)
    kv = KeyedVectors.from_artifact(artifact)
    ours, theirs = [], []
    for i, word in enumerate(words):
        row = kv.lookup(word)
        if row is not None:
            ours.append(i)
            theirs.append(row)
    vectors = np.asarray(artifact.vectors[np.asarray(theirs, dtype=np.int64)], dtype=np.float32)
    record = {
        "name": artifact.name,
        "path": str(Path(params.pretrained).resolve()),
        "sha256": artifact.sha256,
        "matched_words": len(ours),
        "words": len(words),
    }
    return np.asarray(ours, dtype=np.int64), vectors.reshape(len(ours), params.dim), record


def train_classifier(cfg: TrainConfig, started: float) -> tuple[Path, dict[str, Any]]:
    params = cfg.params
    assert isinstance(params, SupervisedParams)
    check_pretrained(params)
    note(f"reading {cfg.corpus} ...", cfg.quiet)
    data = read_labelled(
        cfg.corpus,
        cfg.vocab.standardize,
        cfg.vocab.min_count,
        cfg.vocab.max_vocab,
        params.word_ngrams,
        params.bucket,
    )
    n_words = len(data.words)
    if len(data.labels) < 2:
        raise InputFormatError(
            f"{cfg.corpus}: every example has the label {data.labels[0]!r}; a classifier needs two or more labels"
        )
    note(
        f"{data.n_examples:,} examples, {len(data.labels)} labels, {data.stats.tokens:,} tokens; "
        f"vocabulary {n_words:,} words with min-count {cfg.vocab.min_count}",
        cfg.quiet,
    )
    require_memory(
        supervised_memory(n_words, len(data.labels), params),
        f"{n_words:,} words + {params.buckets:,} buckets x {params.dim:,} dimensions (supervised)",
        "; lower --dim or --bucket, or prune the vocabulary with --min-count or --max-vocab",
    )
    start_rows = None
    pretrained: dict[str, Any] | None = None
    if params.pretrained is not None:
        rows, vectors, pretrained = pretrained_rows(params, data.words)
        start_rows = (rows, vectors)
        note(
            f"{pretrained['matched_words']:,} of {n_words:,} words start from {pretrained['name']}", cfg.quiet
        )
    result = train_supervised(data, params, start_rows, quiet=cfg.quiet)
    resolved = params.resolved()
    algorithm = {"name": "supervised", **asdict(resolved)}
    del algorithm["algorithm"]
    algorithm.update(min_count=cfg.vocab.min_count, max_vocab=cfg.vocab.max_vocab)
    meta: dict[str, Any] = {
        "source": "firth train",
        "algorithm": algorithm,
        "classifier": {
            "labels": data.labels,
            "label_counts": data.label_counts.tolist(),
            "label_prefix": LABEL_PREFIX,
            "loss": resolved.loss,
            "word_ngrams": resolved.word_ngrams,
            "bucket": resolved.buckets,
            "hash": HASH_NAME,
            "end_of_line": EOS,
            "examples": data.n_examples,
        },
        "corpus": {**data.stats.as_meta(), "vocab_size": n_words, "vocab_tokens": int(data.counts.sum())},
        "training": {**result.as_meta(data.stats.tokens, resolved.epochs), "total_seconds": None},
    }
    if pretrained is not None:
        meta["pretrained"] = pretrained
    from firth_trainer.pipeline import _versions

    meta["training"]["versions"] = _versions()
    extras = {OUTPUT_FILE: result.output}
    if resolved.buckets:
        extras[WORD_NGRAMS_FILE] = bucket_matrix(result, data, resolved)
    if cfg.evaluate:  # the word rows are embeddings: score them as any model's
        from firth_core.evaluation import evaluate_all

        note("evaluating ...", cfg.quiet)
        kv = KeyedVectors(data.words, result.input_rows[:n_words], data.counts, cfg.vocab.standardize)
        meta["evaluation"] = evaluate_all(kv)
    meta["training"]["total_seconds"] = round(time.perf_counter() - started, 3)
    path = write_artifact(
        cfg.out,
        data.words,
        result.input_rows[:n_words],
        name=cfg.name,
        standardize=cfg.vocab.standardize,
        counts=data.counts,
        meta=meta,
        overwrite=cfg.overwrite,
        extras=extras,
    )
    return path, meta
