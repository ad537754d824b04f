"""GloVe co-occurrence counting within a memory budget, then a shuffle (glove.c's cooccur + shuffle).

Counting follows cooccur.c: a symmetric window that does not cross sentence ends, each pair
weighted by 1 / distance. Pairs of frequent words, those with (rank_a + 1) * (rank_b + 1) <=
max_product, are summed in a dense table with one row per word of length max_product / (rank + 1)
(this covers the bulk of all pairs in a few hundred MB); every other pair goes to a buffer that
is sorted, reduced and spilled to disk when full. The spilled runs and the dense table are then
merged (a k-way heap merge, summing equal pairs) into one sorted record file.

The records (row int32, column int32, value float32) are then shuffled: in memory when they fit
the budget, else as shuffle.c does it (shuffle blocks of the budget's size, then refill the
output from an equal slice of every block and shuffle again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from firth_trainer.corpus import SENTENCE_END
from firth_trainer.workfiles import work_memmap

DENSE_SHARE = 0.5  # share of the memory budget for the dense table; the rest for the spill buffer
SPILL_RECORD_BYTES = 32  # key + value, plus the sort order and gathered copies while sorting
MIN_BUFFER_RECORDS = 1 << 20  # never spill smaller runs than this (1M records) unless told to


@dataclass
class CooccurStats:
    records: int  # distinct (row, column) pairs
    spills: int  # sorted runs written to disk before the merge
    max_product: int  # dense-table bound
    seconds_counting: float = 0.0
    seconds_shuffling: float = 0.0


@dataclass
class Records:
    """Co-occurrence records on disk (memory-mapped): rows, cols int32; vals float32."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def discard_files(self) -> None:
        """Remove the files behind memory-mapped columns once a later stage holds a copy (the
        mapping stays readable until dropped), so a spilled corpus keeps one copy on disk."""
        for column in (self.rows, self.cols, self.vals):
            if isinstance(column, np.memmap) and column.filename:
                Path(column.filename).unlink(missing_ok=True)


