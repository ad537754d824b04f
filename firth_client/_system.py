"""The service and its models: probes, metrics, the problem catalogue, model descriptions, reload.

Every operation function takes the client's model first (positional-only) and the method's own
arguments after it, with the method's defaults and docstring (firth_client/_method.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from firth_client._calls import Call, call
from firth_client.results import Health, ModelInfo, ProblemType, Readiness, ReloadResult


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


def health(_model: str, /) -> Call[Health]:
    """GET /healthz: the process is alive. Probes are never retried."""
    return call("GET", "/healthz", lambda r: Health(str(r.json()["status"])), idempotent=False)


def ready(_model: str, /) -> Call[Readiness]:
    """GET /readyz: models loaded and answering; ServiceUnavailableError when not (yet)."""

    def parse(r: httpx.Response) -> Readiness:
        body = r.json()
        return Readiness(str(body["status"]), dict(body["models"]))

    return call("GET", "/readyz", parse, idempotent=False)


def metrics(_model: str, /) -> Call[str]:
    """GET /metrics: Prometheus text exposition."""
    return call("GET", "/metrics", lambda r: r.text)


def problems(_model: str, /) -> Call[list[ProblemType]]:
    """GET /problems: every error type the service answers with."""

    def parse(r: httpx.Response) -> list[ProblemType]:
        return [ProblemType(p["type"], int(p["status"]), p["title"]) for p in r.json()["problems"]]

    return call("GET", "/problems", parse)


def models(_model: str, /) -> Call[list[ModelInfo]]:
    """GET /v1/models: every model served."""
    return call("GET", "/v1/models", lambda r: [_model_info(m) for m in r.json()["models"]])


def model_info(client_model: str, /, model: str | None = None) -> Call[ModelInfo]:
    """One model's description (this client's model unless named)."""
    return call("GET", "/v1/models/{model}", lambda r: _model_info(r.json()), model=model or client_model)


def reload_models(_model: str, /) -> Call[ReloadResult]:
    """POST /admin/reload: re-read the models directory in every worker (needs the admin key
    when the server sets one)."""

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

    return call("POST", "/admin/reload", parse)  # a second reload finds nothing new: safe to repeat
