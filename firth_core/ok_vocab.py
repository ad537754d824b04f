"""gensim's `ok_vocab` for an evaluation, built once per model instead of once per call.

gensim keys the first `restrict_vocab` words (upper-cased when case-insensitive, the most
frequent spelling winning) and compares words by those keys. Here each row's canonical row (the
first row with the same key) and the distinct keys' first rows are built once per model and case
mode, for the largest restrict_vocab asked so far; a smaller one is a prefix of it: a key is among
the first N words iff its first row is < N, and a row's canonical row is never after it. So one
entry per model serves every restrict_vocab, and a reloaded model (a new KeyedVectors) starts
afresh. The entry is arrays only (about 16 bytes a word): a key is found by its hash, then checked
against the word itself, so the upper-cased strings need not stay in memory (a dict of 300,000 of
them would hold ~37 MB in every worker).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from firth_core.keyed_vectors import KeyedVectors


def _key(word: str, case_insensitive: bool) -> str:
    return word.upper() if case_insensitive else word


@dataclass(frozen=True)
class VocabKeys:
    """The keys of `words[:covered]`: each row's canonical row, and each distinct key's first
    row, found through the keys' hashes (sorted)."""

    words: Sequence[str]
    case_insensitive: bool
    canonical: np.ndarray  # (covered,) int64: the first row with the same key
    hashes: np.ndarray  # (distinct keys,) int64, sorted
    first_rows: np.ndarray  # (distinct keys,) int64: the first row of the key with that hash

    @property
    def covered(self) -> int:
        return int(self.canonical.shape[0])

    def find(self, keys: Sequence[str]) -> np.ndarray:
        """Each key's first row, -1 for a key no word of the covered rows has."""
        wanted = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        starts = np.searchsorted(self.hashes, wanted, side="left")
        stops = np.searchsorted(self.hashes, wanted, side="right")
        found = np.full(len(keys), -1, dtype=np.int64)
        for i in np.flatnonzero(stops > starts):  # a hash matches: check the word (collisions)
            for row in self.first_rows[starts[i] : stops[i]]:
                if _key(self.words[int(row)], self.case_insensitive) == keys[int(i)]:
                    found[i] = row
                    break
        return found


def vocab_keys(words: Sequence[str], case_insensitive: bool) -> VocabKeys:
    """The keys of `words`, the first (most frequent) spelling of each key winning."""
    keys = [_key(word, case_insensitive) for word in words]
    # later items overwrite earlier ones: fed in reverse, the first row of each key wins
    first_row = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    canonical = np.fromiter(map(first_row.__getitem__, keys), dtype=np.int64, count=len(keys))
    hashes = np.fromiter(map(hash, first_row), dtype=np.int64, count=len(first_row))
    first_rows = np.fromiter(first_row.values(), dtype=np.int64, count=len(first_row))
    order = np.argsort(hashes, kind="stable")
    arrays = canonical, hashes[order], first_rows[order]
    for array in arrays:
        array.setflags(write=False)
    return VocabKeys(words, case_insensitive, *arrays)


@dataclass(frozen=True)
class OkVocab:
    """gensim's ok_vocab for one restrict_vocab: `keys` seen through the first `size` rows."""

    keys: VocabKeys
    size: int  # rows the evaluation may use: len(words[:restrict_vocab])

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        """The first row (the most frequent spelling) of each key, -1 outside the first `size` rows."""
        found = self.keys.find(keys)
        return np.where(found < self.size, found, -1)

    def row(self, key: str) -> int | None:
        row = int(self.rows([key])[0])
        return row if row >= 0 else None

    @property
    def canonical(self) -> np.ndarray:
        """Each of the first `size` rows' canonical row: two rows share one iff their keys match."""
        return self.keys.canonical[: self.size]


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[KeyedVectors, dict[bool, VocabKeys]] = weakref.WeakKeyDictionary()


def ok_vocab(kv: KeyedVectors, restrict_vocab: int, case_insensitive: bool) -> OkVocab:
    """gensim's ok_vocab for `kv`, from the model's cached keys (built or widened when needed)."""
    size = len(range(len(kv))[:restrict_vocab])  # as the slice words[:restrict_vocab] counts
    with _lock:
        cached = _cache.get(kv, {}).get(case_insensitive)
    if cached is None or cached.covered < size:
        cached = vocab_keys(kv.words[:size], case_insensitive)
        with _lock:
            per_mode = _cache.setdefault(kv, {})
            known = per_mode.get(case_insensitive)
            if known is None or known.covered < cached.covered:
                per_mode[case_insensitive] = cached
    return OkVocab(cached, size)
