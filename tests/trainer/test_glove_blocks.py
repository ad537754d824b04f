"""GloVe's blocks: every record kept in its shuffled order, and the blocks fitted at once share
no row of W and no cache line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firth_trainer.glove import init_parameters
from firth_trainer.glove_blocks import ROW_RUN, context_row0, group_into_blocks, groups_for, stratum_blocks
from firth_trainer.glove_cooccur import Records


def random_records(n_words: int, n: int, seed: int = 0) -> Records:
    rng = np.random.default_rng(seed)
    rows = (rng.zipf(1.5, n) % n_words).astype(np.int32)  # frequent words: low ids, as in a vocabulary
    cols = (rng.zipf(1.5, n) % n_words).astype(np.int32)
    return Records(rows, cols, rng.random(n, dtype=np.float32))


def block_of(rows: np.ndarray, cols: np.ndarray, n_words: int, groups: int) -> np.ndarray:
    return ((rows // ROW_RUN) % groups) * groups + ((context_row0(n_words) + cols) // ROW_RUN) % groups


def test_blocks_keep_every_record_in_its_shuffled_order(tmp_path: Path) -> None:
    n_words, groups = 3001, 8
    records = random_records(n_words, 50_000)
    out, starts = group_into_blocks(records, n_words, tmp_path, groups)
    assert starts[0] == 0 and starts[-1] == len(records) and np.all(np.diff(starts) >= 0)
    key = block_of(records.rows, records.cols, n_words, groups)
    for b in range(groups * groups):
        s, e = starts[b], starts[b + 1]
        for got, given in ((out.rows, records.rows), (out.cols, records.cols), (out.vals, records.vals)):
            np.testing.assert_array_equal(got[s:e], given[key == b])


def test_memory_mapped_records_are_grouped_into_files(tmp_path: Path) -> None:
    n_words, groups = 2000, 4
    given = random_records(n_words, 20_000, seed=1)
    mapped = Records(*(np.memmap(tmp_path / name, dtype=a.dtype, mode="w+", shape=a.shape) for name, a in (
        ("r", given.rows), ("c", given.cols), ("v", given.vals))))  # fmt: skip
    for dst, src in ((mapped.rows, given.rows), (mapped.cols, given.cols), (mapped.vals, given.vals)):
        dst[:] = src
    from_files, starts = group_into_blocks(mapped, n_words, tmp_path, groups)
    in_memory, same_starts = group_into_blocks(given, n_words, tmp_path, groups)
    assert isinstance(from_files.rows, np.memmap) and (tmp_path / "blocks.rows").exists()
    np.testing.assert_array_equal(starts, same_starts)
    for a, b in (
        (from_files.rows, in_memory.rows),
        (from_files.cols, in_memory.cols),
        (from_files.vals, in_memory.vals),
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dim", [4, 100])
def test_blocks_fitted_at_once_share_no_row_and_no_cache_line(tmp_path: Path, dim: int) -> None:
    n_words, groups = 3001, 8  # not a whole number of runs: the context rows start after a gap
    W, gradsq = init_parameters(n_words, dim, seed=1)
    assert W.ctypes.data % 64 == 0 and gradsq.ctypes.data % 64 == 0 and W.flags.c_contiguous
    given = random_records(n_words, 50_000)
    # The last word row beside the first context row: in two blocks of stratum 1 unless padded.
    given = Records(*(np.append(a, b).astype(a.dtype) for a, b in (
        (given.rows, [n_words - 1, 40]), (given.cols, [10, 0]), (given.vals, [1.0, 1.0]))))  # fmt: skip
    records, starts = group_into_blocks(given, n_words, tmp_path, groups)
    row_bytes = (dim + 1) * 4
    col_row0 = context_row0(n_words)
    assert W.shape[0] == col_row0 + n_words

    def lines(block: int) -> set[int]:
        s, e = starts[block], starts[block + 1]
        touched = np.concatenate([records.rows[s:e], col_row0 + records.cols[s:e]]).astype(np.int64)
        first, last = touched * row_bytes // 64, ((touched + 1) * row_bytes - 1) // 64
        return {int(x) for f, la in zip(first, last, strict=True) for x in range(f, la + 1)}

    seen: list[int] = []
    for stratum in range(groups):
        blocks = stratum_blocks(stratum, groups)
        seen += blocks
        touched = [lines(b) for b in blocks]
        assert sum(len(t) for t in touched) == len(set().union(*touched)), f"stratum {stratum} shares a line"
    assert sorted(seen) == list(range(groups * groups))  # every block once an iteration


def test_small_vocabularies_get_fewer_groups() -> None:
    # Every group keeps at least 8 runs of 16 rows; a 64-word corpus is fitted as one block.
    assert [groups_for(n) for n in (64, 255, 256, 511, 512, 1023, 1024, 400_000)] == [1, 1, 2, 2, 4, 4, 8, 8]


def test_a_consumed_stage_leaves_no_files_behind(tmp_path: Path) -> None:
    given = random_records(100, 1000)
    mapped = Records(*(np.memmap(tmp_path / name, dtype=a.dtype, mode="w+", shape=a.shape) for name, a in (
        ("r", given.rows), ("c", given.cols), ("v", given.vals))))  # fmt: skip
    mapped.rows[:] = given.rows
    mapped.discard_files()
    assert list(tmp_path.iterdir()) == []  # a spilled corpus keeps one copy on disk, not three
    np.testing.assert_array_equal(mapped.rows, given.rows)  # still readable until dropped
    Records(given.rows, given.cols, given.vals).discard_files()  # in memory: nothing to remove
