"""A classifier's input, as fastText reads it: labels, words, the end-of-line token, word n-grams.

A line in fastText's supervised format holds its labels as `__label__NAME` tokens (usually first)
and the text. A label token is never a word; the other tokens are standardised with the model's
standardiser and split on whitespace, as every other trainer and endpoint does. fastText reads the
line break as the word `</s>` (Dictionary::EOS), so every text ends with it: its row acts as a
bias that every example shares.

With `word_ngrams` N > 1 each run of 2 ... N consecutive tokens (the `</s>` included, unknown words
included) adds the row `n_words + h % bucket`, h combining the tokens' 32-bit FNV-1a hashes exactly
as fastText's Dictionary::addWordNgrams does (each hash sign-extended from int32 to uint64, then
`h = h * 116049371 + next`, wrapping at 2**64), so the buckets equal fastText's.

Pure code, no I/O: the trainer (trainer/supervised_data.py) and the predictor
(firth_core/classifier.py) both build a text's rows here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from firth_core.subwords import FNV_OFFSET, FNV_PRIME

LABEL_PREFIX = "__label__"  # fastText's -label default
EOS = "</s>"  # fastText's Dictionary::EOS: the token a line break reads as
NGRAM_MULTIPLIER = 116049371  # fastText's addWordNgrams constant
_UINT64 = (1 << 64) - 1


def split_labels(raw: str) -> tuple[list[str], str]:
    """The label names (prefix removed, in order) and the text left once the label tokens are out."""
    if LABEL_PREFIX not in raw:  # the usual text to classify: nothing to take out
        return [], raw
    labels: list[str] = []
    words: list[str] = []
    for token in raw.split():
        if token.startswith(LABEL_PREFIX):
            labels.append(token[len(LABEL_PREFIX) :])
        else:
            words.append(token)
    return labels, " ".join(words)


@njit(nogil=True, cache=True)
def _fnv_many(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """fastText's hash of each word data[starts[i]:starts[i+1]], as int32 (its bit pattern)."""
    out = np.empty(starts.shape[0] - 1, dtype=np.int32)
    for i in range(starts.shape[0] - 1):
        h = np.uint32(FNV_OFFSET)
        for j in range(starts[i], starts[i + 1]):
            byte = np.int32(data[j])
            if byte >= 128:  # the byte as a signed char, sign-extended to 32 bits
                byte -= 256
            h = np.uint32((h ^ np.uint32(byte & 0xFFFFFFFF)) * np.uint32(FNV_PRIME))
        out[i] = np.int32(np.int64(h) - (np.int64(1) << 32) if h >= np.uint32(1 << 31) else np.int64(h))
    return out


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """fastText's Dictionary::hash of each word, as the int32 fastText keeps in its word_hashes."""
    encoded = [w.encode("utf-8") for w in words]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=starts[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
    return _fnv_many(data, starts)


@njit(nogil=True, cache=True)
def _ngram_count(n_tokens: int, n: int) -> int:
    total = 0
    for i in range(n_tokens):
        total += min(n_tokens - i, n) - 1
    return total


@njit(nogil=True, cache=True)
def ngram_rows(hashes: np.ndarray, n: int, bucket: int, n_words: int) -> np.ndarray:
    """Rows of the word n-grams (2 ... n tokens) of one text whose tokens hash to `hashes` (int32),
    in fastText's order; the rows follow the n_words word rows."""
    out = np.empty(_ngram_count(hashes.shape[0], n), dtype=np.int64)
    k = 0
    for i in range(hashes.shape[0]):
        h = np.uint64(np.int64(hashes[i]))  # int32 -> uint64 sign-extends, as in C++
        for j in range(i + 1, min(hashes.shape[0], i + n)):
            h = h * np.uint64(NGRAM_MULTIPLIER) + np.uint64(np.int64(hashes[j]))
            out[k] = n_words + np.int64(h % np.uint64(bucket))
            k += 1
    return out


def ngram_rows_reference(hashes: Sequence[int], n: int, bucket: int, n_words: int) -> list[int]:
    """addWordNgrams in plain Python integers, to check the kernel against."""
    rows = []
    for i in range(len(hashes)):
        h = hashes[i] & _UINT64
        for j in range(i + 1, min(len(hashes), i + n)):
            h = (h * NGRAM_MULTIPLIER + (hashes[j] & _UINT64)) & _UINT64
            rows.append(n_words + h % bucket)
    return rows


@njit(nogil=True, cache=True)
def mean_rows(
    vectors: np.ndarray, ngram_vectors: np.ndarray, rows: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Each text's hidden vector: the float32 mean of its rows (rows[offsets[i]:offsets[i+1]]),
    a row below len(vectors) being a word's, the others bucket rows of ngram_vectors."""
    n_words, dim = vectors.shape
    out = np.zeros((offsets.shape[0] - 1, dim), dtype=np.float32)
    for i in range(offsets.shape[0] - 1):
        for k in range(offsets[i], offsets[i + 1]):
            r = rows[k]
            if r < n_words:
                for d in range(dim):
                    out[i, d] += vectors[r, d]
            else:
                for d in range(dim):
                    out[i, d] += ngram_vectors[r - n_words, d]
        inv = np.float32(1.0 / max(offsets[i + 1] - offsets[i], 1))
        for d in range(dim):
            out[i, d] *= inv
    return out
