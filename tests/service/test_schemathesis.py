"""The OpenAPI document against the server that publishes it. schemathesis generates valid and
invalid requests for every operation from the spec the app serves, sends them to the real app
(ASGI, real models) and runs all its checks on every answer: no 5xx; status codes, content
types, headers (`Allow` on a 405) and bodies as declared; invalid data refused. Two checks of
our own: every error is problem+json, and valid data is accepted except where only the model
can know the answer (see CONTEXT_PROBLEMS)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig

from service.app import create_app
from service.errors import PROBLEM_JSON
from service.registry import ModelRegistry
from tests.conftest import exact_settings

# Per operation and phase: about a minute for all of them on a 2-core machine. A deeper run:
# FIRTH_SCHEMATHESIS_EXAMPLES=500 .venv/bin/python -m pytest tests/service/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("FIRTH_SCHEMATHESIS_EXAMPLES", "30"))
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES},
        # replaced by valid_data_accepted below, which knows what the schema cannot
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)
# The document exactly as GET /openapi.json serves it (it does not depend on the models loaded).
schema = schemathesis.openapi.from_dict(create_app(exact_settings()).openapi(), config=CONFIG)

# What a schema-valid request may still be refused for: facts of the model it is sent to, which
# no static schema can state. Every other refusal of valid data is a disagreement.
CONTEXT_PROBLEMS: dict[str, str] = {
    "/problems/unknown-model": "the models served",
    "/problems/unknown-word": "the model's vocabulary",
    "/problems/dimension-mismatch": "the model's dimension",
    "/problems/invalid-vector": "zero, Inf or float32-overflowing vectors, or words that cancel out",
}
# Uploaded evaluation lines too few of whose words the model knows; t-SNE on fewer points than
# asked (duplicates, a small vocabulary).
CONTEXT_BY_OPERATION: dict[str, set[str]] = {
    "POST /v1/models/{model}/evaluate": {"/problems/invalid-query", "/problems/invalid-input"},
    "POST /v1/models/{model}/project": {"/problems/invalid-query"},
}


def _problem(response: Any) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), body
    return body


def errors_are_problem_json(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", [""])
    media_type = media_type[0] if isinstance(media_type, list) else media_type
    assert media_type.split(";")[0] == PROBLEM_JSON, f"a {response.status_code} answered as {media_type}"
    problem = _problem(response)
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys(), problem
    assert problem["status"] == response.status_code, problem


def valid_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    problem_type = _problem(response).get("type")
    allowed = CONTEXT_PROBLEMS.keys() | CONTEXT_BY_OPERATION.get(case.operation.label, set())
    assert problem_type in allowed, (
        f"schema-valid request refused with {response.status_code} {problem_type}: "
        f"the schema does not say this is invalid\n{response.text}"
    )


@pytest.fixture(scope="module")
def app(registry: ModelRegistry) -> FastAPI:
    return create_app(exact_settings(), registry)


@schema.parametrize()
def test_every_operation_conforms_to_the_spec(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, additional_checks=[errors_are_problem_json, valid_data_accepted])


def test_the_run_covers_every_operation() -> None:
    """A guard for the test above: the document parametrised is the whole API."""
    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert len(labels) >= 19 and "POST /v1/models/{model}/project" in labels, labels
