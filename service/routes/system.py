"""Process and model endpoints: health, readiness, the model list, the error catalogue."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

from service.errors import problem, problem_catalogue
from service.registry import LoadedModel, ModelRegistry
from service.responses import FastJSONResponse
from service.schemas import ModelInfo, ModelList

router = APIRouter()


def model_info(model: LoadedModel, default: bool) -> dict[str, Any]:
    meta = dict(model.meta)
    return {
        "name": model.name,
        "default": default,
        "dim": model.kv.dim,
        "vocab_size": len(model.kv),
        "index_kinds": model.index_kinds,
        "hnsw_status": model.hnsw_status,
        "sha256": model.sha256,
        "standardize": model.kv.standardize_name,
        "meta": meta,
        "evaluation": meta.get("evaluation"),
    }


def _registry(request: Request) -> ModelRegistry | None:
    return getattr(request.app.state, "registry", None)


@router.get("/healthz", tags=["system"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["system"], summary="Models are loaded and answer a canary query")
async def readyz(request: Request) -> Response:
    registry = _registry(request)
    if registry is None:
        return problem(503, "not-ready", "Not ready", "models are still loading", request.url.path)
    status: dict[str, Any] = {}
    for model in registry.all():
        index = model.index_for(exact=False, restrict_vocab=None)
        scores, ids = index.search(model.kv.unit[:1], 1)
        if ids[0, 0] != 0 or not np.isfinite(scores[0, 0]):
            return problem(
                503, "not-ready", "Not ready", f"canary query failed on {model.name}", request.url.path
            )
        status[model.name] = {"index": index.kind, "hnsw_status": model.hnsw_status}
    return FastJSONResponse({"status": "ready", "models": status})


@router.get("/v1/models", response_model=ModelList, tags=["models"], summary="Models served")
async def list_models(request: Request) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    return FastJSONResponse(
        {"models": [model_info(m, m.name == registry.default_name) for m in registry.all()]}
    )


@router.get("/v1/models/{model}", response_model=ModelInfo, tags=["models"], summary="One model")
async def get_model_info(request: Request, model: str) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    found = registry.get(model)
    return FastJSONResponse(model_info(found, found.name == registry.default_name))


@router.get("/problems", tags=["system"], summary="Every error type the service answers with")
async def problems() -> dict[str, Any]:
    return {"problems": problem_catalogue()}
