"""GloVe: the AdaGrad kernel against finite differences; counting with spills against a brute-force
count; the bounded-memory shuffle keeps every record."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from pathlib import Path

import numba
import numpy as np
import pytest

from firth_trainer.glove_cooccur import count_cooccurrences, shuffle_records
from firth_trainer.glove_kernels import _inv_sqrt_rows, glove_step


def glove_loss(W: np.ndarray, row: int, col: int, x: float, x_max: float, alpha: float) -> float:
    dim = W.shape[1] - 1
    w = W.astype(np.float64)
    diff = w[row, :dim] @ w[col, :dim] + w[row, dim] + w[col, dim] - math.log(x)
    f = 1.0 if x > x_max else (x / x_max) ** alpha
    return 0.5 * f * diff * diff


@pytest.mark.parametrize("x", [3.5, 250.0])  # below and above x_max
def test_glove_step_is_minus_eta_times_gradient(x: float) -> None:
    rng = np.random.default_rng(7)
    W64 = rng.normal(0, 0.4, (6, 5))  # 3 words: rows 0-2 words, 3-5 contexts; 4 dims + bias
    row, col, x_max, alpha, eta = 1, 5, 100.0, 0.75, 0.05
    W = W64.astype(np.float32)
    gradsq = np.ones_like(W)  # AdaGrad's first step is plain SGD
    before = glove_loss(W, row, col, x, x_max, alpha)
    numeric = np.zeros_like(W64)
    eps = 1e-4
    for r in (row, col):
        for d in range(W.shape[1]):
            old = W64[r, d]
            W64[r, d] = old + eps
            up = glove_loss(W64, row, col, x, x_max, alpha)
            W64[r, d] = old - eps
            down = glove_loss(W64, row, col, x, x_max, alpha)
            W64[r, d] = old
            numeric[r, d] = (up - down) / (2 * eps)
    new = W.copy()
    reported = glove_step(new, gradsq, row, col, x, x_max, alpha, eta, 100.0)
    assert reported == pytest.approx(before, rel=1e-4)
    # Vectors step by eta * gradient, biases (last column) by the gradient (glove.c).
    step = np.full(W.shape[1], eta)
    step[-1] = 1.0
    np.testing.assert_allclose((new - W) / -step, numeric, rtol=2e-3, atol=1e-5)
    # AdaGrad accumulated (step * gradient)^2 on the touched coordinates only.
    np.testing.assert_allclose(gradsq - 1, (step * numeric) ** 2, rtol=5e-3, atol=1e-6)  # float32 sums near 1


@numba.njit(nogil=True)
def _raise_sums(gradsq: np.ndarray, rounds: int) -> None:
    """Another Hogwild thread: the AdaGrad sums of row 0 jump between 1 and 10,000."""
    for k in range(rounds):
        value = np.float32(1.0) if k % 2 == 0 else np.float32(10000.0)
        for d in range(gradsq.shape[1]):
            gradsq[0, d] = value


@numba.njit(nogil=True)
def _count_wrong_inverse_roots(gradsq: np.ndarray, rounds: int) -> int:
    buf = np.empty((4, gradsq.shape[1]), dtype=np.float32)
    wrong = 0
    for _ in range(rounds):
        _inv_sqrt_rows(gradsq, 0, 1, buf, buf.view(np.int32))
        for d in range(gradsq.shape[1]):
            y = buf[0, d]
            if abs(y - 1.0) > 1e-5 and abs(y - 0.01) > 1e-7:  # 1/sqrt of one of the two values
                wrong += 1
    return wrong


def test_inverse_root_of_a_sum_another_thread_is_raising_is_the_root_of_one_value() -> None:
    # A first guess from one read of the sum refined against a second, larger read diverged: a
    # bias's sum can grow a hundredfold in one update, and the step then threw the fit out.
    gradsq = np.ones((2, 101), dtype=np.float32)
    _raise_sums(gradsq, 10)
    _count_wrong_inverse_roots(gradsq, 10)  # compiled before the race starts
    writer = threading.Thread(target=_raise_sums, args=(gradsq, 20_000_000))
    writer.start()
    wrong = _count_wrong_inverse_roots(gradsq, 2_000_000)
    writer.join()
    assert wrong == 0


def test_glove_step_skips_non_finite_records() -> None:
    W = np.full((4, 3), 1e30, dtype=np.float32)
    gradsq = np.ones_like(W)
    new = W.copy()
    loss = glove_step(new, gradsq, 0, 2, 5.0, 100.0, 0.75, 0.05, 100.0)
    assert math.isnan(loss)
    assert np.array_equal(new, W)


def brute_force_counts(sentences: list[list[int]], window: int) -> dict[tuple[int, int], float]:
    counts: dict[tuple[int, int], float] = defaultdict(float)
    for s in sentences:
        for i in range(len(s)):
            for j in range(max(0, i - window), i):
                counts[(s[j], s[i])] += 1.0 / (i - j)
                counts[(s[i], s[j])] += 1.0 / (i - j)
    return counts


def _stream(sentences: list[list[int]]) -> np.ndarray:
    out: list[int] = []
    for s in sentences:
        out.extend(s)
        out.append(-1)
    return np.array(out, dtype=np.int32)


@pytest.mark.parametrize(("memory", "buffer_records"), [(1 << 20, None), (2_000, 64)])
def test_cooccurrence_counts_with_and_without_spills(
    tmp_path: Path, memory: int, buffer_records: int | None
) -> None:
    rng = np.random.default_rng(11)
    n_words = 300
    # Zipf-like ids so both the dense table (frequent pairs) and the spill path (rare pairs) are used.
    sentences = [
        list(np.minimum(rng.zipf(1.3, size=rng.integers(1, 30)) - 1, n_words - 1)) for _ in range(400)
    ]
    records, stats = count_cooccurrences(_stream(sentences), n_words, 4, memory, tmp_path, buffer_records)
    if buffer_records is not None:
        assert stats.spills > 3
    keys = np.asarray(records.rows).astype(np.int64) * n_words + np.asarray(records.cols)
    assert np.all(np.diff(keys) > 0)  # sorted, each pair once
    got = {
        (int(r), int(c)): float(v) for r, c, v in zip(records.rows, records.cols, records.vals, strict=True)
    }
    expected = brute_force_counts(sentences, 4)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5)


def test_bounded_shuffle_keeps_every_record(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    rows = np.memmap(tmp_path / "r", dtype=np.int32, mode="w+", shape=(n,))
    cols = np.memmap(tmp_path / "c", dtype=np.int32, mode="w+", shape=(n,))
    vals = np.memmap(tmp_path / "v", dtype=np.float32, mode="w+", shape=(n,))
    rows[:] = np.arange(n)
    cols[:] = rng.integers(0, 1000, n)
    vals[:] = rows[:] * 0.5
    from firth_trainer.glove_cooccur import Records

    expected_cols = np.array(cols)
    out = shuffle_records(Records(rows, cols, vals), 24 * 35_000, seed=3, work=tmp_path)  # 3 blocks
    order = np.argsort(np.asarray(out.rows))
    np.testing.assert_array_equal(np.asarray(out.rows)[order], np.arange(n))  # each record once
    np.testing.assert_array_equal(np.asarray(out.cols)[order], expected_cols)  # fields stay together
    np.testing.assert_array_equal(np.asarray(out.vals), np.asarray(out.rows) * 0.5)
    assert np.mean(np.abs(np.diff(np.asarray(out.rows).astype(np.int64)))) > n / 10  # actually mixed
