"""GloVe kernel: AdaGrad on the weighted least-squares loss (glove.c's glove_thread). Pure numba.

Parameters live in one matrix W of shape (2 * n_words, dim + 1): rows 0..n-1 are word vectors,
rows n..2n-1 context vectors, and the last column is the bias. For a record (i, j, X_ij):

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
    upd1: np.ndarray,
    upd2: np.ndarray,
) -> float:
    """Fit one record (row = word row, col = context row of W). Returns its loss before the
    update, or NaN when the record was skipped as non-finite."""
    dim = W.shape[1] - 1
    diff = np.float32(0.0)
    for d in range(dim):
        diff += W[row, d] * W[col, d]
    diff = diff + W[row, dim] + W[col, dim] - math.log(x)
    fdiff = diff if x > x_max else math.pow(x / x_max, alpha) * diff
    if not (math.isfinite(diff) and math.isfinite(fdiff)):
        return math.nan
    loss = 0.5 * fdiff * diff
    fd = np.float32(fdiff)
    eta32 = np.float32(eta)
    clip32 = np.float32(clip)
    s1 = np.float32(0.0)
    s2 = np.float32(0.0)
    for d in range(dim):
        t1 = min(max(fd * W[col, d], -clip32), clip32) * eta32
        t2 = min(max(fd * W[row, d], -clip32), clip32) * eta32
        upd1[d] = t1 / math.sqrt(gradsq[row, d])
        upd2[d] = t2 / math.sqrt(gradsq[col, d])
        gradsq[row, d] += t1 * t1
        gradsq[col, d] += t2 * t2
        s1 += upd1[d]
        s2 += upd2[d]
    if math.isfinite(s1) and math.isfinite(s2):
        for d in range(dim):
            W[row, d] -= upd1[d]
            W[col, d] -= upd2[d]
    b1 = fd / math.sqrt(gradsq[row, dim])
    b2 = fd / math.sqrt(gradsq[col, dim])
    if math.isfinite(b1) and math.isfinite(b2):
        W[row, dim] -= b1
        W[col, dim] -= b2
    gradsq[row, dim] += fd * fd
    gradsq[col, dim] += fd * fd
    return loss


@numba.njit(nogil=True, fastmath=_FAST, cache=True)
def fit_chunk(
    W: np.ndarray,
    gradsq: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    start: int,
    end: int,
    n_words: int,
    x_max: float,
    alpha: float,
    eta: float,
    clip: float,
) -> tuple:
    """One pass over records[start:end]; returns (summed loss, records skipped as non-finite)."""
    dim = W.shape[1] - 1
    upd1 = np.empty(dim, dtype=np.float32)
    upd2 = np.empty(dim, dtype=np.float32)
    total = 0.0
    skipped = 0
    for k in range(start, end):
        loss = glove_step(W, gradsq, rows[k], cols[k] + n_words, vals[k], x_max, alpha, eta, clip, upd1, upd2)
        if math.isnan(loss):
            skipped += 1
        else:
            total += loss
    return total, skipped
