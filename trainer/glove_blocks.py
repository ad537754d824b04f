"""Conflict-free parallel GloVe fitting: the records grouped into blocks that share no row.

Hogwild threads that write the same rows of W at once fight over their cache lines; on the
2-core benchmark machine that made some iterations 2.4x slower than the rest, at random (and
slower than one thread). Stratified SGD (Gemulla et al. 2011, "DSGD"; libmf does the same)
instead splits the rows of W into GROUPS groups and the records into GROUPS x GROUPS blocks by
the groups of their word row and context row. The blocks (a, (a + s) mod GROUPS) of a stratum s
share no row, so threads fit them at once without touching each other's memory; every
iteration fits every record once, each stratum in ROUNDS steps.

A group is every GROUPS-th run of ROW_RUN consecutive rows: ids are frequency ranks, so each
group holds frequent and rare words alike. With W 64-byte aligned and the context rows starting
on a run (context_row0), no cache line holds rows of two groups. As a block is fitted by one
thread and the blocks of a stratum are disjoint, the vectors do not depend on the number of
threads or on their timing: a seed gives the same model bit for bit on 1 thread or 8.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from firth_trainer.glove_cooccur import Records
from firth_trainer.workfiles import work_memmap

GROUPS = 8  # 64 blocks; up to 8 threads fit at once, and 8 blocks a stratum balance 2 threads well
ROW_RUN = 16  # rows: 16 * (dim + 1) float32 values fill a whole number of 64-byte cache lines
MIN_RUNS = 8  # runs a group needs to stand for the whole vocabulary (see groups_for)
# An iteration fits every stratum ROUNDS times, an eighth of each block a time. Fitting each
# stratum whole fed every word its contexts in 8 long runs, one context group at a time: on the
# benchmark corpus that cost 0.014 of WS353 rho against racing threads (7 seeds); with 8 rounds
# the scores were the racing threads' (seeds 4-7) and the fit stayed twice as fast.
ROUNDS = 8
CACHE_LINE = 64


def context_row0(n_words: int) -> int:
    """The row of W holding the first context vector: the word rows rounded up to whole runs, so
    the last word rows and the first context rows never share a run (nor a cache line)."""
    return -(-n_words // ROW_RUN) * ROW_RUN


def groups_for(n_words: int) -> int:
    """GROUPS, halved until every group holds MIN_RUNS runs of word rows. A block of few words is
    no sample of the whole: on a 64-word corpus 8 groups more than doubled GloVe's final loss,
    while on 1,000 words (8 runs a group) the loss was the same as without blocks."""
    groups = GROUPS
    while groups > 1 and n_words < ROW_RUN * MIN_RUNS * groups:
        groups //= 2
    return groups


@numba.njit(inline="always")
def _block(row: int, col: int, col_row0: int, groups: int) -> int:
    """Block of a record: (group of W row `row`, group of W row col_row0 + col)."""
    return ((row // ROW_RUN) % groups) * groups + ((col_row0 + col) // ROW_RUN) % groups


@numba.njit(cache=True)
def _count_blocks(rows: np.ndarray, cols: np.ndarray, col_row0: int, groups: int) -> np.ndarray:
    counts = np.zeros(groups * groups, dtype=np.int64)
    for k in range(rows.shape[0]):
        counts[_block(rows[k], cols[k], col_row0, groups)] += 1
    return counts


@numba.njit(cache=True)
def _scatter(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    col_row0: int,
    groups: int,
    starts: np.ndarray,
    out_rows: np.ndarray,
    out_cols: np.ndarray,
    out_vals: np.ndarray,
) -> None:
    """Stable counting sort by block: each block keeps the records' (shuffled) order."""
    fill = starts[:-1].copy()
    for k in range(rows.shape[0]):
        b = _block(rows[k], cols[k], col_row0, groups)
        at = fill[b]
        out_rows[at] = rows[k]
        out_cols[at] = cols[k]
        out_vals[at] = vals[k]
        fill[b] = at + 1


def group_into_blocks(records: Records, n_words: int, work: Path, groups: int) -> tuple[Records, np.ndarray]:
    """The records sorted by block, and the groups * groups + 1 block starts. Memory-mapped from
    files in `work` when the records came from files (spilled), in memory otherwise."""
    col_row0 = context_row0(n_words)
    counts = _count_blocks(records.rows, records.cols, col_row0, groups)
    starts = np.zeros(groups * groups + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    n = len(records)
    if isinstance(records.rows, np.memmap):
        out = Records(
            work_memmap(work / "blocks.rows", np.int32, (n,)),
            work_memmap(work / "blocks.cols", np.int32, (n,)),
            work_memmap(work / "blocks.vals", np.float32, (n,)),
        )
    else:
        out = Records(np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32))
    _scatter(records.rows, records.cols, records.vals, col_row0, groups, starts, out.rows, out.cols, out.vals)
    return out, starts


def stratum_blocks(stratum: int, groups: int) -> list[int]:
    """The blocks of a stratum: word group a with context group (a + stratum) mod groups."""
    return [a * groups + (a + stratum) % groups for a in range(groups)]


def strata_order(round_: int, seed: int, groups: int) -> np.ndarray:
    """The order round `round_` (counted over all iterations) fits the strata in: in turn in the
    very first round, then a permutation seeded by (seed, round)."""
    if round_ == 0:
        return np.arange(groups)
    return np.random.default_rng((seed, round_)).permutation(groups)


def aligned_empty(shape: tuple[int, int], dtype: type = np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array whose first byte starts a cache line."""
    itemsize = np.dtype(dtype).itemsize
    size = shape[0] * shape[1]
    buf: np.ndarray = np.empty(size + CACHE_LINE // itemsize, dtype=dtype)
    skip = (-buf.ctypes.data % CACHE_LINE) // itemsize
    return buf[skip : skip + size].reshape(shape)
