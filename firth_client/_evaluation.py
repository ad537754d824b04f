"""Scoring a model (gensim's evaluate_word_analogies / evaluate_word_pairs) and projecting words
to 2-D or 3-D (PCA, t-SNE)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from firth_client._calls import Call, call, without_none
from firth_client.results import Evaluation, Method, ProjectedPoint, Projection, neighbors_of


def _evaluation(r: httpx.Response) -> Evaluation:
    body = r.json()
    return Evaluation(str(body["model"]), str(body["benchmark"]), str(body["kind"]), dict(body["result"]))


def _projection(response: httpx.Response) -> Projection:
    body = response.json()
    dims = int(body["dimensions"])
    axes = ("x", "y", "z")[:dims]
    points = body["points"]
    variance = body.get("explained_variance")
    return Projection(
        model=str(body["model"]),
        projection=str(body["projection"]),
        dimensions=dims,
        seed=int(body["seed"]),
        perplexity=body.get("perplexity"),
        explained_variance=tuple(variance) if variance is not None else None,
        index=body.get("index"),
        answer=body.get("answer"),
        neighbors=neighbors_of(body["neighbors"]),
        arrows=tuple((str(a["source"]), str(a["target"])) for a in body["arrows"]),
        points=tuple(ProjectedPoint(p["word"], p["role"], p["parent"], p["similarity"]) for p in points),
        coordinates=np.array([[p[axis] for axis in axes] for p in points], dtype=np.float64).reshape(
            len(points), dims
        ),
    )


def evaluate(
    model: str,
    /,
    benchmark: str | None = None,
    *,
    items: Sequence[str] | None = None,
    kind: str | None = None,
    restrict_vocab: int = 300_000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    subwords: bool = False,
) -> Call[Evaluation]:
    """A bundled benchmark (questions-words, wordsim353, simlex999), or `items` lines of
    `kind` 'analogies' or 'pairs', scored with gensim's accounting. `subwords` (a subword model
    only; ValidationError otherwise) adds `result["subwords"]`: the same figures with the unknown
    words given their n-gram vectors, beside gensim's, which skip them."""
    body = without_none(
        benchmark=benchmark,
        items=list(items) if items is not None else None,
        kind=kind,
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
        subwords=subwords or None,  # asked only when wanted: the request is as before otherwise
    )
    return call("POST", "/v1/models/{model}/evaluate", _evaluation, json=body, model=model)


def project(
    model: str,
    /,
    words: Sequence[str] | None = None,
    *,
    word: str | None = None,
    analogy: tuple[str, str, str] | None = None,
    k: int = 10,
    depth: int = 1,
    method: Method = "3cosadd",
    exact: bool = False,
    projection: str = "pca",
    dimensions: int = 2,
    seed: int = 0,
    perplexity: float | None = None,
) -> Call[Projection]:
    """2-D/3-D coordinates (PCA or t-SNE) of `words`, of `word` and its k neighbours (depth 2:
    theirs too), or of an analogy (a, b, c) and its k best answers."""
    body = without_none(
        words=list(words) if words is not None else None,
        word=word,
        analogy={"a": analogy[0], "b": analogy[1], "c": analogy[2]} if analogy is not None else None,
        k=k,
        depth=depth,
        method=method,
        exact=exact,
        projection=projection,
        dimensions=dimensions,
        seed=seed,
        perplexity=perplexity,
        format="json",
    )
    return call("POST", "/v1/models/{model}/project", _projection, json=body, model=model)
