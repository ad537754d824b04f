"""fastText's character n-grams: which bucket rows make up a word (Bojanowski et al. 2017).

A subword model keeps two matrices: one row per vocabulary word and `bucket` rows shared by
all character n-grams, an n-gram's row being its hash modulo `bucket`. A word's n-grams are the
substrings of `<word>` of `minn` to `maxn` characters (never the lone `<` or `>`), taken over
the UTF-8 bytes without splitting a character, and hashed with 32-bit FNV-1a in which each
byte is first sign-extended, exactly as Facebook's `Dictionary::hash` computes it and gensim's
`ft_hash_bytes` reproduces, so our models and Facebook's interoperate.

- an out-of-vocabulary word's vector is the mean of its n-gram rows (`get_word_vector`);
- a vocabulary word's full vector is the mean of its own row and its n-gram rows.

`ngram_buckets` is the readable reference for one word; `vocabulary_buckets` does the same for
a whole vocabulary in a numba kernel (millions of words at import) and agrees with it.
Pure numeric code: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
HASH_NAME = "fasttext-fnv1a32"  # recorded in meta.json so a reader knows how buckets were chosen
_UINT32 = 0xFFFFFFFF


@dataclass(frozen=True)
class SubwordSpec:
    """The n-gram lengths and the number of bucket rows; `maxn == 0` means no subwords."""

    minn: int = 3
    maxn: int = 6
    bucket: int = 2_000_000

    @property
    def enabled(self) -> bool:
        return self.maxn > 0 and self.bucket > 0

    def to_meta(self) -> dict[str, Any]:
        return {"minn": self.minn, "maxn": self.maxn, "bucket": self.bucket, "hash": HASH_NAME}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> SubwordSpec:
        if meta.get("hash", HASH_NAME) != HASH_NAME:
            raise ValueError(f"unsupported subword hash {meta.get('hash')!r} (expected {HASH_NAME!r})")
        return cls(minn=int(meta["minn"]), maxn=int(meta["maxn"]), bucket=int(meta["bucket"]))

    def problem(self) -> str | None:
        """Why this spec is unusable, or None."""
        if self.minn < 1 or self.maxn < 0:
            return f"--minn must be >= 1 and --maxn >= 0 (got {self.minn} and {self.maxn})"
        if self.maxn > 0 and self.minn > self.maxn:
            return f"--minn {self.minn} is greater than --maxn {self.maxn}"
        if self.maxn > 0 and self.bucket <= 0:
            return f"--bucket must be > 0 when --maxn is {self.maxn} (got {self.bucket})"
        return None


def ft_hash(data: bytes) -> int:
    """fastText's hash of one n-gram's UTF-8 bytes (FNV-1a over sign-extended bytes)."""
    h = FNV_OFFSET
    for byte in data:
        signed = byte - 256 if byte >= 0x80 else byte
        h = ((h ^ (signed & _UINT32)) * FNV_PRIME) & _UINT32
    return h


def char_ngrams(word: str, minn: int, maxn: int) -> list[bytes]:
    """The n-grams of `<word>`, in fastText's order (by start, then by length)."""
    data = f"<{word}>".encode()
    ngrams: list[bytes] = []
    for start in range(len(data)):
        if data[start] & 0xC0 == 0x80:  # a continuation byte: not the start of a character
            continue
        end, length = start, 1
        while end < len(data) and length <= maxn:
            end += 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
            if length >= minn and not (length == 1 and (start == 0 or end == len(data))):
                ngrams.append(data[start:end])
            length += 1
    return ngrams


def ngram_buckets(word: str, spec: SubwordSpec) -> np.ndarray:
    """The bucket rows (int64) of one word's n-grams, repeats kept (they count twice)."""
    if not spec.enabled:
        return np.empty(0, dtype=np.int64)
    grams = char_ngrams(word, spec.minn, spec.maxn)
    return np.array([ft_hash(g) % spec.bucket for g in grams], dtype=np.int64)


def vocabulary_buckets(words: Sequence[str], spec: SubwordSpec) -> tuple[np.ndarray, np.ndarray]:
    """Every word's bucket rows as CSR: word i's rows are `rows[offsets[i]:offsets[i + 1]]`.

    `offsets` is int64 of length len(words) + 1, `rows` int32 (bucket < 2**31).
    """
    if not spec.enabled:
        return np.zeros(len(words) + 1, dtype=np.int64), np.empty(0, dtype=np.int32)
    encoded = [f"<{w}>".encode() for w in words]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    counts = np.zeros(len(encoded), dtype=np.int64)
    _count_ngrams(data, starts, spec.minn, spec.maxn, counts)
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.empty(int(offsets[-1]), dtype=np.int32)
    _fill_ngram_rows(data, starts, spec.minn, spec.maxn, spec.bucket, offsets, rows)
    return offsets, rows


