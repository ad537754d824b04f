"""Every operation as a pure function: arguments in, a `Call` out (what to send, how to read the
answer). FirthClient and AsyncFirthClient share all of this and differ only in how they send.

`OPERATIONS` lists the service's operations as (method, OpenAPI path); a test compares it with
the live app's spec, and another checks that the client's methods really reach each of them.
"""

from __future__ import annotations

import base64
import io
import json as jsonlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import numpy as np

from firth_client.errors import UnexpectedResponseError, error_from_response
from firth_client.results import (
    AnalogyResult,
    Classification,
    EmbeddingMatrix,
    Embeddings,
    Encoding,
    Evaluation,
    Health,
    Method,
    ModelInfo,
    Neighbor,
    NeighborQuery,
    OovPolicy,
    Pooling,
    ProblemType,
    ProjectedPoint,
    Projection,
    Readiness,
    ReloadResult,
    Similarity,
    TextOov,
    Vectors,
    VocabularyEntry,
    VocabularyPage,
    neighbors_of,
)

T = TypeVar("T")
Params = Mapping[str, str | int | float | bool]

OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/problems"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model}"),
        ("GET", "/v1/models/{model}/vectors/{word}"),
        ("POST", "/v1/models/{model}/vectors"),
        ("GET", "/v1/models/{model}/similarity"),
        ("POST", "/v1/models/{model}/similarity"),
        ("POST", "/v1/models/{model}/similarity/matrix"),
        ("POST", "/v1/models/{model}/n-similarity"),
        ("GET", "/v1/models/{model}/neighbors"),
        ("POST", "/v1/models/{model}/neighbors"),
        ("POST", "/v1/models/{model}/neighbors/batch"),
        ("GET", "/v1/models/{model}/analogy"),
        ("POST", "/v1/models/{model}/analogy"),
        ("POST", "/v1/models/{model}/doesnt-match"),
        ("POST", "/v1/models/{model}/evaluate"),
        ("POST", "/v1/models/{model}/project"),
        ("POST", "/v1/models/{model}/embed"),
        ("POST", "/v1/models/{model}/classify"),
        ("POST", "/v1/models/{model}/encode"),
        ("GET", "/v1/models/{model}/vocabulary"),
        ("POST", "/v1/models/{model}/embedding-matrix"),
        ("POST", "/admin/reload"),
    }
)


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    operation: str  # the OpenAPI path template
    path: str  # the template with its segments filled in, percent-encoded
    parse: Callable[[httpx.Response], T]
    params: Params | None = None
    json: Any = None
    idempotent: bool = True  # safe to send again on 429/503 (see _retry.py)


def _call(
    method: str,
    operation: str,
    parse: Callable[[httpx.Response], T],
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    idempotent: bool = True,
    **segments: str,
) -> Call[T]:
    assert (method, operation) in OPERATIONS, (method, operation)
    # safe="": a "/" or "?" inside a word must not become part of the URL's structure
    path = operation.format(**{k: quote(v, safe="") for k, v in segments.items()})
    kept = {k: v for k, v in (params or {}).items() if v is not None}
    return Call(method, operation, path, parse, kept or None, json, idempotent)


def finish(call: Call[T], response: httpx.Response) -> T:
    """The call's result from a response: a typed exception for an error status."""
    if not response.is_success:
        raise error_from_response(response)
    try:
        return call.parse(response)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UnexpectedResponseError(
            response.status_code,
            "about:blank",
            "Unexpected response",
            f"{call.method} {call.operation} answered a body the client cannot read ({exc!r})",
            {},
        ) from exc


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
    body: dict[str, Any] = {
        "positive": terms_json(positive),
        "negative": terms_json(negative),
        "k": topn,
        "method": method,
        "exact": exact,
    }
    if restrict_vocab is not None:
        body["restrict_vocab"] = restrict_vocab
    return body


# -- parsers ----------------------------------------------------------------------------------------


