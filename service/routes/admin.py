"""Operator endpoints under /admin (service/auth.py decides who may call them)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from firth_service.registry import ModelRegistry
from firth_service.reload import ask_siblings_to_reload, reload_models
from firth_service.responses import FastJSONResponse
from firth_service.settings import Settings

router = APIRouter(prefix="/admin", tags=["admin"])
RELOAD_EXAMPLE: dict[str, Any] = {
    "worker": 4242,
    "added": ["fasttext-en"],
    "removed": [],
    "reloaded": ["glove-6b-50d"],
    "failed": {
        "wiki-w2v": "models/wiki-w2v/vectors.npy: sha256 does not match meta.json (file changed or corrupt)"
    },
    "unchanged": ["tiny"],
    "others_reloading": True,
}


class ReloadResponse(BaseModel):
    """What the reload did in the worker that answered."""

    worker: int = Field(description="Process id of the worker that answered.")
    added: list[str] = Field(description="Models that appeared.")
    removed: list[str] = Field(description="Models whose directory is gone.")
    reloaded: list[str] = Field(description="Models whose files changed, loaded, verified and swapped in.")
    failed: dict[str, str] = Field(
        description="Model (or new directory) -> why its new version failed; a served model's old version stays."
    )
    unchanged: list[str]
    others_reloading: bool = Field(
        description="The other workers were asked to reload too (the answer is then 202: they may still be at it)."
    )
    model_config = ConfigDict(json_schema_extra={"examples": [RELOAD_EXAMPLE]})


@router.post(
    "/reload",
    response_model=ReloadResponse,
    status_code=200,
    summary="Re-read the models directory in every worker (as SIGHUP)",
    description=(
        "Runs the reload in the worker that receives the request and answers what changed there, "
        "then asks the supervisor to reload too (as on SIGHUP: it signals every worker); with "
        "several workers the answer is 202 because the others may still be loading. A version that "
        "fails keeps the old one serving and reports `load_error` in `GET /v1/models/{model}`."
    ),
    responses={
        202: {"model": ReloadResponse, "description": "Reloaded here; the other workers are reloading"}
    },
)
async def reload(request: Request) -> FastJSONResponse:
    registry: ModelRegistry = request.app.state.registry
    settings: Settings = request.app.state.settings
    report = await run_in_threadpool(reload_models, registry, settings)
    # the supervisor reloads its own registry (for workers forked later) and signals every worker
    others = ask_siblings_to_reload() and settings.workers > 1
    body = {"worker": os.getpid(), **dataclasses.asdict(report), "others_reloading": others}
    return FastJSONResponse(body, status_code=202 if others else 200)
