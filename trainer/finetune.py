"""Fine-tuning: `firth train --init-from MODEL [--lock-old]` continues a model on a new corpus.

- The parent is any word-embedding model directory (trained or imported), loaded and verified
  (every checksum) before the corpus is read; a classifier or a damaged model is refused.
- The dimension and the standardisation are the parent's: a conflicting --dim or --standardize
  is refused, and left out they are taken from the parent. The parent's `window`, `negative`
  and `sample` (the shape of the objective) are inherited when it recorded them as a word2vec
  model and the flag is left out; the run's own settings (epochs, alpha, threads, seed ...)
  take the algorithm's defaults as always.
- The vocabulary is the union: the parent's words in the parent's order, then the new corpus'
  other words seen at least --min-count times (at most --max-vocab of them), most frequent
  first. Counts are merged as gensim's `build_vocab(update=True)` does: parent's + new corpus';
  a parent without counts gives a model without counts (the new corpus alone would misstate the
  frequencies of the old words), and negatives are then drawn by the new corpus' counts.
- Old words start from their vectors; new words from the trainer's own random start. The
  output layer starts from the parent's `output.npy` when it has one, else at zero, as in a
  fresh run (with a warning: the first updates then mostly relearn it).
- --lock-old gives the parent's rows a lock factor of 0 (gensim's `vectors_lockf`): their
  input vectors never move; they still train the output layer, as in gensim.

Subword models (`--algorithm fasttext`) continue a subword parent only: its minn, maxn and bucket
are inherited (a conflicting flag is refused), and so are its --model, window, negative and
sample when left out. The parent stores each word's full vector (own row and n-gram rows
averaged), so each old word's own row is recovered as full * (1 + n) - sum(n-gram rows), in
float64 as export does (firth_core/fasttext_rows.py); composed again it gives back the full
vector to float32 rounding. The n-gram rows and output rows start as the parent's, bit for bit.
With --lock-old the factor 0 (gensim's `vectors_vocab_lockf` and `vectors_ngrams_lockf`) goes to
the old words' own rows and to every n-gram row an old word uses, so no old word's vector moves;
new words train their own rows and the n-gram rows no old word has. A word-only parent is
refused for fasttext (it has no n-gram rows to start from) and a subword parent for sgns/cbow
(its n-gram rows would be dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from firth_core.artifact import Artifact, load_artifact
from firth_core.errors import ArtifactError, ConfigurationError, InputFormatError
from firth_core.fasttext_rows import recover_own_rows
from firth_core.subwords import SubwordSpec, vocabulary_buckets
from firth_trainer.corpus import EncodedCorpus
from firth_trainer.fasttext import FastTextParams, SubwordStart
from firth_trainer.vocab import TokenStream, Vocab, VocabParams, count_ids, remap_stream
from firth_trainer.word2vec import WORD2VEC_DEFAULTS, WarmStart, init_vectors

logger = logging.getLogger(__name__)

# The algorithm families `--init-from` continues, and the algorithm names a classifier has.
FINE_TUNABLE = (*WORD2VEC_DEFAULTS, "fasttext")
FINE_TUNABLE_TEXT = f"{', '.join(FINE_TUNABLE[:-1])} and {FINE_TUNABLE[-1]}"
SUBWORD_ALGORITHMS = ("fasttext",)
CLASSIFIER_ALGORITHMS = ("supervised",)
# Hyperparameters that shape the objective: left out, a parent's values are kept when it was
# trained by the same family (word2vec: sgns/cbow; fasttext, which also records --model).
INHERITED = ("window", "negative", "sample")
INHERITED_FASTTEXT = ("model", *INHERITED)
# A subword parent's n-gram scheme: always the parent's.
SUBWORD_FIELDS = ("minn", "maxn", "bucket")


@dataclass(frozen=True)
class Parent:
    """The model a run starts from, loaded and checked, and how to start from it."""

    artifact: Artifact
    lock_old: bool = False
    inherited: dict[str, Any] = field(default_factory=dict)  # hyperparameters taken from it

    @property
    def dim(self) -> int:
        return int(self.artifact.vectors.shape[1])

    def as_meta(self, new_words: int) -> dict[str, Any]:
        """meta.json's `init_from`: which model this one continues, and how."""
        return {
            "name": self.artifact.name,
            "sha256": self.artifact.sha256,
            "path": str(self.artifact.path.resolve()),
            "words": len(self.artifact.words),
            "new_words": new_words,
            "lock_old": self.lock_old,
            "output_layer": "parent" if self.artifact.output is not None else "zero",
            "inherited": self.inherited,
        }


