"""Sentence vectors: POST /v1/models/{model}/embed (texts in the word queries: routes/queries.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from firth_service import text_queries
from firth_service.responses import FastJSONResponse
from firth_service.routes.queries import Model
from firth_service.schemas import problem_responses
from firth_service.schemas_text import EmbedRequest, EmbedResponse

router = APIRouter(
    prefix="/v1/models/{model}", tags=["text"], responses=problem_responses(400, 404, 413, 415, 422)
)


@router.post("/embed", response_model=EmbedResponse, summary="Sentence vectors of texts (mean or SIF)")
async def post_embed(model: Model, body: EmbedRequest) -> FastJSONResponse:
    return FastJSONResponse(await run_in_threadpool(text_queries.embed, model, body))