def _model_info(body: Mapping[str, Any]) -> ModelInfo:
    return ModelInfo(
        name=str(body["name"]),
        default=bool(body["default"]),
        dim=int(body["dim"]),
        vocab_size=int(body["vocab_size"]),
        index_kinds=tuple(body["index_kinds"]),
        hnsw_status=str(body["hnsw_status"]),
        sha256=str(body["sha256"]),
        standardize=str(body["standardize"]),
        meta=dict(body["meta"]),
        evaluation=body.get("evaluation"),
        load_error=body.get("load_error"),
        unavailable=body.get("unavailable"),
    )


def _neighbors(response: httpx.Response) -> list[Neighbor]:
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


# -- system and models --------------------------------------------------------------------------------


def health() -> Call[Health]:
    return _call("GET", "/healthz", lambda r: Health(str(r.json()["status"])), idempotent=False)


def ready() -> Call[Readiness]:
    def parse(r: httpx.Response) -> Readiness:
        body = r.json()
        return Readiness(str(body["status"]), dict(body["models"]))

    return _call("GET", "/readyz", parse, idempotent=False)


def metrics() -> Call[str]:
    return _call("GET", "/metrics", lambda r: r.text)


def problems() -> Call[list[ProblemType]]:
    def parse(r: httpx.Response) -> list[ProblemType]:
        return [ProblemType(p["type"], int(p["status"]), p["title"]) for p in r.json()["problems"]]

    return _call("GET", "/problems", parse)


def models() -> Call[list[ModelInfo]]:
    return _call("GET", "/v1/models", lambda r: [_model_info(m) for m in r.json()["models"]])


def reload_models() -> Call[ReloadResult]:
    def parse(r: httpx.Response) -> ReloadResult:
        body = r.json()
        return ReloadResult(
            worker=int(body["worker"]),
            added=tuple(body["added"]),
            removed=tuple(body["removed"]),
            reloaded=tuple(body["reloaded"]),
            failed=dict(body["failed"]),
            unchanged=tuple(body["unchanged"]),
            others_reloading=bool(body["others_reloading"]),
        )

    return _call("POST", "/admin/reload", parse)  # a second reload finds nothing new: safe to repeat


def model_info(model: str) -> Call[ModelInfo]:
    return _call("GET", "/v1/models/{model}", lambda r: _model_info(r.json()), model=model)


# -- vectors and similarity ---------------------------------------------------------------------------


def vector(model: str, word: str) -> Call[np.ndarray]:
    if word in (".", ".."):
        # Dot segments are removed from URLs (RFC 3986 5.2.4), even by httpx: ask in a body.
        # ("/" is fine: it is sent as %2F and the route takes the rest of the path.)
        return _call(
            "POST",
            "/v1/models/{model}/vectors",
            lambda r: np.asarray(r.json()["vectors"][0]["vector"], dtype=np.float32),
            json={"words": [word], "oov": "error"},
            model=model,
        )
    return _call(
        "GET",
        "/v1/models/{model}/vectors/{word}",
        lambda r: np.asarray(r.json()["vector"], dtype=np.float32),
        model=model,
        word=word,
    )


def vectors(model: str, words: Sequence[str], oov: OovPolicy) -> Call[Vectors]:
    body = {"words": list(words), "oov": oov}
    return _call("POST", "/v1/models/{model}/vectors", _vectors, json=body, model=model)


def similarity(model: str, a: str, b: str) -> Call[float]:
    return _call(
        "GET",
        "/v1/models/{model}/similarity",
        lambda r: float(r.json()["similarity"]),
        params={"a": a, "b": b},
        model=model,
    )


def similarities(model: str, pairs: Sequence[tuple[str, str]]) -> Call[list[Similarity]]:
    def parse(r: httpx.Response) -> list[Similarity]:
        return [Similarity(s["a"], s["b"], float(s["similarity"])) for s in r.json()["similarities"]]

    body = {"pairs": [[a, b] for a, b in pairs]}
    return _call("POST", "/v1/models/{model}/similarity", parse, json=body, model=model)


