"""Nearest words and analogies with gensim's arguments: most_similar (positive/negative terms),
its 3CosMul and by-vector forms, batches, analogies, doesnt_match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import numpy as np

from firth_client._calls import Call, call, without_none
from firth_client.results import AnalogyResult, Method, Neighbor, NeighborQuery, Terms, neighbors_of

# -- terms (gensim's positive/negative arguments) -------------------------------------------------


def _vector_json(vector: Any) -> list[float]:
    array = np.asarray(vector, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"a query vector must be one non-empty row of numbers, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("a query vector must not hold NaN or Inf")
    return [float(x) for x in array]


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.number) and not isinstance(x, bool)


def _term_json(term: Any) -> Any:
    """A word, a vector (array or list of numbers), or a (word or vector, weight) pair."""
    if isinstance(term, str):
        return term
    if isinstance(term, tuple) and len(term) == 2 and not _is_number(term[0]) and _is_number(term[1]):
        value, weight = term
        key = "word" if isinstance(value, str) else "vector"
        return {key: value if key == "word" else _vector_json(value), "weight": float(weight)}
    return _vector_json(term)


def terms_json(terms: Any) -> list[Any]:
    """gensim accepts one word for `positive`; a 1-d array is one vector, too."""
    if terms is None:
        return []
    if isinstance(terms, str) or (isinstance(terms, np.ndarray) and terms.ndim == 1):
        return [_term_json(terms)]
    if isinstance(terms, tuple) and len(terms) == 2 and _is_number(terms[1]) and not _is_number(terms[0]):
        return [_term_json(terms)]  # a single (term, weight) pair
    return [_term_json(t) for t in terms]


def _query_json(
    positive: Any, negative: Any, topn: int, method: Method, restrict_vocab: int | None, exact: bool
) -> dict[str, Any]:
    return without_none(
        positive=terms_json(positive),
        negative=terms_json(negative),
        k=topn,
        method=method,
        exact=exact,
        restrict_vocab=restrict_vocab,
    )


# -- parsers ----------------------------------------------------------------------------------------


def neighbors(response: httpx.Response) -> list[Neighbor]:
    return list(neighbors_of(response.json()["neighbors"]))


def _analogy(body: Mapping[str, Any]) -> AnalogyResult:
    return AnalogyResult(
        model=str(body["model"]),
        a=str(body["a"]),
        b=str(body["b"]),
        c=str(body["c"]),
        answer=body["answer"],
        index=str(body["index"]),
        neighbors=neighbors_of(body["neighbors"]),
    )


# -- operations -------------------------------------------------------------------------------------


def similar_by_word(
    model: str,
    /,
    word: str,
    topn: int = 10,
    *,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[list[Neighbor]]:
    """The word's nearest words (gensim's similar_by_word)."""
    params = {"word": word, "k": topn, "method": method, "restrict_vocab": restrict_vocab, "exact": exact}
    return call("GET", "/v1/models/{model}/neighbors", neighbors, params=params, model=model)


def most_similar(
    model: str,
    /,
    positive: Terms = None,
    negative: Terms = None,
    topn: int = 10,
    *,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[list[Neighbor]]:
    """gensim's most_similar. Terms are words, vectors, or (word or vector, weight) pairs."""
    body = _query_json(positive, negative, topn, method, restrict_vocab, exact)
    return call("POST", "/v1/models/{model}/neighbors", neighbors, json=body, model=model)


def most_similar_cosmul(
    model: str,
    /,
    positive: Terms = None,
    negative: Terms = None,
    topn: int = 10,
    *,
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[list[Neighbor]]:
    """gensim's most_similar_cosmul: most_similar with 3CosMul (Levy and Goldberg)."""
    return most_similar(
        model, positive, negative, topn, method="3cosmul", restrict_vocab=restrict_vocab, exact=exact
    )


def similar_by_vector(
    model: str, /, vector: Any, topn: int = 10, *, restrict_vocab: int | None = None, exact: bool = False
) -> Call[list[Neighbor]]:
    """The nearest words to a raw vector (gensim's similar_by_vector)."""
    return most_similar(model, [vector], None, topn, restrict_vocab=restrict_vocab, exact=exact)


def most_similar_batch(model: str, /, queries: Sequence[NeighborQuery]) -> Call[list[list[Neighbor]]]:
    """Many most_similar queries in one request, answered in order."""

    def parse(r: httpx.Response) -> list[list[Neighbor]]:
        return [list(neighbors_of(result["neighbors"])) for result in r.json()["results"]]

    body = {
        "queries": [
            _query_json(q.positive, q.negative, q.topn, q.method, q.restrict_vocab, q.exact) for q in queries
        ]
    }
    return call("POST", "/v1/models/{model}/neighbors/batch", parse, json=body, model=model)


def analogy(
    model: str,
    /,
    a: str,
    b: str,
    c: str,
    topn: int = 10,
    *,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[AnalogyResult]:
    """a is to b as c is to ? (b - a + c): analogy("man", "king", "woman").answer == "queen"."""
    params = {"a": a, "b": b, "c": c, "k": topn, "method": method, "restrict_vocab": restrict_vocab}
    return call(
        "GET",
        "/v1/models/{model}/analogy",
        lambda r: _analogy(r.json()),
        params={**params, "exact": exact},
        model=model,
    )


def analogies(
    model: str,
    /,
    questions: Sequence[tuple[str, str, str]],
    topn: int = 1,
    *,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> Call[list[AnalogyResult]]:
    """Many analogy questions (a, b, c) in one request, answered in order."""
    body = without_none(
        questions=[{"a": a, "b": b, "c": c} for a, b, c in questions],
        k=topn,
        method=method,
        exact=exact,
        restrict_vocab=restrict_vocab,
    )
    return call(
        "POST",
        "/v1/models/{model}/analogy",
        lambda r: [_analogy(x) for x in r.json()["results"]],
        json=body,
        model=model,
    )


def doesnt_match(model: str, /, words: Sequence[str]) -> Call[str]:
    """The word that fits the others least (gensim's doesnt_match)."""
    return call(
        "POST",
        "/v1/models/{model}/doesnt-match",
        lambda r: str(r.json()["doesnt_match"]),
        json={"words": list(words)},
        model=model,
    )


def rank_by_centrality(model: str, /, words: Sequence[str]) -> Call[list[Neighbor]]:
    """Words by cosine to their mean, most central first (the ranking behind doesnt_match)."""
    return call(
        "POST",
        "/v1/models/{model}/doesnt-match",
        lambda r: list(neighbors_of(r.json()["ranking"])),
        json={"words": list(words)},
        model=model,
    )
