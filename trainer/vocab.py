"""Vocabulary: counting, min_count / max_vocab pruning, frequency sort, and the two sampling
tables word2vec needs (frequent-word subsampling and the unigram^0.75 negative distribution).

The token stream from trainer/corpus.py carries provisional ids (order of first appearance).
`build_vocab` counts them, keeps words seen at least `min_count` times (at most `max_vocab` of
the most frequent), sorts by descending count (ties keep first appearance, as gensim does) and
rewrites the stream with final ids, dropping pruned words and empty sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numba
import numpy as np

from firth_core.errors import ConfigurationError, InputFormatError
from firth_core.standardize import STANDARDIZERS
from firth_trainer.corpus import SENTENCE_END, EncodedCorpus
from firth_trainer.workfiles import work_memmap

NEGATIVE_POWER = 0.75  # word2vec's exponent on unigram counts for the negative-sampling distribution
_CHUNK = 1 << 24  # stream entries processed at a time (64 MB of int32)
DEFAULT_STANDARDIZE = "lower_and_strip_punctuation"  # as Keras' TextVectorization; the service does the same


@dataclass(frozen=True)
class VocabParams:
    """How the corpus becomes a vocabulary, the same for every algorithm. The field defaults are
    the table of defaults; each field's metadata is the help line of its `firth train` flag."""

    family: ClassVar[str] = "vocabulary"
    standardize: str = field(
        default=DEFAULT_STANDARDIZE,
        metadata={
            "help": "how words are normalised; the service applies the same to queries",
            "choices": tuple(STANDARDIZERS),
        },
    )
    # word2vec.c's and gensim's default: rarer words get poor vectors and cost time
    min_count: int = field(
        default=5, metadata={"help": "drop words seen fewer times (supervised: 1, as fastText)"}
    )
    max_vocab: int | None = field(
        default=None, metadata={"help": "keep at most this many most frequent words (default: no limit)"}
    )

    def check(self) -> None:
        if self.standardize not in STANDARDIZERS:
            raise ConfigurationError(
                f"standardize must be one of {sorted(STANDARDIZERS)}, not {self.standardize!r}"
            )
        if self.min_count < 1:
            raise ConfigurationError(f"min-count must be >= 1, got {self.min_count}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise ConfigurationError(f"max-vocab must be >= 1, got {self.max_vocab}")


@dataclass
class Vocab:
    words: list[str]  # sorted by descending count
    counts: np.ndarray  # int64, aligned with words

    def __len__(self) -> int:
        return len(self.words)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


@dataclass
class TokenStream:
    """Final ids (int32) with SENTENCE_END after every non-empty sentence; in memory or mapped."""

    ids: np.ndarray
    tokens: int  # in-vocabulary tokens in the stream


@numba.njit(nogil=True, cache=True)
def _remap(src: np.ndarray, mapping: np.ndarray, out: np.ndarray, pos: int, open_sentence: bool) -> tuple:
    """Copy src to out[pos:] through mapping, dropping pruned ids (-1) and empty sentences."""
    tokens = 0
    for k in range(src.shape[0]):
        t = src[k]
        if t == SENTENCE_END:
            if open_sentence:
                out[pos] = SENTENCE_END
                pos += 1
                open_sentence = False
        else:
            m = mapping[t]
            if m >= 0:
                out[pos] = m
                pos += 1
                tokens += 1
                open_sentence = True
    return pos, open_sentence, tokens


def count_ids(corpus: EncodedCorpus) -> np.ndarray:
    counts = np.zeros(len(corpus.words), dtype=np.int64)
    ids = corpus.ids()
    for start in range(0, ids.shape[0], _CHUNK):
        block = np.asarray(ids[start : start + _CHUNK])
        block = block[block != SENTENCE_END]
        counts += np.bincount(block, minlength=counts.shape[0])
    return counts


def build_vocab(
    corpus: EncodedCorpus, min_count: int, max_vocab: int | None, out_path: Path | None = None
) -> tuple[Vocab, TokenStream]:
    """Prune, sort and remap. The stream goes to `out_path` (memory-mapped) or stays in memory."""
    counts = count_ids(corpus)
    kept = np.flatnonzero(counts >= min_count)
    if kept.size == 0:
        raise InputFormatError(
            f"the vocabulary is empty: no word occurs at least min_count={min_count} times "
            f"({len(corpus.words)} distinct words, the most frequent {int(counts.max(initial=0))} times)"
        )
    order = kept[np.argsort(-counts[kept], kind="stable")]
    if max_vocab is not None:
        order = order[:max_vocab]
    mapping = np.full(len(corpus.words), -1, dtype=np.int32)
    mapping[order] = np.arange(order.size, dtype=np.int32)
    vocab = Vocab(words=[corpus.words[i] for i in order], counts=counts[order])
    return vocab, remap_stream(corpus, mapping, out_path)


def remap_stream(corpus: EncodedCorpus, mapping: np.ndarray, out_path: Path | None = None) -> TokenStream:
    """The corpus' stream through `mapping` (provisional id -> final id, -1 to drop the word),
    without empty sentences; to `out_path` (memory-mapped) or in memory."""
    ids = corpus.ids()
    if out_path is None:
        out = np.empty(ids.shape[0], dtype=np.int32)
    else:
        out = work_memmap(out_path, np.int32, (max(ids.shape[0], 1),))
    pos, open_sentence, tokens = 0, False, 0
    for start in range(0, ids.shape[0], _CHUNK):
        pos, open_sentence, n = _remap(
            np.asarray(ids[start : start + _CHUNK]), mapping, out, pos, open_sentence
        )
        tokens += n
    return TokenStream(ids=out[:pos], tokens=tokens)


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Frequent-word subsampling, word2vec.c's formula: keep a word with probability
    (sqrt(f / (sample * total)) + 1) * (sample * total) / f, as a uint32 threshold on a random
    32-bit number (a word is kept when the number is below its threshold). sample <= 0: keep all.
    A count of 0 (a fine-tuned model's old word that the new corpus lacks) is never read."""
    if sample <= 0:
        return np.full(counts.shape[0], 1 << 32, dtype=np.uint64)
    threshold = sample * float(counts.sum())
    f = np.maximum(counts, 1).astype(np.float64)
    keep = (np.sqrt(f / threshold) + 1.0) * threshold / f
    return np.minimum(np.floor(keep * 2.0**32), 2.0**32).astype(np.uint64)


def alias_table(counts: np.ndarray, power: float = NEGATIVE_POWER) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for sampling word i with probability counts[i]**power / sum.

    O(1) a draw with two small arrays (cache-friendly, unlike word2vec.c's 1e8-entry table):
    pick a column j uniformly; keep j when a 32-bit random number is below thresh[j], else
    take alias[j]. Returns (thresh as uint64 in [0, 2**32], alias as int32)."""
    weights = counts.astype(np.float64) ** power
    n = weights.shape[0]
    prob = weights * n / weights.sum()
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if prob[i] < 1.0]
    large = [i for i in range(n) if prob[i] >= 1.0]
    while small and large:
        s = small.pop()
        g = large[-1]
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        if prob[g] < 1.0:
            large.pop()
            small.append(g)
    for i in small + large:  # numerical leftovers are full columns
        prob[i] = 1.0
    thresh = np.minimum(np.floor(prob * 2.0**32), 2.0**32).astype(np.uint64)
    return thresh, alias
