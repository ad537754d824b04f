"""Sentence vectors from word vectors: the mean rule of gensim's KeyedVectors.get_mean_vector.

Stand-in with the same call as the `text` branch's firth_core/pooling.py (which adds SIF): when
that branch is merged its module replaces this one; the OpenAI endpoint calls only
`sentence_vectors(kv, rows, "mean", pre_normalize=True, post_normalize=True)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from firth_core.keyed_vectors import KeyedVectors

Pooling = Literal["mean"]


def sentence_vectors(
    kv: KeyedVectors,
    rows: Sequence[np.ndarray],
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    post_normalize: bool = False,
) -> list[np.ndarray | None]:
    """One vector per text (None for a text with no known row): the mean of its (unit) word
    vectors, a repeated word counted each time, unit-normalised when post_normalize."""
    source = kv.unit if pre_normalize else np.asarray(kv.vectors, dtype=np.float32)
    out: list[np.ndarray | None] = []
    for r in rows:
        if not len(r):
            out.append(None)
            continue
        mean = source[np.asarray(r)].mean(axis=0, dtype=np.float32)
        if post_normalize:
            norm = float(np.linalg.norm(mean.astype(np.float64)))
            mean = mean / np.float32(norm) if norm > 0 else mean
        out.append(mean.astype(np.float32))
    return out