def oov_vector(ngram_rows: np.ndarray, word: str, spec: SubwordSpec) -> np.ndarray | None:
    """fastText's vector for a word outside the vocabulary, or None when it has no n-gram."""
    buckets = ngram_buckets(word, spec)
    if buckets.size == 0:
        return None
    total = ngram_rows[buckets].astype(np.float32).sum(axis=0, dtype=np.float32)
    return (total / np.float32(buckets.size)).astype(np.float32)


def oov_vectors(
    ngram_rows: np.ndarray, words: Sequence[str], spec: SubwordSpec
) -> tuple[np.ndarray, np.ndarray]:
    """`oov_vector` for many words at once (the numba kernel finds the buckets): an (n, d) float32
    matrix and a boolean mask of the words that have an n-gram (the others' rows are zero)."""
    offsets, rows = vocabulary_buckets(words, spec)
    out = np.zeros((len(words), ngram_rows.shape[1]), dtype=np.float32)
    counts = np.diff(offsets)
    for i in np.flatnonzero(counts):
        buckets = rows[offsets[i] : offsets[i + 1]]
        total = ngram_rows[buckets].astype(np.float32).sum(axis=0, dtype=np.float32)
        out[i] = total / np.float32(counts[i])
    return out, counts > 0


def compose_word_vectors(
    word_rows: np.ndarray, ngram_rows: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Full vectors of the vocabulary: (own row + its n-gram rows) / (1 + their number)."""
    out = np.empty(word_rows.shape, dtype=np.float32)
    _compose(word_rows, ngram_rows, offsets, rows, out)
    return out


@njit(nogil=True, cache=True)
def _ngram_ends(data: np.ndarray, lo: int, hi: int, start: int, maxn: int, ends: np.ndarray) -> int:
    """Fill `ends[length - 1]` with the end of the n-gram of each length from `start`."""
    end = start
    length = 1
    while end < hi and length <= maxn:
        end += 1
        while end < hi and (data[end] & 0xC0) == 0x80:
            end += 1
        ends[length - 1] = end
        length += 1
    return length - 1


@njit(nogil=True, cache=True)
def _count_ngrams(data: np.ndarray, starts: np.ndarray, minn: int, maxn: int, counts: np.ndarray) -> None:
    ends = np.empty(maxn, dtype=np.int64)
    for w in range(starts.shape[0] - 1):
        lo, hi = starts[w], starts[w + 1]
        n = 0
        for start in range(lo, hi):
            if (data[start] & 0xC0) == 0x80:
                continue
            made = _ngram_ends(data, lo, hi, start, maxn, ends)
            for length in range(minn, made + 1):
                if not (length == 1 and (start == lo or ends[length - 1] == hi)):
                    n += 1
        counts[w] = n


@njit(nogil=True, cache=True)
def _fill_ngram_rows(
    data: np.ndarray,
    starts: np.ndarray,
    minn: int,
    maxn: int,
    bucket: int,
    offsets: np.ndarray,
    rows: np.ndarray,
) -> None:
    ends = np.empty(maxn, dtype=np.int64)
    for w in range(starts.shape[0] - 1):
        lo, hi = starts[w], starts[w + 1]
        at = offsets[w]
        for start in range(lo, hi):
            if (data[start] & 0xC0) == 0x80:
                continue
            made = _ngram_ends(data, lo, hi, start, maxn, ends)
            for length in range(minn, made + 1):
                end = ends[length - 1]
                if length == 1 and (start == lo or end == hi):
                    continue
                h = np.uint32(2166136261)
                for i in range(start, end):
                    byte = np.int64(data[i])
                    signed = byte - 256 if byte >= 0x80 else byte
                    h = np.uint32(
                        (np.uint64(h ^ np.uint32(signed & 0xFFFFFFFF)) * np.uint64(16777619)) & 0xFFFFFFFF
                    )
                rows[at] = np.int32(np.int64(h) % bucket)
                at += 1


@njit(nogil=True, cache=True)
def _compose(
    word_rows: np.ndarray, ngram_rows: np.ndarray, offsets: np.ndarray, rows: np.ndarray, out: np.ndarray
) -> None:
    dim = word_rows.shape[1]
    for w in range(word_rows.shape[0]):
        for j in range(dim):
            out[w, j] = word_rows[w, j]
        lo, hi = offsets[w], offsets[w + 1]
        for r in range(lo, hi):
            row = rows[r]
            for j in range(dim):
                out[w, j] += ngram_rows[row, j]
        count = np.float32(1 + hi - lo)
        for j in range(dim):
            out[w, j] /= count
