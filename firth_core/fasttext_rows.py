"""Between a fastText model's own word rows and firth's full word vectors, a block at a time.

A `.bin` file stores each vocabulary word's own input row; a firth subword model stores its full
vector (own row and n-gram rows averaged, firth_core/subwords.py). Importing composes the full
vectors in place; exporting recovers the own rows as `full * (1 + n) - sum(n-gram rows)`,
accumulated in float64 so that composing them again gives back the full vector to float32
rounding. Both go through the vocabulary in blocks, so a 2,000,000-word model never needs more
than one block's n-gram lists in memory.

fastText gives its end-of-line token `</s>` no n-grams (Dictionary::initNgrams): its vector is
its own row. gensim computes n-grams for it like any word, so for that one word gensim's
`load_facebook_vectors` differs from Facebook's `get_word_vector`; firth follows Facebook.
Pure numeric code: no I/O.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numba import njit

from firth_core.fasttext_bin import EOS
from firth_core.subwords import SubwordSpec, compose_word_vectors, vocabulary_buckets

BLOCK_WORDS = 1 << 14


def fasttext_buckets(words: Sequence[str], spec: SubwordSpec) -> tuple[np.ndarray, np.ndarray]:
    """vocabulary_buckets as fastText assigns them: the same, except `</s>` has none."""
    offsets, rows = vocabulary_buckets(words, spec)
    for index, word in enumerate(words):
        if word == EOS:
            lo, hi = int(offsets[index]), int(offsets[index + 1])
            rows = np.delete(rows, np.s_[lo:hi])
            offsets[index + 1 :] -= hi - lo
    return offsets, rows


def blocks(count: int, size: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive blocks of `size` (default BLOCK_WORDS) covering `count` rows."""
    step = size or BLOCK_WORDS
    for start in range(0, count, step):
        yield start, min(start + step, count)


def compose_in_place(
    rows: np.ndarray, ngram_rows: np.ndarray, words: Sequence[str], spec: SubwordSpec
) -> None:
    """Turn the words' own rows (`rows`, len(words) x d, writable) into their full vectors,
    blocks in parallel on every core (the kernels release the GIL; blocks write disjoint rows)."""

    def compose(block: tuple[int, int]) -> None:
        start, stop = block
        offsets, buckets = fasttext_buckets(words[start:stop], spec)
        rows[start:stop] = compose_word_vectors(rows[start:stop], ngram_rows, offsets, buckets)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(compose, blocks(len(words))):
            pass  # re-raises a block's exception


def own_rows(full: np.ndarray, ngram_rows: np.ndarray, words: Sequence[str], spec: SubwordSpec) -> np.ndarray:
    """The own input rows (float32) that compose with `ngram_rows` into the full vectors `full`."""
    return recover_own_rows(full, ngram_rows, *fasttext_buckets(words, spec))


def recover_own_rows(
    full: np.ndarray, ngram_rows: np.ndarray, offsets: np.ndarray, buckets: np.ndarray
) -> np.ndarray:
    """own_rows for given n-gram lists (CSR offsets/buckets): firth's trainer gives `</s>` n-grams
    like any word (vocabulary_buckets), a fastText .bin does not (fasttext_buckets)."""
    out = np.empty(full.shape, dtype=np.float32)
    _recover(np.ascontiguousarray(full, dtype=np.float32), ngram_rows, offsets, buckets, out)
    return out


def own_row_blocks(
    full: np.ndarray, ngram_rows: np.ndarray, words: Sequence[str], spec: SubwordSpec
) -> Iterator[np.ndarray]:
    """own_rows of the whole vocabulary, block after block in order, computed on every core
    (at most a few blocks ahead of the consumer)."""
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[np.ndarray]] = deque()
        for start, stop in blocks(len(words)):
            pending.append(pool.submit(own_rows, full[start:stop], ngram_rows, words[start:stop], spec))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@njit(nogil=True, cache=True)
def _recover(
    full: np.ndarray, ngram_rows: np.ndarray, offsets: np.ndarray, rows: np.ndarray, out: np.ndarray
) -> None:
    dim = full.shape[1]
    acc = np.empty(dim, dtype=np.float64)
    for w in range(full.shape[0]):
        lo, hi = offsets[w], offsets[w + 1]
        scale = np.float64(1 + hi - lo)
        for j in range(dim):
            acc[j] = np.float64(full[w, j]) * scale
        for r in range(lo, hi):
            row = rows[r]
            for j in range(dim):
                acc[j] -= np.float64(ngram_rows[row, j])
        for j in range(dim):
            out[w, j] = np.float32(acc[j])
