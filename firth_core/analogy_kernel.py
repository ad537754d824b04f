"""Numba kernel for batched 3CosAdd top-k over a frequency-ordered vocabulary.

For analogy a:b :: c:?, 3CosAdd ranks word w by cos(w, b) + cos(w, c) - cos(w, a) (the unit
query's norm does not change the order). An evaluation set uses few distinct words (~900 in
questions-words), so instead of one 50-wide dot product per (question, word) we compute
S = W_unit @ U_unique.T once (a small GEMM) and each question's score is the sum of three
columns of S. The kernel streams S in tiles that fit in cache and keeps a running top-k per
question, skipping blocks whose maximum cannot enter it. Pure numeric code: no I/O.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from firth_core.cancellation import checkpoint

_BLOCK = 32  # elements scanned with a vectorised max before any scalar insertion work


@njit(nogil=True, parallel=True, fastmath=True, cache=True)
def analogy_topk_tile(
    tile: np.ndarray,  # (n_unique, T) float32: cosines of the tile's words with each unique word
    a: np.ndarray,  # (nq,) int64 rows of `tile` for the negative word
    b: np.ndarray,  # (nq,) int64 rows for the first positive word
    c: np.ndarray,  # (nq,) int64 rows for the second positive word
    offset: int,  # vocabulary id of the tile's first column
    top_scores: np.ndarray,  # (nq, k) float32 running top-k, updated in place
    top_ids: np.ndarray,  # (nq, k) int64, updated in place
) -> None:
    nq = a.shape[0]
    width = tile.shape[1]
    k = top_scores.shape[1]
    for q in prange(nq):
        scores = top_scores[q]
        ids = top_ids[q]
        worst = 0
        for i in range(1, k):
            if scores[i] < scores[worst]:
                worst = i
        threshold = scores[worst]
        row_a = tile[a[q]]
        row_b = tile[b[q]]
        row_c = tile[c[q]]
        for start in range(0, width, _BLOCK):
            stop = min(start + _BLOCK, width)
            block_max = np.float32(-np.inf)
            for j in range(start, stop):
                block_max = max(block_max, row_b[j] + row_c[j] - row_a[j])
            if block_max <= threshold:
                continue
            for j in range(start, stop):
                s = row_b[j] + row_c[j] - row_a[j]
                if s > threshold:
                    scores[worst] = s
                    ids[worst] = offset + j
                    worst = 0
                    for i in range(1, k):
                        if scores[i] < scores[worst]:
                            worst = i
                    threshold = scores[worst]


def analogy_candidates(
    unit: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    k: int,
    tile_width: int = 4096,
    tile_bytes: int = 64 * 1024 * 1024,
) -> np.ndarray:
    """Ids of the k best 3CosAdd candidates (unordered) for each question over all rows of `unit`.

    `a`, `b`, `c` are row ids into `unit`. Inputs are not excluded here; callers over-fetch.
    A tile holds at most `tile_bytes` (many distinct words narrow it); the work can be cancelled
    between tiles (firth_core.cancellation).
    """
    unique, inverse = np.unique(np.concatenate([a, b, c]), return_inverse=True)
    tile_width = max(64, min(tile_width, tile_bytes // (4 * max(1, unique.shape[0]))))
    nq = a.shape[0]
    ia, ib, ic = (inverse[i * nq : (i + 1) * nq].astype(np.int64) for i in range(3))
    anchors = np.ascontiguousarray(unit[unique])  # (n_unique, d)
    top_scores = np.full((nq, k), -np.inf, dtype=np.float32)
    top_ids = np.full((nq, k), -1, dtype=np.int64)
    full = np.empty((anchors.shape[0], tile_width), dtype=np.result_type(anchors, unit))
    for start in range(0, unit.shape[0], tile_width):
        checkpoint()
        block = unit[start : start + tile_width]
        # one buffer for every full tile: no 10+ MB allocated, faulted in and freed per tile
        tile = (
            full if block.shape[0] == tile_width else np.empty((anchors.shape[0], block.shape[0]), full.dtype)
        )
        np.dot(anchors, block.T, out=tile)
        analogy_topk_tile(tile, ia, ib, ic, start, top_scores, top_ids)
    return top_ids