def similarity_matrix(model: str, a: Sequence[str], b: Sequence[str]) -> Call[np.ndarray]:
    def parse(r: httpx.Response) -> np.ndarray:
        return np.array(r.json()["matrix"], dtype=np.float64).reshape(len(a), len(b))

    body = {"a": list(a), "b": list(b)}
    return _call("POST", "/v1/models/{model}/similarity/matrix", parse, json=body, model=model)


def n_similarity(model: str, a: Sequence[str], b: Sequence[str]) -> Call[float]:
    body = {"a": list(a), "b": list(b)}
    return _call(
        "POST",
        "/v1/models/{model}/n-similarity",
        lambda r: float(r.json()["similarity"]),
        json=body,
        model=model,
    )


# -- neighbours and analogies ---------------------------------------------------------------------------


def similar_by_word(
    model: str, word: str, topn: int, method: Method, restrict_vocab: int | None, exact: bool
) -> Call[list[Neighbor]]:
    params = {"word": word, "k": topn, "method": method, "restrict_vocab": restrict_vocab, "exact": exact}
    return _call("GET", "/v1/models/{model}/neighbors", _neighbors, params=params, model=model)


def most_similar(
    model: str,
    positive: Any,
    negative: Any,
    topn: int,
    method: Method,
    restrict_vocab: int | None,
    exact: bool,
) -> Call[list[Neighbor]]:
    body = _query_json(positive, negative, topn, method, restrict_vocab, exact)
    return _call("POST", "/v1/models/{model}/neighbors", _neighbors, json=body, model=model)


def most_similar_batch(model: str, queries: Sequence[NeighborQuery]) -> Call[list[list[Neighbor]]]:
    def parse(r: httpx.Response) -> list[list[Neighbor]]:
        return [list(neighbors_of(result["neighbors"])) for result in r.json()["results"]]

    body = {
        "queries": [
            _query_json(q.positive, q.negative, q.topn, q.method, q.restrict_vocab, q.exact) for q in queries
        ]
    }
    return _call("POST", "/v1/models/{model}/neighbors/batch", parse, json=body, model=model)


def analogy(
    model: str, a: str, b: str, c: str, topn: int, method: Method, restrict_vocab: int | None, exact: bool
) -> Call[AnalogyResult]:
    params = {"a": a, "b": b, "c": c, "k": topn, "method": method, "restrict_vocab": restrict_vocab}
    return _call(
        "GET",
        "/v1/models/{model}/analogy",
        lambda r: _analogy(r.json()),
        params={**params, "exact": exact},
        model=model,
    )


def analogies(
    model: str,
    questions: Sequence[tuple[str, str, str]],
    topn: int,
    method: Method,
    restrict_vocab: int | None,
    exact: bool,
) -> Call[list[AnalogyResult]]:
    body: dict[str, Any] = {
        "questions": [{"a": a, "b": b, "c": c} for a, b, c in questions],
        "k": topn,
        "method": method,
        "exact": exact,
    }
    if restrict_vocab is not None:
        body["restrict_vocab"] = restrict_vocab
    return _call(
        "POST",
        "/v1/models/{model}/analogy",
        lambda r: [_analogy(x) for x in r.json()["results"]],
        json=body,
        model=model,
    )


def rank_by_centrality(model: str, words: Sequence[str]) -> Call[list[Neighbor]]:
    return _call(
        "POST",
        "/v1/models/{model}/doesnt-match",
        lambda r: list(neighbors_of(r.json()["ranking"])),
        json={"words": list(words)},
        model=model,
    )


def doesnt_match(model: str, words: Sequence[str]) -> Call[str]:
    return _call(
        "POST",
        "/v1/models/{model}/doesnt-match",
        lambda r: str(r.json()["doesnt_match"]),
        json={"words": list(words)},
        model=model,
    )


# -- evaluation and projection -------------------------------------------------------------------------


