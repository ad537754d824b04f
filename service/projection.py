"""Project a small matrix (at most a few hundred word vectors) to 2 or 3 dimensions.

Pure numerics, no I/O: PCA by one SVD of the centred matrix (exact, deterministic up to a sign
that is fixed here), and t-SNE through openTSNE.

Why openTSNE rather than scikit-learn's TSNE: scikit-learn gives a 3-D embedding a Student-t
kernel with n_components - 1 = 2 degrees of freedom, which on two well-separated clusters of 30
points merged them (centroid distance 0.8x the cluster radius, against 17x with openTSNE's 1 degree
of freedom in any dimension). openTSNE also lets the seed govern the whole run (with PCA
initialisation scikit-learn ignores it) and follows current practice by default (PCA
initialisation, learning rate n/12). Its FFT gradients are for 10^5 points; at MAX_POINTS the
exact-neighbour Barnes-Hut path answers in about a second.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from firth_core.cancellation import checkpoint
from firth_core.errors import InvalidQuery

Projection = Literal["pca", "tsne"]
MAX_POINTS = 500  # points one projection may hold: t-SNE on 500 points takes about a second
_SINGLE_THREADED_BLAS = threading.Lock()
MIN_TSNE_POINTS = 4  # the smallest set with a perplexity of at least 1
DEFAULT_PERPLEXITY = 30.0  # openTSNE's and the original paper's default


@dataclass(frozen=True)
class Projected:
    coords: np.ndarray  # (n, dimensions) float64
    explained_variance: list[float] | None  # PCA: fraction of variance per component
    perplexity: float | None  # t-SNE: the perplexity used


def pca(matrix: np.ndarray, dimensions: int) -> Projected:
    """Principal components by SVD. Each axis's sign is fixed so that its largest loading is
    positive (scikit-learn's svd_flip convention), so the same words always give the same picture.
    Fewer points or features than `dimensions` leave the missing axes at 0."""
    x = np.asarray(matrix, dtype=np.float64)
    n = x.shape[0]
    coords = np.zeros((n, dimensions))
    if n == 0:
        return Projected(coords, [0.0] * dimensions, None)
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    u, vt = u * signs, vt * signs[:, None]
    m = min(dimensions, s.shape[0])
    coords[:, :m] = u[:, :m] * s[:m]
    total = float(np.sum(s**2))
    ratios = [float(v) / total if total > 0 else 0.0 for v in (s[:m] ** 2)]
    return Projected(coords, ratios + [0.0] * (dimensions - m), None)


def max_perplexity(n: int) -> float:
    """openTSNE needs 3 * perplexity <= n - 1 (each point's neighbourhood is 3 * perplexity wide)."""
    return (n - 1) / 3


def default_perplexity(n: int) -> float:
    """30, lowered for small sets to the largest the points allow."""
    return min(DEFAULT_PERPLEXITY, max_perplexity(n))


def _stop_when_cancelled(iteration: int, error: float, embedding: np.ndarray) -> bool:
    checkpoint()  # raises Cancelled out of openTSNE's optimiser
    return False


def tsne(matrix: np.ndarray, dimensions: int, seed: int, perplexity: float | None = None) -> Projected:
    """t-SNE on the rows (openTSNE's defaults: PCA initialisation, 250 + 500 iterations),
    deterministic for a seed: one thread, because parallel sums add in a different order on a
    different number of cores, and Barnes-Hut, because the FFT method is for 2-D only."""
    from openTSNE import TSNE  # imported on first use: keeps service start-up fast
    from threadpoolctl import threadpool_limits

    n = matrix.shape[0]
    if n < MIN_TSNE_POINTS:
        raise InvalidQuery(f"t-SNE needs at least {MIN_TSNE_POINTS} points, got {n}; use projection 'pca'")
    used = default_perplexity(n) if perplexity is None else perplexity
    if used > max_perplexity(n):
        raise InvalidQuery(
            f"perplexity must be at most (points - 1) / 3 = {max_perplexity(n):g} for {n} points, got {used:g}"
        )
    model = TSNE(
        n_components=dimensions,
        perplexity=used,
        initialization="pca",
        negative_gradient_method="bh",
        neighbors="exact",
        n_jobs=1,
        random_state=seed,
        callbacks=_stop_when_cancelled,  # a cancelled request stops within 10 iterations
        callbacks_every_iters=10,
        verbose=False,
    )
    # threadpool_limits is process-wide and restores what it saw on entry: overlapping requests
    # must not interleave, or a BLAS pool would stay at one thread for good.
    with _SINGLE_THREADED_BLAS, threadpool_limits(limits=1):
        coords = model.fit(np.asarray(matrix, dtype=np.float64))
    return Projected(np.asarray(coords, dtype=np.float64), None, used)


def project(
    matrix: np.ndarray, projection: Projection, dimensions: int, seed: int, perplexity: float | None = None
) -> Projected:
    if matrix.shape[0] > MAX_POINTS:
        raise InvalidQuery(f"at most {MAX_POINTS} points can be projected, got {matrix.shape[0]}")
    if projection == "pca":
        return pca(matrix, dimensions)
    return tsne(matrix, dimensions, seed, perplexity)
