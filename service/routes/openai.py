"""OpenAI-compatible embeddings at /openai/v1: `POST /embeddings` and `GET /models`, so OpenAI's
clients (and LangChain's OpenAIEmbeddings) can use firth by changing their base URL.

A vector is the unit-length mean of the text's unit word vectors (gensim's get_mean_vector with
post_normalize); a subword model's unknown words count with their n-gram vectors. Errors use OpenAI's `{"error": {...}}` shape (service/errors.py, by path prefix).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
from fastapi import APIRouter, Request

from firth_core.errors import DimensionMismatch, EmptyQuery, IdOutOfRange
from firth_core.pooling import sentence_vectors, text_rows
from firth_core.text import TextPipeline
from firth_service import budget
from firth_service.admission import HEAVY_TOKEN_IDS, heavy_texts
from firth_service.openai_schemas import EmbeddingsRequest, EmbeddingsResponse, OpenAIError, OpenAIModelList
from firth_service.registry import LoadedModel, ModelRegistry
from firth_service.responses import FastJSONResponse
from firth_service.work import run_sized

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIError, "description": description}
    for status, description in {
        400: "Invalid request (OpenAI's invalid_request_error)",
        404: "Unknown model (code model_not_found)",
        413: "Request body too large",
        415: "Request body not sent as JSON",
        429: "Too many requests in flight, or too many large ones (code rate_limit_exceeded); "
        "the Retry-After header says when to come back",
        503: "The request took too long and was stopped",
    }.items()
}
router = APIRouter(prefix="/openai/v1", tags=["openai"], responses=ERRORS)
ID_OFFSET = 2  # encode ids: 0 pad, 1 [UNK], then row + 2


def _inputs(value: str | list[Any]) -> list[str] | list[list[int]]:
    """OpenAI's four input forms as a list of texts or a list of id lists."""
    if isinstance(value, str):
        return [value]
    if all(isinstance(v, int) for v in value):
        return [list(value)]
    return list(value)


def _rows_of_ids(kv_size: int, index: int, ids: list[int]) -> tuple[np.ndarray, int]:
    array = np.asarray(ids, dtype=np.int64)
    bad = (array < 0) | (array >= kv_size + ID_OFFSET)
    if bad.any():
        raise IdOutOfRange(
            f"input[{index}] holds id {int(array[bad][0])}: firth's ids run from 0 to {kv_size + ID_OFFSET - 1} "
            "(0 pad, 1 [UNK], then the words; see GET /v1/models/{model}/vocabulary)"
        )
    tokens = array[array != 0]  # pads are not tokens
    return tokens[tokens >= ID_OFFSET] - ID_OFFSET, int(tokens.size)


def embeddings(model: LoadedModel, body: EmbeddingsRequest) -> dict[str, Any]:
    kv = model.kv
    if body.dimensions is not None and body.dimensions != kv.dim:
        raise DimensionMismatch(kv.dim, body.dimensions)
    inputs = _inputs(body.input)
    rows: list[np.ndarray] = []
    extra: np.ndarray | None = None
    tokens = 0
    if inputs and isinstance(inputs[0], str):
        tokenized = TextPipeline.for_model(kv).tokenize_many(inputs)
        pooled = text_rows(kv, tokenized)  # a subword model's unknown tokens count with n-gram vectors
        rows, extra = pooled.rows, pooled.extra
        tokens = sum(len(text.tokens) for text in tokenized)
    else:
        for i, ids in enumerate(inputs):
            found, count = _rows_of_ids(len(kv), i, ids)  # type: ignore[arg-type]
            rows.append(found)
            tokens += count
    for i, r in enumerate(rows):
        if not len(r):
            raise EmptyQuery(f"input[{i}] has no token in the vocabulary of {model.name}: it has no vector")
    vectors = sentence_vectors(kv, rows, "mean", pre_normalize=True, post_normalize=True, extra=extra)
    data = []
    for i, vector in enumerate(vectors):
        assert vector is not None
        value: Any = vector
        if body.encoding_format == "base64":
            value = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {
        "object": "list",
        "data": data,
        "model": model.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@router.post(
    "/embeddings", response_model=EmbeddingsResponse, summary="Create embeddings (OpenAI-compatible)"
)
async def post_embeddings(request: Request, body: EmbeddingsRequest) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    model = registry.get(body.model)
    per_vector = budget.vector_bytes(model.kv.dim, body.encoding_format) + budget.EMBEDDING_ITEM_BYTES
    budget.check_response(
        len(_inputs(body.input)) * per_vector,
        "send fewer inputs, or encoding_format 'base64' (a third the size)",
    )
    return FastJSONResponse(await run_sized(request, _is_heavy(body), embeddings, model, body))


def _is_heavy(body: EmbeddingsRequest) -> bool:
    """Over 100,000 characters of text, or 20,000 token ids: a heavy slot (429 when none is free)."""
    inputs = _inputs(body.input)
    if inputs and isinstance(inputs[0], str):
        return heavy_texts(inputs)
    return sum(len(ids) for ids in inputs) > HEAVY_TOKEN_IDS


def _created(meta: Mapping[str, Any]) -> int:
    try:
        return int(dt.datetime.fromisoformat(str(meta["created"])).timestamp())
    except (KeyError, ValueError):
        return 0


@router.get("/models", response_model=OpenAIModelList, summary="List models (OpenAI-compatible)")
async def get_models(request: Request) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    return FastJSONResponse(
        {
            "object": "list",
            "data": [
                {"id": m.name, "object": "model", "created": _created(m.meta), "owned_by": "firth"}
                for m in registry.all()
            ],
        }
    )