def evaluate(
    model: str,
    benchmark: str | None,
    items: Sequence[str] | None,
    kind: str | None,
    restrict_vocab: int,
    case_insensitive: bool,
    dummy4unknown: bool,
) -> Call[Evaluation]:
    def parse(r: httpx.Response) -> Evaluation:
        body = r.json()
        return Evaluation(str(body["model"]), str(body["benchmark"]), str(body["kind"]), dict(body["result"]))

    body: dict[str, Any] = {
        "restrict_vocab": restrict_vocab,
        "case_insensitive": case_insensitive,
        "dummy4unknown": dummy4unknown,
    }
    if benchmark is not None:
        body["benchmark"] = benchmark
    if items is not None:
        body["items"] = list(items)
    if kind is not None:
        body["kind"] = kind
    return _call("POST", "/v1/models/{model}/evaluate", parse, json=body, model=model)


def project(
    model: str,
    words: Sequence[str] | None,
    word: str | None,
    analogy: tuple[str, str, str] | None,
    k: int,
    depth: int,
    method: Method,
    exact: bool,
    projection: str,
    dimensions: int,
    seed: int,
    perplexity: float | None,
) -> Call[Projection]:
    body: dict[str, Any] = {
        "k": k,
        "depth": depth,
        "method": method,
        "exact": exact,
        "projection": projection,
        "dimensions": dimensions,
        "seed": seed,
        "format": "json",
    }
    if words is not None:
        body["words"] = list(words)
    if word is not None:
        body["word"] = word
    if analogy is not None:
        a, b, c = analogy
        body["analogy"] = {"a": a, "b": b, "c": c}
    if perplexity is not None:
        body["perplexity"] = perplexity
    return _call("POST", "/v1/models/{model}/project", _projection, json=body, model=model)


# -- text to ids and the embedding matrix ------------------------------------------------------------