def algorithm_name(meta: dict[str, Any]) -> str | None:
    """The producing algorithm's name: meta's `algorithm` is a trainer's record or a bare name."""
    algorithm = meta.get("algorithm")
    if isinstance(algorithm, dict):
        name = algorithm.get("name")
        return name if isinstance(name, str) else None
    return algorithm if isinstance(algorithm, str) else None


def load_parent(path: str | Path) -> Artifact:
    """The parent model, verified; one clear error for a missing, damaged or unusable one."""
    try:
        artifact = load_artifact(path)
    except ArtifactError as exc:
        raise ArtifactError(f"--init-from {exc}") from None
    name = algorithm_name(artifact.meta)
    if name in CLASSIFIER_ALGORITHMS:
        raise ConfigurationError(
            f"--init-from {path}: a classifier (algorithm {name!r}), not a word-embedding model; "
            "fine-tuning continues a skip-gram, CBOW or imported model"
        )
    output = artifact.output
    if output is not None and output.shape[0] != len(artifact.words):
        raise ArtifactError(
            f"--init-from {path}: output.npy has {output.shape[0]} rows for {len(artifact.words)} words"
        )
    return artifact


def prepare(
    path: str | Path,
    params: Any,
    vocab: VocabParams,
    given: set[str] | frozenset[str],
    lock_old: bool = False,
) -> tuple[Any, VocabParams, Parent]:
    """Load the parent and settle the run's parameters against it: (params, vocab, parent).
    `given` names the flags the user set (the others may come from the parent)."""
    if params.algorithm not in FINE_TUNABLE:
        raise ConfigurationError(f"--init-from applies to {FINE_TUNABLE_TEXT}, not {params.algorithm}")
    artifact = load_parent(path)
    subword_fields: dict[str, int] = {}
    if isinstance(params, FastTextParams):
        subword_fields = _parent_subwords(path, artifact.subwords, params, given)
    elif artifact.subwords is not None:
        raise ConfigurationError(
            f"--init-from {path}: a subword model (its n-gram rows would be dropped); "
            f"{params.algorithm} continues word-only models (use --algorithm fasttext)"
        )
    std = artifact.standardize
    if "standardize" in given and vocab.standardize != std:
        raise ConfigurationError(
            f"--standardize {vocab.standardize} differs from {path}'s {std}: a fine-tuned model reads "
            "words as its parent does (leave --standardize out to use the parent's)"
        )
    dim = int(artifact.vectors.shape[1])
    if "dim" in given and params.dim != dim:
        raise ConfigurationError(
            f"--dim {params.dim} differs from {path}'s dimension {dim}: the dimension comes from "
            "the parent (leave --dim out)"
        )
    inherited: dict[str, Any] = {}
    recorded = artifact.meta.get("algorithm")
    family = SUBWORD_ALGORITHMS if isinstance(params, FastTextParams) else tuple(WORD2VEC_DEFAULTS)
    names = INHERITED_FASTTEXT if isinstance(params, FastTextParams) else INHERITED
    if isinstance(recorded, dict) and recorded.get("name") in family:
        for name in names:
            value = recorded.get(name)
            if name in given:
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                inherited[name] = type(getattr(params, name))(value)
            elif name == "model" and value in ("skipgram", "cbow"):
                inherited[name] = value
    params = replace(params, dim=dim, **inherited, **subword_fields)
    inherited.update({k: v for k, v in subword_fields.items() if k not in given})
    return params, replace(vocab, standardize=std), Parent(artifact, lock_old, inherited)


def _parent_subwords(
    path: str | Path, spec: SubwordSpec | None, params: FastTextParams, given: set[str] | frozenset[str]
) -> dict[str, int]:
    """The parent's minn, maxn and bucket for a fasttext run; a word-only parent or a
    conflicting flag is refused."""
    if spec is None:
        raise ConfigurationError(
            f"--init-from {path}: a word-only model (no n-gram rows to start from); fasttext "
            "continues subword models (use --algorithm sgns or cbow)"
        )
    fields = {name: int(getattr(spec, name)) for name in SUBWORD_FIELDS}
    for name, value in fields.items():
        if name in given and getattr(params, name) != value:
            raise ConfigurationError(
                f"--{name} {getattr(params, name)} differs from {path}'s {value}: a fine-tuned subword "
                f"model keeps its parent's n-grams (leave --{name} out)"
            )
    return fields


@dataclass
class MergedVocab:
    vocab: Vocab  # parent's words then the new ones; counts merged (parent's + new corpus')
    stream: TokenStream
    stream_counts: np.ndarray  # int64, the new corpus' counts alone, aligned with vocab.words
    new_words: int
    counts_known: bool  # False when the parent recorded no counts: the model is written without


