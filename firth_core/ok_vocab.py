"""gensim's `ok_vocab` for an evaluation, built once per model instead of once per call.

gensim keys the first `restrict_vocab` words (upper-cased when case-insensitive, the most
frequent spelling winning) and compares words by those keys. Here the key -> first row map and
every row's canonical row (the first row with the same key) are built once per model and case
mode, for the largest restrict_vocab asked so far; a smaller one is a prefix of it: a key is
among the first N words iff its first row is < N, and a row's canonical row is never after it.
So one entry per model serves every restrict_vocab, and a reloaded model (a new KeyedVectors)
starts afresh.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from firth_core.keyed_vectors import KeyedVectors


@dataclass(frozen=True)
class VocabKeys:
    """The first `covered` rows' keys: each key's first row, and each row's canonical row."""

    first_row: Mapping[str, int]
    canonical: np.ndarray  # (covered,) int64, read-only

    @property
    def covered(self) -> int:
        return int(self.canonical.shape[0])


@dataclass(frozen=True)
class OkVocab:
    """gensim's ok_vocab for one restrict_vocab: `keys` seen through the first `size` rows."""

    keys: VocabKeys
    size: int  # rows the evaluation may use: len(words[:restrict_vocab])

    def row(self, key: str) -> int | None:
        """The first row (the most frequent spelling) of `key` among the first `size` rows."""
        row = self.keys.first_row.get(key)
        return row if row is not None and row < self.size else None

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        """`row` of each key as an int64 array, -1 for a key outside the first `size` rows."""
        first = self.keys.first_row
        found = np.fromiter((first.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))
        return np.where(found < self.size, found, -1)

    @property
    def canonical(self) -> np.ndarray:
        """Each of the first `size` rows' canonical row: two rows share one iff their keys match."""
        return self.keys.canonical[: self.size]


_lock = threading.Lock()
_upper_keys: weakref.WeakKeyDictionary[KeyedVectors, VocabKeys] = weakref.WeakKeyDictionary()


def upper_keys(words: Sequence[str]) -> VocabKeys:
    """Upper-cased keys of `words`, the first (most frequent) spelling of each winning."""
    keys = [word.upper() for word in words]
    # later items overwrite earlier ones: fed in reverse, the first row of each key wins
    first_row = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    canonical = np.fromiter(map(first_row.__getitem__, keys), dtype=np.int64, count=len(keys))
    canonical.setflags(write=False)
    return VocabKeys(first_row, canonical)


def ok_vocab(kv: KeyedVectors, restrict_vocab: int, case_insensitive: bool) -> OkVocab:
    """gensim's ok_vocab for `kv` (its words are unique, so case-sensitive keys are its own index)."""
    size = len(range(len(kv))[:restrict_vocab])  # as the slice words[:restrict_vocab] counts
    if not case_insensitive:
        identity = np.arange(len(kv), dtype=np.int64)
        identity.setflags(write=False)
        return OkVocab(VocabKeys(kv.key_to_index, identity), size)
    with _lock:
        cached = _upper_keys.get(kv)
    if cached is None or cached.covered < size:
        cached = upper_keys(kv.words[:size])
        with _lock:
            known = _upper_keys.get(kv)
            if known is None or known.covered < cached.covered:
                _upper_keys[kv] = cached
    return OkVocab(cached, size)