def dense_layout(n_words: int, max_product: int) -> np.ndarray:
    """Row offsets of the dense table: row a holds columns b < min(n, max_product // (a + 1))."""
    lengths = np.minimum(n_words, max_product // np.arange(1, n_words + 1, dtype=np.int64))
    offsets = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def choose_max_product(n_words: int, dense_entries: int) -> int:
    """The largest max_product whose dense table has at most `dense_entries` cells."""
    lo, hi = 0, n_words * n_words
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(dense_layout(n_words, mid)[-1]) <= dense_entries:
            lo = mid
        else:
            hi = mid - 1
    return lo


@numba.njit(nogil=True, cache=True)
def _count(
    ids: np.ndarray,
    sent_start: int,
    i: int,
    window: int,
    dense: np.ndarray,
    offsets: np.ndarray,
    n_words: int,
    keys: np.ndarray,
    vals: np.ndarray,
) -> tuple:
    """Count from position i (its sentence began at sent_start) until the spill buffer is full or
    the stream ends; returns (sent_start, i, buffered records) to resume from."""
    n = ids.shape[0]
    cap = keys.shape[0]
    n_buf = 0
    while i < n:
        w2 = np.int64(ids[i])
        if w2 == SENTENCE_END:
            i += 1
            sent_start = i
            continue
        if n_buf + 2 * window > cap:
            return sent_start, i, n_buf
        for j in range(max(sent_start, i - window), i):
            w1 = np.int64(ids[j])
            weight = 1.0 / (i - j)
            if w2 < offsets[w1 + 1] - offsets[w1]:  # (w1 + 1) * (w2 + 1) <= max_product
                dense[offsets[w1] + w2] += weight
                dense[offsets[w2] + w1] += weight
            else:
                keys[n_buf] = w1 * n_words + w2
                vals[n_buf] = weight
                keys[n_buf + 1] = w2 * n_words + w1
                vals[n_buf + 1] = weight
                n_buf += 2
        i += 1
    return sent_start, i, n_buf


@numba.njit(nogil=True, cache=True)
def _sort_reduce(keys: np.ndarray, vals: np.ndarray, n: int) -> tuple:
    """Sort the first n buffered pairs by key and sum duplicates; returns (keys, vals) arrays."""
    order = np.argsort(keys[:n])
    out_k = np.empty(n, dtype=np.int64)
    out_v = np.empty(n, dtype=np.float32)
    m = -1
    for idx in order:
        k = keys[idx]
        if m >= 0 and out_k[m] == k:
            out_v[m] += vals[idx]
        else:
            m += 1
            out_k[m] = k
            out_v[m] = vals[idx]
    return out_k[: m + 1], out_v[: m + 1]


@numba.njit(nogil=True, cache=True)
def _dense_records(dense: np.ndarray, offsets: np.ndarray, n_words: int) -> tuple:
    """The non-zero cells of the dense table as sorted (key, value) runs."""
    nz = 0
    for i in range(dense.shape[0]):
        if dense[i] != 0.0:
            nz += 1
    out_k = np.empty(nz, dtype=np.int64)
    out_v = np.empty(nz, dtype=np.float32)
    m = 0
    for a in range(n_words):
        for b in range(offsets[a + 1] - offsets[a]):
            v = dense[offsets[a] + b]
            if v != 0.0:
                out_k[m] = np.int64(a) * n_words + b
                out_v[m] = v
                m += 1
    return out_k, out_v


@numba.njit(nogil=True, cache=True)
def _merge(
    keys: np.ndarray,
    vals: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    n_words: int,
    rows: np.ndarray,
    cols: np.ndarray,
    out_vals: np.ndarray,
) -> int:
    """k-way merge of sorted runs keys[starts[r]:ends[r]] with a binary heap, summing equal keys."""
    runs = starts.shape[0]
    heads = starts.copy()
    heap = np.empty(runs, dtype=np.int64)
    size = 0
    for r in range(runs):  # build the heap by insertion
        if heads[r] < ends[r]:
            heap[size] = r
            c = size
            size += 1
            while c > 0:
                p = (c - 1) // 2
                if keys[heads[heap[p]]] <= keys[heads[heap[c]]]:
                    break
                heap[p], heap[c] = heap[c], heap[p]
                c = p
    m = -1
    last = np.int64(-1)
    while size > 0:
        r = heap[0]
        k = keys[heads[r]]
        v = vals[heads[r]]
        if k == last:
            out_vals[m] += v
        else:
            m += 1
            rows[m] = k // n_words
            cols[m] = k % n_words
            out_vals[m] = v
            last = k
        heads[r] += 1
        if heads[r] >= ends[r]:
            size -= 1
            heap[0] = heap[size]
        c = 0  # sift down
        while True:
            left = 2 * c + 1
            if left >= size:
                break
            small = left
            right = left + 1
            if right < size and keys[heads[heap[right]]] < keys[heads[heap[left]]]:
                small = right
            if keys[heads[heap[c]]] <= keys[heads[heap[small]]]:
                break
            heap[c], heap[small] = heap[small], heap[c]
            c = small
    return m + 1


def count_cooccurrences(
    ids: np.ndarray,
    n_words: int,
    window: int,
    memory_bytes: int,
    work: Path,
    buffer_records: int | None = None,
) -> tuple[Records, CooccurStats]:
    """Count, spill and merge into sorted records memory-mapped from files in `work`.
    `buffer_records` overrides the spill-buffer size derived from the budget (tests force spills)."""
    dense_entries = max(int(memory_bytes * DENSE_SHARE) // 8, n_words)
    max_product = choose_max_product(n_words, dense_entries)
    offsets = dense_layout(n_words, max_product)
    dense = np.zeros(int(offsets[-1]), dtype=np.float64)  # float64 like cooccur.c: big sums stay exact

    cap = max(int(memory_bytes * (1 - DENSE_SHARE)) // SPILL_RECORD_BYTES, MIN_BUFFER_RECORDS)
    if buffer_records is not None:
        cap = buffer_records
    cap = max(cap, 2 * window)  # room for one word's pairs
    keys = np.empty(cap, dtype=np.int64)
    vals = np.empty(cap, dtype=np.float32)

    keys_path, vals_path = work / "spill.keys", work / "spill.vals"
    bounds = [0]
    with open(keys_path, "wb") as fk, open(vals_path, "wb") as fv:

        def spill(k: np.ndarray, v: np.ndarray) -> None:
            k.tofile(fk)
            v.tofile(fv)
            bounds.append(bounds[-1] + int(k.shape[0]))

        sent_start, pos = 0, 0
        ids = np.asarray(ids)
        while pos < ids.shape[0]:
            sent_start, pos, n_buf = _count(ids, sent_start, pos, window, dense, offsets, n_words, keys, vals)
            if n_buf:  # the buffer is full or the corpus is done: sort, reduce and write one run
                spill(*_sort_reduce(keys, vals, n_buf))
        del keys, vals
        spill(*_dense_records(dense, offsets, n_words))
        del dense
    total = bounds[-1]
    spills = len(bounds) - 2  # the dense table's run is not a spill
    starts = np.array(bounds[:-1], dtype=np.int64)
    ends = np.array(bounds[1:], dtype=np.int64)
    shape = (max(total, 1),)
    k_map = np.memmap(keys_path, dtype=np.int64, mode="r", shape=shape) if total else np.zeros(1, np.int64)
    v_map = (
        np.memmap(vals_path, dtype=np.float32, mode="r", shape=shape) if total else np.zeros(1, np.float32)
    )
    rows = work_memmap(work / "cooccur.rows", np.int32, shape)
    cols = work_memmap(work / "cooccur.cols", np.int32, shape)
    out_v = work_memmap(work / "cooccur.vals", np.float32, shape)
    n = _merge(k_map, v_map, starts, ends, n_words, rows, cols, out_v) if total else 0
    del k_map, v_map
    keys_path.unlink()
    vals_path.unlink()
    return Records(rows[:n], cols[:n], out_v[:n]), CooccurStats(n, spills, max_product)


def shuffle_records(records: Records, memory_bytes: int, seed: int, work: Path) -> Records:
    """Shuffle the records with a bounded amount of memory (glove.c's shuffle)."""
    n = len(records)
    rng = np.random.default_rng(seed)
    block = max(memory_bytes // 24, 1 << 16)  # 12 bytes a record, twice (source and permuted copy)
    if n <= block:
        perm = rng.permutation(n)
        return Records(
            np.asarray(records.rows)[perm], np.asarray(records.cols)[perm], np.asarray(records.vals)[perm]
        )
    # Stage 1: shuffle each block in place. Stage 2: fill each output block with an equal slice
    # from every block, shuffled together, into new files.
    starts = list(range(0, n, block))
    for s in starts:
        e = min(s + block, n)
        perm = rng.permutation(e - s)
        for arr in (records.rows, records.cols, records.vals):
            arr[s:e] = np.asarray(arr[s:e])[perm]
    k = len(starts)
    out = Records(
        work_memmap(work / "shuffled.rows", np.int32, (n,)),
        work_memmap(work / "shuffled.cols", np.int32, (n,)),
        work_memmap(work / "shuffled.vals", np.float32, (n,)),
    )
    step = -(-block // k)  # records taken from every block in one round
    done = 0
    for t in range(0, block, step):
        pieces = [(s + t, min(s + t + step, s + block, n)) for s in starts]
        pieces = [(a, b) for a, b in pieces if a < b]
        if not pieces:
            break
        size = sum(b - a for a, b in pieces)
        perm = rng.permutation(size)
        for src, dst in ((records.rows, out.rows), (records.cols, out.cols), (records.vals, out.vals)):
            batch = np.concatenate([np.asarray(src[a:b]) for a, b in pieces])
            dst[done : done + size] = batch[perm]
        done += size
    assert done == n
    return out