def merge_vocab(
    corpus: EncodedCorpus,
    parent: Artifact,
    min_count: int,
    max_vocab: int | None,
    out_path: Path | None = None,
) -> MergedVocab:
    """The union vocabulary and the new corpus' stream in its ids (see the module's docstring)."""
    counts = count_ids(corpus)  # by provisional id
    n_parent = len(parent.words)
    row = {word: i for i, word in enumerate(parent.words)}
    mapping = np.fromiter((row.get(w, -1) for w in corpus.words), dtype=np.int32, count=len(corpus.words))
    fresh = np.flatnonzero((mapping < 0) & (counts >= min_count))
    order = fresh[np.argsort(-counts[fresh], kind="stable")]  # ties: first appearance, as build_vocab
    if max_vocab is not None:
        order = order[:max_vocab]
    mapping[order] = np.arange(n_parent, n_parent + order.size, dtype=np.int32)
    words = [*parent.words, *(corpus.words[i] for i in order)]
    kept = mapping >= 0
    stream_counts = np.zeros(len(words), dtype=np.int64)
    stream_counts[mapping[kept]] = counts[kept]
    stream = remap_stream(corpus, mapping, out_path)
    if stream.tokens == 0:
        raise InputFormatError(
            f"nothing to train: no word of the corpus is in the parent's vocabulary or occurs at "
            f"least min_count={min_count} times"
        )
    known = parent.counts is not None
    merged = stream_counts.copy()
    if parent.counts is not None:
        merged[:n_parent] += parent.counts
    return MergedVocab(Vocab(words, merged), stream, stream_counts, int(order.size), known)


def warm_start(parent: Parent, merged: MergedVocab, seed: int) -> WarmStart:
    """The parent's rows, then the trainer's own fresh start for the new words; lock factors."""
    n, n_parent, dim = len(merged.vocab), len(parent.artifact.words), parent.dim
    w_in, w_out = init_vectors(n, dim, seed)
    w_in[:n_parent] = parent.artifact.vectors
    _copy_parent_output(parent, w_out)
    return WarmStart(w_in, w_out, _word_locks(parent, merged), merged.stream_counts)


def _copy_parent_output(parent: Parent, w_out: np.ndarray) -> None:
    """The parent's output rows into w_out's first rows; without them they start at zero."""
    output = parent.artifact.output
    if output is not None:
        w_out[: len(parent.artifact.words)] = output
    else:
        logger.warning(
            "%s has no output layer (output.npy): it starts at zero, as in a fresh run, so the "
            "first updates mostly relearn it",
            parent.artifact.path,
        )


def _word_locks(parent: Parent, merged: MergedVocab) -> np.ndarray:
    """Each word row's lock factor: 1, or with --lock-old 0 for the parent's words (refused when
    the corpus adds no new word, as nothing would train)."""
    locks = np.ones(len(merged.vocab), dtype=np.float32)
    if parent.lock_old:
        if merged.new_words == 0:
            raise ConfigurationError(
                "--lock-old keeps every row of the parent fixed, and the corpus adds no new word "
                "(see --min-count): nothing would train"
            )
        locks[: len(parent.artifact.words)] = 0.0
    return locks


def subword_warm_start(parent: Parent, merged: MergedVocab, params: FastTextParams) -> SubwordStart:
    """A fasttext run's start from a subword parent: its words' own rows (recovered from the full
    vectors), n-gram rows and output rows, then fresh rows for the new words; lock factors."""
    artifact = parent.artifact
    spec, ngrams = artifact.subwords, artifact.ngrams
    assert spec is not None and ngrams is not None  # prepare() refused a word-only parent
    n, n_parent = len(merged.vocab), len(artifact.words)
    w_words, w_out = init_vectors(n, parent.dim, params.seed)  # a fresh run's word rows
    w_ngrams = np.array(ngrams, dtype=np.float32)  # a writable copy of the memory map
    offsets, buckets = vocabulary_buckets(artifact.words, spec)  # the trainer's n-gram lists
    w_words[:n_parent] = recover_own_rows(artifact.vectors, w_ngrams, offsets, buckets)
    _copy_parent_output(parent, w_out)
    lock_words = _word_locks(parent, merged)
    lock_ngrams = np.ones(spec.bucket, dtype=np.float32)
    if parent.lock_old:
        lock_ngrams[buckets] = 0.0  # every n-gram row an old word uses: its vector stays put
    return SubwordStart(w_words, w_ngrams, w_out, lock_words, lock_ngrams, merged.stream_counts)
