"""Model endpoints: vectors, similarity, neighbours, analogies, doesnt-match, evaluate.

Each route resolves the model, converts the request into an engine call and returns a
FastJSONResponse. Cheap single queries run on the event loop; anything that scans the whole
matrix (exact search, 3CosMul, batches, evaluation) runs in the thread pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request

from firth_core.errors import InvalidVector
from firth_core.evaluation import evaluate_benchmark, evaluate_lines
from firth_core.query import TermInput
from firth_service import budget, engine, text_queries
from firth_service.admission import HEAVY_BATCH, heavy_texts
from firth_service.engine import NeighbourQuery, NeighbourResult
from firth_service.metrics import record_queries
from firth_service.registry import LoadedModel, ModelRegistry
from firth_service.responses import FastJSONResponse
from firth_service.schemas import (
    AnalogyBatchRequest,
    AnalogyBatchResponse,
    AnalogyResponse,
    DoesntMatchRequest,
    DoesntMatchResponse,
    EvaluateRequest,
    EvaluateResponse,
    Method,
    NeighborsBatchRequest,
    NeighborsBatchResponse,
    NeighborsQuery,
    NeighborsResponse,
    NSimilarityRequest,
    NSimilarityResponse,
    SimilarityMatrixResponse,
    SimilarityOut,
    SimilarityPairsResponse,
    Term,
    VectorOut,
    VectorsRequest,
    VectorsResponse,
    WeightedTerm,
    Word,
    problem_responses,
)
from firth_service.schemas_text import (
    NeighborsBody,
    SimilarityBody,
    SimilarityMatrixBody,
    TextNeighborsQuery,
    TextNeighborsResponse,
    TextSimilarityMatrixRequest,
    TextSimilarityMatrixResponse,
    TextSimilarityPairsRequest,
    TextSimilarityPairsResponse,
)
from firth_service.settings import MAX_K, MAX_RESTRICT_VOCAB
from firth_service.work import run_bounded

# The problems every route under /v1/models/{model} can answer (a body it reads may be too large,
# malformed or not JSON; the model may be unknown; a request may be capped or time out).
MODEL_PROBLEMS = (400, 404, 413, 415, 422, 429, 503)


def model_router(tag: str) -> APIRouter:
    """A router for routes under /v1/models/{model}, declaring the problems each of them can answer."""
    return APIRouter(prefix="/v1/models/{model}", tags=[tag], responses=problem_responses(*MODEL_PROBLEMS))


router = model_router("queries")
T = TypeVar("T")
# A model name never holds a slash; a word in a path never a line break (the router's path
# convertor stops at one), so the spec says so and such URLs are the 404s it promises.
MODEL_NAME_PATTERN = r"^[^/]+$"
PATH_WORD_PATTERN = r"^[^\n]+$"
ModelName = Annotated[
    str, Path(description="A model name, or `default`.", examples=["default"], pattern=MODEL_NAME_PATTERN)
]


async def get_model(request: Request, model: ModelName) -> LoadedModel:
    """async although it never awaits: FastAPI runs a plain-def dependency in its thread pool, a
    thread hop on every request (a quarter of the event loop's time under load, measured)."""
    registry: ModelRegistry = request.app.state.registry
    return registry.get(model)


Model = Annotated[LoadedModel, Depends(get_model)]


async def _compute(request: Request, inline: bool, fn: Callable[..., T], *args: Any) -> T:
    """Cheap work on the event loop; the rest in a thread, with the deadline and cancellation."""
    return fn(*args) if inline else await run_bounded(request, fn, *args)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _query_vector(values: Sequence[float]) -> np.ndarray:
    """A raw query vector as float32; a finite JSON number beyond float32's range is named as such
    (the cast would turn it into Inf and the answer would wrongly speak of an Inf)."""
    for value in values:
        if math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            raise InvalidVector(f"vector value {value:g} is outside float32's range (±{_FLOAT32_MAX:.4g})")
    return np.asarray(values, dtype=np.float32)


def _terms(terms: Sequence[Term], default_weight: float) -> tuple[list[TermInput], list[float] | None]:
    values: list[TermInput] = []
    weights: list[float] = []
    weighted = False
    for term in terms:
        if isinstance(term, WeightedTerm):
            weighted = True
            values.append(term.word if term.word is not None else _query_vector(term.vector or []))
            weights.append(term.weight)
        else:
            values.append(term if isinstance(term, str) else _query_vector(term))
            weights.append(default_weight)
    return values, (weights if weighted else None)


def _to_engine(q: NeighborsQuery) -> NeighbourQuery:
    positive, positive_weights = _terms(q.positive, 1.0)
    negative, negative_weights = _terms(q.negative, -1.0)
    if positive_weights is not None or negative_weights is not None:
        positive_weights = positive_weights or [1.0] * len(positive)
        negative_weights = negative_weights or [-1.0] * len(negative)
    return NeighbourQuery(
        positive, negative, positive_weights, negative_weights, q.k, q.method, q.restrict_vocab, q.exact
    )


def with_oov(body: dict[str, Any], oov: list[str]) -> dict[str, Any]:
    """`body` with its words built from n-grams listed in `oov`; a body with none is unchanged
    (a model without subwords answers exactly as it always has)."""
    if oov:
        body["oov"] = oov
    return body


def _neighbours_body(model: LoadedModel, result: NeighbourResult) -> dict[str, Any]:
    body = {
        "model": model.name,
        "positive": result.positive,
        "negative": result.negative,
        "index": result.index,
        "neighbors": [{"word": w, "similarity": s} for w, s in result.neighbors],
    }
    return with_oov(body, result.oov)


def _analogy_body(model: LoadedModel, result: NeighbourResult) -> dict[str, Any]:
    b, c = result.positive
    (a,) = result.negative
    body = {
        "model": model.name,
        "a": a,
        "b": b,
        "c": c,
        "answer": result.neighbors[0][0] if result.neighbors else None,
        "index": result.index,
        "neighbors": [{"word": w, "similarity": s} for w, s in result.neighbors],
    }
    in_order = [w for w in dict.fromkeys((a, b, c)) if w is not None and w in result.oov]
    return with_oov(body, in_order)  # in the question's order


def _is_cheap(model: LoadedModel, exact: bool, method: str, restrict: int | None) -> bool:
    return method == "3cosadd" and model.index_for(exact, restrict).kind == "hnsw"


# -- vectors -------------------------------------------------------------------------------


@router.get("/vectors/{word:path}", response_model=VectorOut, summary="Vector of one word")
async def get_vector(
    model: Model, word: Annotated[Word, Path(examples=["king"], pattern=PATH_WORD_PATTERN)]
) -> FastJSONResponse:
    found, _ = engine.lookup_vectors(model, [word], "error")
    return FastJSONResponse(_vector_body(found[0]))


def _vector_body(found: engine.VectorLookup) -> dict[str, Any]:
    body: dict[str, Any] = {"word": found.word, "input": found.input, "vector": found.vector}
    if found.oov:
        body["oov"] = True
    return body


@router.post("/vectors", response_model=VectorsResponse, summary="Vectors of many words")
async def post_vectors(model: Model, body: VectorsRequest) -> FastJSONResponse:
    budget.check_vectors(len(body.words), model.kv.dim)
    found, missing = engine.lookup_vectors(model, body.words, body.oov)
    return FastJSONResponse(
        {
            "model": model.name,
            "dim": model.kv.dim,
            "vectors": [_vector_body(f) for f in found],
            "missing": missing,
        }
    )


# -- similarity ----------------------------------------------------------------------------


@router.get("/similarity", response_model=SimilarityOut, summary="Cosine similarity of two words")
async def get_similarity(
    model: Model, a: Annotated[Word, Query(examples=["cat"])], b: Annotated[Word, Query(examples=["dog"])]
) -> FastJSONResponse:
    ((used_a, used_b, sim, oov),) = engine.similarity_pairs(model, [(a, b)])
    return FastJSONResponse(with_oov({"a": used_a, "b": used_b, "similarity": sim}, oov))


@router.post(
    "/similarity",
    response_model=SimilarityPairsResponse | TextSimilarityPairsResponse,
    summary="Cosine similarity of many pairs of words, or of texts",
)
async def post_similarity(request: Request, model: Model, body: SimilarityBody) -> FastJSONResponse:
    if isinstance(body, TextSimilarityPairsRequest):
        heavy = heavy_texts(text for pair in body.text_pairs for text in pair)
        return FastJSONResponse(
            await run_bounded(request, text_queries.similarity_pairs, model, body, heavy=heavy)
        )
    rows = engine.similarity_pairs(model, body.pairs)
    return FastJSONResponse(
        {
            "model": model.name,
            "similarities": [with_oov({"a": a, "b": b, "similarity": s}, oov) for a, b, s, oov in rows],
        }
    )


@router.post(
    "/similarity/matrix",
    response_model=SimilarityMatrixResponse | TextSimilarityMatrixResponse,
    summary="n x m cosine matrix of two word lists, or of two text lists",
)
async def post_similarity_matrix(
    request: Request, model: Model, body: SimilarityMatrixBody
) -> FastJSONResponse:
    if isinstance(body, TextSimilarityMatrixRequest):
        budget.check_matrix(len(body.texts_a), len(body.texts_b))
        heavy = len(body.texts_a) * len(body.texts_b) > HEAVY_BATCH * MAX_K or heavy_texts(
            [*body.texts_a, *body.texts_b]
        )
        return FastJSONResponse(
            await run_bounded(request, text_queries.similarity_matrix, model, body, heavy=heavy)
        )
    budget.check_matrix(len(body.a), len(body.b))
    heavy = len(body.a) * len(body.b) > HEAVY_BATCH * MAX_K
    a, b, matrix, oov = await run_bounded(
        request, engine.similarity_matrix, model, body.a, body.b, heavy=heavy
    )
    return FastJSONResponse(with_oov({"model": model.name, "a": a, "b": b, "matrix": matrix}, oov))


@router.post(
    "/n-similarity",
    response_model=NSimilarityResponse,
    summary="Cosine of two word sets' means (n_similarity)",
)
async def post_n_similarity(model: Model, body: NSimilarityRequest) -> FastJSONResponse:
    a, b, sim, oov = engine.n_similarity(model, body.a, body.b)
    return FastJSONResponse(with_oov({"model": model.name, "a": a, "b": b, "similarity": sim}, oov))


# -- neighbours ----------------------------------------------------------------------------


@router.get("/neighbors", response_model=NeighborsResponse, summary="Nearest neighbours of a word")
async def get_neighbors(
    request: Request,
    model: Model,
    word: Annotated[Word, Query(examples=["frog"])],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    method: Method = "3cosadd",
    restrict_vocab: Annotated[int | None, Query(ge=1, le=MAX_RESTRICT_VOCAB)] = None,
    exact: bool = False,
) -> FastJSONResponse:
    budget.check_neighbours([k], model.longest_word_bytes)
    query = NeighbourQuery(positive=[word], k=k, method=method, restrict_vocab=restrict_vocab, exact=exact)
    inline = _is_cheap(model, exact, method, restrict_vocab)
    (result,) = await _compute(request, inline, engine.neighbours, model, [query])
    record_queries(model.name, [result])
    return FastJSONResponse(_neighbours_body(model, result))


@router.post(
    "/neighbors",
    response_model=NeighborsResponse | TextNeighborsResponse,
    summary="Neighbours of a weighted combination of words and vectors (most_similar, similar_by_vector), "
    "or of a text",
)
async def post_neighbors(request: Request, model: Model, body: NeighborsBody) -> FastJSONResponse:
    if isinstance(body, TextNeighborsQuery):
        budget.check_neighbours([body.k], model.longest_word_bytes)
        return FastJSONResponse(await _compute(request, False, text_queries.neighbours, model, body))
    budget.check_terms(len(body.positive), len(body.negative))
    budget.check_neighbours([body.k], model.longest_word_bytes)
    query = _to_engine(body)
    inline = _is_cheap(model, body.exact, body.method, body.restrict_vocab)
    (result,) = await _compute(request, inline, engine.neighbours, model, [query])
    record_queries(model.name, [result])
    return FastJSONResponse(_neighbours_body(model, result))


@router.post(
    "/neighbors/batch", response_model=NeighborsBatchResponse, summary="Many neighbour queries at once"
)
async def post_neighbors_batch(
    request: Request, model: Model, body: NeighborsBatchRequest
) -> FastJSONResponse:
    for q in body.queries:
        budget.check_terms(len(q.positive), len(q.negative))
    budget.check_neighbours((q.k for q in body.queries), model.longest_word_bytes)
    queries = [_to_engine(q) for q in body.queries]
    heavy = len(queries) > HEAVY_BATCH
    results = await run_bounded(request, engine.neighbours, model, queries, heavy=heavy)
    record_queries(model.name, results)
    return FastJSONResponse({"model": model.name, "results": [_neighbours_body(model, r) for r in results]})


# -- analogies -----------------------------------------------------------------------------


@router.get("/analogy", response_model=AnalogyResponse, summary="a is to b as c is to ?")
async def get_analogy(
    request: Request,
    model: Model,
    a: Annotated[Word, Query(examples=["man"])],
    b: Annotated[Word, Query(examples=["king"])],
    c: Annotated[Word, Query(examples=["woman"])],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    method: Method = "3cosadd",
    restrict_vocab: Annotated[int | None, Query(ge=1, le=MAX_RESTRICT_VOCAB)] = None,
    exact: bool = False,
) -> FastJSONResponse:
    budget.check_neighbours([k], model.longest_word_bytes)
    inline = _is_cheap(model, exact, method, restrict_vocab)
    (result,) = await _compute(
        request, inline, engine.analogies, model, [(a, b, c)], k, method, restrict_vocab, exact
    )
    record_queries(model.name, [result])
    return FastJSONResponse(_analogy_body(model, result))


@router.post("/analogy", response_model=AnalogyBatchResponse, summary="A batch of analogy questions")
async def post_analogy(request: Request, model: Model, body: AnalogyBatchRequest) -> FastJSONResponse:
    budget.check_neighbours([body.k] * len(body.questions), model.longest_word_bytes)
    questions = [(q.a, q.b, q.c) for q in body.questions]
    heavy = len(questions) > HEAVY_BATCH
    results = await run_bounded(
        request,
        engine.analogies,
        model,
        questions,
        body.k,
        body.method,
        body.restrict_vocab,
        body.exact,
        heavy=heavy,
    )
    record_queries(model.name, results)
    return FastJSONResponse({"model": model.name, "results": [_analogy_body(model, r) for r in results]})


# -- doesnt-match and evaluate -------------------------------------------------------------


@router.post(
    "/doesnt-match", response_model=DoesntMatchResponse, summary="The word that fits least (doesnt_match)"
)
async def post_doesnt_match(model: Model, body: DoesntMatchRequest) -> FastJSONResponse:
    used, ranking, oov = engine.doesnt_match(model, body.words)
    built = set(oov)
    return FastJSONResponse(
        with_oov(
            {
                "model": model.name,
                "words": used,
                "doesnt_match": ranking[-1][1],
                "ranking": [
                    {"word": w, "similarity": s, **({"oov": True} if w in built else {})} for s, w in ranking
                ],
            },
            oov,
        )
    )


@router.post(
    "/evaluate", response_model=EvaluateResponse, summary="Evaluate on a benchmark, gensim's accounting"
)
async def post_evaluate(request: Request, model: Model, body: EvaluateRequest) -> FastJSONResponse:
    options = {
        "restrict_vocab": body.restrict_vocab,
        "case_insensitive": body.case_insensitive,
        "dummy4unknown": body.dummy4unknown,
        "subwords": body.subwords,
    }
    name: str
    if body.benchmark is not None:
        benchmark = body.benchmark
        result = await run_bounded(
            request, lambda: evaluate_benchmark(model.kv, benchmark, **options), heavy=True
        )
        name = benchmark
    else:
        assert body.items is not None and body.kind is not None
        items, kind = body.items, body.kind
        result = await run_bounded(
            request, lambda: evaluate_lines(model.kv, kind, items, **options), heavy=True
        )
        name = "items"
    result.pop("benchmark", None)
    kind = result.pop("kind")
    return FastJSONResponse({"model": model.name, "benchmark": name, "kind": kind, "result": result})
