"""GloVe kernel: AdaGrad on the weighted least-squares loss (glove.c's glove_thread). Pure numba.

Parameters live in one matrix W with dim + 1 columns: word vectors in rows 0..n-1, context
vectors from row `col_row0` on (n, or n rounded up; see trainer/glove_blocks.py), and the last
column is the bias. For a record (i, j, X_ij):

    diff = w_i . c_j + b_i + b'_j - log X_ij
    loss = 1/2 f(X_ij) diff^2,   f(x) = min(1, (x / x_max)^alpha)

Every vector coordinate moves by eta * g / sqrt(G), where G starts at 1 and accumulates
(eta * g)^2; each bias moves by g / sqrt(G_b), G_b accumulating g^2 (current glove.c: the biases
take AdaGrad's step without eta, and the reference scores were measured that way). As in glove.c: a record whose diff is NaN or Inf is skipped and counted,
vector gradients are clipped to +-clip before the learning rate, and a vector update holding NaN
or Inf is not applied.

fastmath here omits the no-NaN / no-Inf assumptions so those guards are not optimised away.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


_MAGIC = np.int32(0x5F375A86)  # the inverse-square-root bit trick's first guess (Lomont 2003)


@numba.njit(inline="always")
def _inv_sqrt_rows(gradsq: np.ndarray, row: int, col: int, buf: np.ndarray, buf_bits: np.ndarray) -> None:
    """buf[0] = 1 / sqrt(gradsq[row]), buf[1] = 1 / sqrt(gradsq[col]), to float32 precision.

    numba lowers sqrt to a libm call that LLVM will not vectorise; the bit trick plus three Newton
    steps is plain arithmetic, so these loops run on full SIMD registers (relative error ~1e-7).
    gradsq >= 1 always (AdaGrad's sums start at 1), so the trick's input is a normal float.

    Each sum is read once, into buf[2:4]. trainer/glove.py keeps threads off each other's rows,
    but a caller that lets threads race (Hogwild, as glove.c does) must not get a first guess
    taken from one value refined by Newton steps against a larger one (a bias sum can grow a
    hundredfold in one step): the root lands far off or below zero, and the fit with it."""
    width = gradsq.shape[1]
    for d in range(width):
        buf[2, d] = gradsq[row, d]
        buf[3, d] = gradsq[col, d]
    for d in range(width):
        buf_bits[0, d] = _MAGIC - (buf_bits[2, d] >> 1)
        buf_bits[1, d] = _MAGIC - (buf_bits[3, d] >> 1)
    half = np.float32(0.5)
    three_halves = np.float32(1.5)
    for d in range(width):
        h1 = half * buf[2, d]
        h2 = half * buf[3, d]
        y1 = buf[0, d]
        y2 = buf[1, d]
        y1 = y1 * (three_halves - h1 * y1 * y1)
        y2 = y2 * (three_halves - h2 * y2 * y2)
        y1 = y1 * (three_halves - h1 * y1 * y1)
        y2 = y2 * (three_halves - h2 * y2 * y2)
        y1 = y1 * (three_halves - h1 * y1 * y1)
        y2 = y2 * (three_halves - h2 * y2 * y2)
        buf[0, d] = y1
        buf[1, d] = y2


@numba.njit(inline="always")
def _update(
    W: np.ndarray,
    gradsq: np.ndarray,
    row: int,
    col: int,
    log_x: float,
    weight: float,
    eta: float,
    clip: float,
    upd: np.ndarray,
    inv: np.ndarray,
    inv_bits: np.ndarray,
) -> float:
    """One record with its log count and weight f(X) precomputed; see glove_step."""
    dim = W.shape[1] - 1
    diff = np.float32(0.0)
    for d in range(dim):
        diff += W[row, d] * W[col, d]
    diff = diff + W[row, dim] + W[col, dim] - log_x
    fdiff = weight * diff
    if not (math.isfinite(diff) and math.isfinite(fdiff)):
        return math.nan
    loss = 0.5 * fdiff * diff
    _inv_sqrt_rows(gradsq, row, col, inv, inv_bits)
    fd = np.float32(fdiff)
    eta32 = np.float32(eta)
    clip32 = np.float32(clip)
    s1 = np.float32(0.0)
    s2 = np.float32(0.0)
    for d in range(dim):
        t1 = min(max(fd * W[col, d], -clip32), clip32) * eta32
        t2 = min(max(fd * W[row, d], -clip32), clip32) * eta32
        u1 = t1 * inv[0, d]
        u2 = t2 * inv[1, d]
        upd[0, d] = u1
        upd[1, d] = u2
        gradsq[row, d] += t1 * t1
        gradsq[col, d] += t2 * t2
        s1 += u1
        s2 += u2
    if math.isfinite(s1) and math.isfinite(s2):
        for d in range(dim):
            W[row, d] -= upd[0, d]
            W[col, d] -= upd[1, d]
    b1 = fd * inv[0, dim]
    b2 = fd * inv[1, dim]
    if math.isfinite(b1) and math.isfinite(b2):
        W[row, dim] -= b1
        W[col, dim] -= b2
    gradsq[row, dim] += fd * fd
    gradsq[col, dim] += fd * fd
    return loss


@numba.njit(nogil=True, fastmath=_FAST, cache=True)
def glove_step(
    W: np.ndarray,
    gradsq: np.ndarray,
    row: int,
    col: int,
    x: float,
    x_max: float,
    alpha: float,
    eta: float,
    clip: float,
) -> float:
    """Fit one record (row = word row, col = context row of W, x = its co-occurrence value).
    Returns its loss before the update, or NaN when the record was skipped as non-finite."""
    width = W.shape[1]
    upd = np.empty((2, width), dtype=np.float32)
    inv = np.empty((4, width), dtype=np.float32)  # rows 2-3: the sums as read
    weight = 1.0 if x > x_max else math.pow(x / x_max, alpha)
    return _update(
        W,
        gradsq,
        row,
        col,
        math.log(x),
        weight,
        eta,
        clip,
        upd,
        inv,
        inv.view(np.int32),
    )


@numba.njit(nogil=True, fastmath=_FAST, cache=True)
def fit_chunk(
    W: np.ndarray,
    gradsq: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    log_x: np.ndarray,
    weight: np.ndarray,
    start: int,
    end: int,
    col_row0: int,
    eta: float,
    clip: float,
) -> tuple:
    """One pass over records[start:end], context j in row col_row0 + j (log X and f(X) precomputed
    once for all iterations);
    returns (summed loss, records skipped as non-finite)."""
    width = W.shape[1]
    upd = np.empty((2, width), dtype=np.float32)
    inv = np.empty((4, width), dtype=np.float32)  # rows 2-3: the sums as read
    inv_bits = inv.view(np.int32)
    total = 0.0
    skipped = 0
    for k in range(start, end):
        loss = _update(
            W,
            gradsq,
            rows[k],
            cols[k] + col_row0,
            log_x[k],
            weight[k],
            eta,
            clip,
            upd,
            inv,
            inv_bits,
        )
        if math.isnan(loss):
            skipped += 1
        else:
            total += loss
    return total, skipped


def record_terms(vals: np.ndarray, x_max: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """log X and the weight f(X) = min(1, (X / x_max)^alpha) of every record, as float32."""
    x = np.asarray(vals, dtype=np.float64)
    with np.errstate(over="ignore"):  # a huge alpha: (X / x_max)^alpha overflows to Inf, weight 1
        return np.log(x).astype(np.float32), np.minimum(1.0, (x / x_max) ** alpha).astype(np.float32)
