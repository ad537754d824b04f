"""Texts: sentence vectors (mean or SIF pooling), their similarities and nearest words, and a
supervised model's labels."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from firth_client._calls import Call, call, without_none
from firth_client._neighbors import neighbors
from firth_client.results import Classification, Embeddings, Method, Neighbor, Pooling, TextOov


def _pooling_json(pooling: Pooling, pre_normalize: bool, sif_a: float, oov: TextOov) -> dict[str, Any]:
    return {"pooling": pooling, "pre_normalize": pre_normalize, "sif_a": sif_a, "oov": oov}


def _texts_json(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    return list(texts)


def _decode_row(row: Any, dim: int) -> np.ndarray:
    if row is None:
        return np.full(dim, np.nan, dtype=np.float32)
    if isinstance(row, str):
        array = np.frombuffer(base64.b64decode(row), dtype="<f4").astype(np.float32)
    else:
        array = np.asarray(row, dtype=np.float32)
    if array.shape != (dim,):
        raise ValueError(f"a vector of shape {array.shape} for dimension {dim}")
    return array


def _embeddings(r: httpx.Response) -> Embeddings:
    body = r.json()
    dim = int(body["dim"])
    rows = [_decode_row(v, dim) for v in body["vectors"]]
    return Embeddings(
        model=str(body["model"]),
        dim=dim,
        array=np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32),
        tokens=tuple(tuple(t["tokens"]) for t in body["texts"]),
        oov=tuple(tuple(t["oov"]) for t in body["texts"]),
    )


def embed(
    model: str,
    /,
    texts: Sequence[str],
    *,
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    post_normalize: bool = False,
    sif_a: float = 1e-3,
    oov: TextOov = "error",
    encoding: str = "base64",
) -> Call[Embeddings]:
    """Sentence vectors (`.array`, float32, one row per text): 'mean' is gensim's
    get_mean_vector of the known tokens, 'sif' Arora et al.'s. oov 'null' gives a text with no
    known word a NaN row instead of a ValidationError (/problems/empty-text). The encoding
    changes only the transfer: base64 (the default) is faster, the vectors are the same."""
    body = {
        "texts": _texts_json(texts),
        "post_normalize": post_normalize,
        "encoding": encoding,
        **_pooling_json(pooling, pre_normalize, sif_a, oov),
    }
    return call("POST", "/v1/models/{model}/embed", _embeddings, json=body, model=model)


def classify(
    model: str, /, texts: Sequence[str], *, k: int = 1, threshold: float = 0.0
) -> Call[list[Classification]]:
    """Each text's k most probable labels with their probabilities, from a model trained with
    `firth train --algorithm supervised` (fastText's predict); labels below `threshold` are left
    out. A model that is not a classifier answers ValidationError (/problems/not-a-classifier)."""

    def parse(r: httpx.Response) -> list[Classification]:
        return [
            Classification(
                labels=tuple((str(x["label"]), float(x["probability"])) for x in t["labels"]),
                tokens=tuple(t["tokens"]),
                oov=tuple(t["oov"]),
            )
            for t in r.json()["texts"]
        ]

    body = {"texts": _texts_json(texts), "k": k, "threshold": threshold}
    return call("POST", "/v1/models/{model}/classify", parse, json=body, model=model)


def text_similarities(
    model: str,
    /,
    pairs: Sequence[tuple[str, str]],
    *,
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    sif_a: float = 1e-3,
    oov: TextOov = "error",
) -> Call[list[float | None]]:
    """Cosine of each pair of texts' sentence vectors (None for a text with no known word)."""

    def parse(r: httpx.Response) -> list[float | None]:
        return [None if s["similarity"] is None else float(s["similarity"]) for s in r.json()["similarities"]]

    body = {"text_pairs": [[a, b] for a, b in pairs], **_pooling_json(pooling, pre_normalize, sif_a, oov)}
    return call("POST", "/v1/models/{model}/similarity", parse, json=body, model=model)


def text_similarity_matrix(
    model: str,
    /,
    a: Sequence[str],
    b: Sequence[str],
    *,
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    sif_a: float = 1e-3,
    oov: TextOov = "error",
) -> Call[np.ndarray]:
    """matrix[i, j] = cosine(texts a[i], b[j]); NaN where a text has no known word."""

    def parse(r: httpx.Response) -> np.ndarray:
        rows = r.json()["matrix"]
        return np.array(
            [[np.nan if x is None else x for x in row] for row in rows], dtype=np.float64
        ).reshape(len(a), len(b))

    body = {"texts_a": list(a), "texts_b": list(b), **_pooling_json(pooling, pre_normalize, sif_a, oov)}
    return call("POST", "/v1/models/{model}/similarity/matrix", parse, json=body, model=model)


def similar_by_text(
    model: str,
    /,
    text: str,
    topn: int = 10,
    *,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[list[Neighbor]]:
    """A text's nearest words: most_similar(positive=its known tokens)."""
    body = without_none(text=text, k=topn, method=method, exact=exact, restrict_vocab=restrict_vocab)
    return call("POST", "/v1/models/{model}/neighbors", neighbors, json=body, model=model)
