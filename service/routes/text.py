"""Sentence vectors and labels: POST /v1/models/{model}/embed and /classify (texts in the word
queries: routes/queries.py)."""

from __future__ import annotations

from fastapi import Request

from firth_service import budget, text_queries
from firth_service.admission import HEAVY_BATCH, heavy_texts
from firth_service.responses import FastJSONResponse
from firth_service.routes.queries import Model, model_router
from firth_service.schemas import problem_responses
from firth_service.schemas_text import ClassifyRequest, ClassifyResponse, EmbedRequest, EmbedResponse
from firth_service.work import run_sized

router = model_router("text")
_BUSY = problem_responses(429, 503)


@router.post("/embed", response_model=EmbedResponse, summary="Sentence vectors of texts (mean or SIF)")
async def post_embed(request: Request, model: Model, body: EmbedRequest) -> FastJSONResponse:
    budget.check_response(
        len(body.texts) * budget.vector_bytes(model.kv.dim, body.encoding),
        "send fewer texts, or encoding 'base64' (a third the size)",
    )
    heavy = heavy_texts(body.texts)  # over 100,000 characters: a heavy slot, or 429
    return FastJSONResponse(await run_sized(request, heavy, text_queries.embed, model, body))


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="Labels of texts with probabilities (a classifier trained with --algorithm supervised)",
    responses=_BUSY,
)
async def post_classify(request: Request, model: Model, body: ClassifyRequest) -> FastJSONResponse:
    heavy = len(body.texts) > HEAVY_BATCH  # a batch holds one of the worker's heavy slots (429 if none)
    return FastJSONResponse(await run_sized(request, heavy, text_queries.classify, model, body))
