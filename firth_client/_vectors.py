"""Word vectors and the similarity of words (gensim's `kv[word]`, similarity, n_similarity)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from firth_client._calls import Call, call
from firth_client.results import OovPolicy, Similarity, Vectors


def _vectors(response: httpx.Response) -> Vectors:
    body = response.json()
    rows = body["vectors"]
    dim = int(body["dim"])
    array = np.full((len(rows), dim), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row["vector"] is not None:
            array[i] = row["vector"]
    return Vectors(
        model=str(body["model"]),
        dim=dim,
        inputs=tuple(r["input"] for r in rows),
        words=tuple(r["word"] for r in rows),
        array=array,
        missing=tuple(body["missing"]),
    )


def _similarity(response: httpx.Response) -> float:
    return float(response.json()["similarity"])


def vector(model: str, /, word: str) -> Call[np.ndarray]:
    """The word's raw vector (float32), like gensim's `kv[word]`; UnknownWordError if missing."""
    if word in (".", ".."):
        # Dot segments are removed from URLs (RFC 3986 5.2.4), even by httpx: ask in a body.
        # ("/" is fine: it is sent as %2F and the route takes the rest of the path.)
        return call(
            "POST",
            "/v1/models/{model}/vectors",
            lambda r: np.asarray(r.json()["vectors"][0]["vector"], dtype=np.float32),
            json={"words": [word], "oov": "error"},
            model=model,
        )
    return call(
        "GET",
        "/v1/models/{model}/vectors/{word}",
        lambda r: np.asarray(r.json()["vector"], dtype=np.float32),
        model=model,
        word=word,
    )


def vectors(model: str, /, words: Sequence[str], oov: OovPolicy = "error") -> Call[Vectors]:
    """Vectors of many words; oov: 'error' raises, 'skip' leaves them out, 'null' gives NaN rows."""
    body = {"words": list(words), "oov": oov}
    return call("POST", "/v1/models/{model}/vectors", _vectors, json=body, model=model)


def similarity(model: str, /, a: str, b: str) -> Call[float]:
    """Cosine similarity of two words."""
    params = {"a": a, "b": b}
    return call("GET", "/v1/models/{model}/similarity", _similarity, params=params, model=model)


def similarities(model: str, /, pairs: Sequence[tuple[str, str]]) -> Call[list[Similarity]]:
    """Cosine similarity of each pair of words."""

    def parse(r: httpx.Response) -> list[Similarity]:
        return [Similarity(s["a"], s["b"], float(s["similarity"])) for s in r.json()["similarities"]]

    body = {"pairs": [[a, b] for a, b in pairs]}
    return call("POST", "/v1/models/{model}/similarity", parse, json=body, model=model)


def similarity_matrix(model: str, /, a: Sequence[str], b: Sequence[str]) -> Call[np.ndarray]:
    """matrix[i, j] = cosine(a[i], b[j])."""

    def parse(r: httpx.Response) -> np.ndarray:
        return np.array(r.json()["matrix"], dtype=np.float64).reshape(len(a), len(b))

    body = {"a": list(a), "b": list(b)}
    return call("POST", "/v1/models/{model}/similarity/matrix", parse, json=body, model=model)


def n_similarity(model: str, /, a: Sequence[str], b: Sequence[str]) -> Call[float]:
    """Cosine of the two word sets' mean vectors (gensim's n_similarity)."""
    body = {"a": list(a), "b": list(b)}
    return call("POST", "/v1/models/{model}/n-similarity", _similarity, json=body, model=model)
