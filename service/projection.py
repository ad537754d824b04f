"""Project a small matrix (at most a few hundred word vectors) to 2 or 3 dimensions.

Pure numerics, no I/O: PCA by one SVD of the centred matrix (exact, deterministic up to a sign
that is fixed here), and t-SNE through scikit-learn's Barnes-Hut implementation.

Why scikit-learn's t-SNE rather than openTSNE: openTSNE's advantage is FFT-accelerated gradients
for 10^5+ points, and it depends on scikit-learn anyway; the explorer projects at most
MAX_POINTS, where scikit-learn answers in about a second and is seeded by `random_state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from firth_core.errors import InvalidQuery

Projection = Literal["pca", "tsne"]
MAX_POINTS = 500  # points one projection may hold: t-SNE on 500 points takes about a second
# t-SNE iterations: scikit-learn's default is 1000; 500 settles a few hundred points and halves
# the time (250 are early exaggeration, the minimum scikit-learn accepts).
TSNE_ITERATIONS = 500
DEFAULT_PERPLEXITY = 30.0  # scikit-learn's and the original paper's default


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


def default_perplexity(n: int) -> float:
    """30, lowered for small sets so that each point's effective neighbourhood stays below n."""
    return max(1.0, min(DEFAULT_PERPLEXITY, (n - 1) / 3))


def tsne(matrix: np.ndarray, dimensions: int, seed: int, perplexity: float | None = None) -> Projected:
    """t-SNE on the rows, deterministic for a seed: PCA initialisation, and one thread, because
    parallel gradient sums add in a different order on a different core count."""
    from sklearn.manifold import TSNE  # imported on first use: keeps service start-up fast
    from threadpoolctl import threadpool_limits

    n = matrix.shape[0]
    if n < 3:
        raise InvalidQuery(f"t-SNE needs at least 3 points, got {n}; use projection 'pca'")
    used = default_perplexity(n) if perplexity is None else perplexity
    if used >= n:
        raise InvalidQuery(f"perplexity must be less than the number of points ({n}), got {used:g}")
    model = TSNE(
        n_components=dimensions,
        perplexity=used,
        init="pca",
        learning_rate="auto",
        max_iter=TSNE_ITERATIONS,
        random_state=seed,
        method="barnes_hut",
        n_jobs=1,
    )
    with threadpool_limits(limits=1):
        coords = model.fit_transform(np.asarray(matrix, dtype=np.float64))
    return Projected(np.asarray(coords, dtype=np.float64), None, used)


def project(
    matrix: np.ndarray, projection: Projection, dimensions: int, seed: int, perplexity: float | None = None
) -> Projected:
    if matrix.shape[0] > MAX_POINTS:
        raise InvalidQuery(f"at most {MAX_POINTS} points can be projected, got {matrix.shape[0]}")
    if projection == "pca":
        return pca(matrix, dimensions)
    return tsne(matrix, dimensions, seed, perplexity)