def encode(
    model: str,
    texts: Sequence[str],
    output_mode: str,
    max_tokens: int | None,
    output_sequence_length: int | None,
    pad_to_max_tokens: bool,
    ragged: bool,
) -> Call[Encoding]:
    def parse(r: httpx.Response) -> Encoding:
        body = r.json()
        rows = body["ids"]
        ids: np.ndarray | list[np.ndarray]
        if body["output_mode"] != "int":
            ids = np.array(rows, dtype=np.float32).reshape(len(rows), -1)
        elif ragged:
            ids = [np.array(row, dtype=np.int64) for row in rows]
        else:
            ids = np.array(rows, dtype=np.int64).reshape(len(rows), -1)
        return Encoding(
            model=str(body["model"]),
            output_mode=str(body["output_mode"]),
            vocabulary_size=int(body["vocabulary_size"]),
            ids=ids,
            tokens=tuple(tuple(t["tokens"]) for t in body["texts"]),
            oov=tuple(tuple(t["oov"]) for t in body["texts"]),
        )

    body: dict[str, Any] = {
        "texts": list(texts),
        "output_mode": output_mode,
        "pad_to_max_tokens": pad_to_max_tokens,
        "ragged": ragged,
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if output_sequence_length is not None:
        body["output_sequence_length"] = output_sequence_length
    return _call("POST", "/v1/models/{model}/encode", parse, json=body, model=model)


def vocabulary(model: str, offset: int, limit: int, prefix: str | None) -> Call[VocabularyPage]:
    def parse(r: httpx.Response) -> VocabularyPage:
        body = r.json()
        return VocabularyPage(
            model=str(body["model"]),
            total=int(body["total"]),
            offset=int(body["offset"]),
            limit=int(body["limit"]),
            prefix=body["prefix"],
            words=tuple(
                VocabularyEntry(w["word"], int(w["id"]), int(w["rank"]), w["count"]) for w in body["words"]
            ),
        )

    params = {"offset": offset, "limit": limit, "prefix": prefix}
    return _call("GET", "/v1/models/{model}/vocabulary", parse, params=params, model=model)


def embedding_matrix(
    model: str, vocabulary: Sequence[str] | None, max_tokens: int | None, normalize: bool, format: str
) -> Call[EmbeddingMatrix]:
    def parse(r: httpx.Response) -> EmbeddingMatrix:
        if format == "json":
            body = r.json()
            rows, dim = body["shape"]
            return EmbeddingMatrix(
                model=str(body["model"]),
                matrix=np.array(body["matrix"], dtype=np.float32).reshape(rows, dim),
                words=tuple(body["words"]),
                missing=tuple(body["missing"]),
                missing_count=len(body["missing"]),
            )
        matrix = np.load(io.BytesIO(r.content), allow_pickle=False)
        return EmbeddingMatrix(
            model=model,
            matrix=matrix,
            words=tuple(vocabulary) if vocabulary is not None else None,
            missing=tuple(jsonlib.loads(r.headers["x-firth-missing-words"])),
            missing_count=int(r.headers["x-firth-missing-count"]),
        )

    body: dict[str, Any] = {"normalize": normalize, "format": format}
    if vocabulary is not None:
        body["vocabulary"] = list(vocabulary)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return _call("POST", "/v1/models/{model}/embedding-matrix", parse, json=body, model=model)


# -- texts -----------------------------------------------------------------------------------------------


def _pooling_json(pooling: Pooling, pre_normalize: bool, sif_a: float, oov: TextOov) -> dict[str, Any]:
    return {"pooling": pooling, "pre_normalize": pre_normalize, "sif_a": sif_a, "oov": oov}


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


def embed(
    model: str,
    texts: Sequence[str],
    pooling: Pooling,
    pre_normalize: bool,
    post_normalize: bool,
    sif_a: float,
    oov: TextOov,
    encoding: str,
) -> Call[Embeddings]:
    def parse(r: httpx.Response) -> Embeddings:
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

    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    json = {
        "texts": list(texts),
        "post_normalize": post_normalize,
        "encoding": encoding,
        **_pooling_json(pooling, pre_normalize, sif_a, oov),
    }
    return _call("POST", "/v1/models/{model}/embed", parse, json=json, model=model)


def classify(model: str, texts: Sequence[str], k: int, threshold: float) -> Call[list[Classification]]:
    def parse(r: httpx.Response) -> list[Classification]:
        return [
            Classification(
                labels=tuple((str(x["label"]), float(x["probability"])) for x in t["labels"]),
                tokens=tuple(t["tokens"]),
                oov=tuple(t["oov"]),
            )
            for t in r.json()["texts"]
        ]

    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    json = {"texts": list(texts), "k": k, "threshold": threshold}
    return _call("POST", "/v1/models/{model}/classify", parse, json=json, model=model)


def text_similarities(
    model: str,
    pairs: Sequence[tuple[str, str]],
    pooling: Pooling,
    pre_normalize: bool,
    sif_a: float,
    oov: TextOov,
) -> Call[list[float | None]]:
    def parse(r: httpx.Response) -> list[float | None]:
        return [None if s["similarity"] is None else float(s["similarity"]) for s in r.json()["similarities"]]

    body = {"text_pairs": [[a, b] for a, b in pairs], **_pooling_json(pooling, pre_normalize, sif_a, oov)}
    return _call("POST", "/v1/models/{model}/similarity", parse, json=body, model=model)


def text_similarity_matrix(
    model: str,
    a: Sequence[str],
    b: Sequence[str],
    pooling: Pooling,
    pre_normalize: bool,
    sif_a: float,
    oov: TextOov,
) -> Call[np.ndarray]:
    def parse(r: httpx.Response) -> np.ndarray:
        rows = r.json()["matrix"]
        return np.array(
            [[np.nan if x is None else x for x in row] for row in rows], dtype=np.float64
        ).reshape(len(a), len(b))

    body = {"texts_a": list(a), "texts_b": list(b), **_pooling_json(pooling, pre_normalize, sif_a, oov)}
    return _call("POST", "/v1/models/{model}/similarity/matrix", parse, json=body, model=model)


def similar_by_text(
    model: str, text: str, topn: int, method: Method, restrict_vocab: int | None, exact: bool
) -> Call[list[Neighbor]]:
    body: dict[str, Any] = {"text": text, "k": topn, "method": method, "exact": exact}
    if restrict_vocab is not None:
        body["restrict_vocab"] = restrict_vocab
    return _call("POST", "/v1/models/{model}/neighbors", _neighbors, json=body, model=model)
