"""The OpenAPI document against the server that publishes it. schemathesis generates valid and
invalid requests for every operation from the spec the app serves, sends them to the real app
(ASGI, real models) and runs all its checks on every answer: no 5xx; status codes, content
types, headers (`Allow` on a 405) and bodies as declared; invalid data refused. Two checks of
our own: every error is problem+json, and valid data is accepted except where only the model
can know the answer (see CONTEXT_PROBLEMS). The OpenAI-compatible routes answer errors in OpenAI's
`{"error": {...}}` shape instead, which its clients parse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig

from firth_service.app import create_app
from firth_service.errors import OPENAI_CODES, OPENAI_PREFIX, PROBLEM_JSON
from firth_service.registry import ModelRegistry
from tests.conftest import exact_settings, suite_option

# Per operation and phase: about a minute for all of them on a 2-core machine. A deeper run:
# FIRTH_SCHEMATHESIS_EXAMPLES=500 .venv/bin/python -m pytest tests/service/test_schemathesis.py
# (tests/conftest.py clears the FIRTH_* environment before this module is imported, keeping this one)
MAX_EXAMPLES = int(suite_option("FIRTH_SCHEMATHESIS_EXAMPLES", "30"))
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES},
        # replaced by valid_data_accepted below, which knows what the schema cannot
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            # schemathesis' list plus 413: a schema-violating body can also be too large (texts of
            # 100,000+ characters), and the body limit answers before validation, as it should
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ]
            },
        },
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
    # a text none of whose words the model knows (the word forms' unknown-word, for texts)
    "/problems/empty-text": "the model's vocabulary, for a whole text",
}
# Uploaded evaluation lines too few of whose words the model knows; t-SNE on fewer points than
# asked (duplicates, a small vocabulary).
CONTEXT_BY_OPERATION: dict[str, set[str]] = {
    "POST /v1/models/{model}/evaluate": {"/problems/invalid-query", "/problems/invalid-input"},
    "POST /v1/models/{model}/project": {"/problems/invalid-query"},
    # texts x tokens per text (or x max_tokens), words x the model's dimension: products, or facts
    # of the model, that JSON Schema cannot bound
    "POST /v1/models/{model}/encode": {"/problems/output-too-large"},
    "POST /v1/models/{model}/embedding-matrix": {"/problems/output-too-large"},
    # whether the model is a classifier (firth train --algorithm supervised) is a fact of the model
    "POST /v1/models/{model}/classify": {"/problems/not-a-classifier"},
    # token ids past the model's vocabulary; texts none of whose words the model knows
    "POST /openai/v1/embeddings": {"/problems/id-out-of-range", "/problems/empty-query"},
    # The app here has no admin key on purpose: a reload would re-read the models directory under
    # the registry every test shares. The 403 is declared; tests/service/test_reload.py sends the key.
    "POST /admin/reload": {"/problems/admin-disabled"},
}


def _is_openai(case: schemathesis.Case) -> bool:
    return case.operation.path.startswith(OPENAI_PREFIX)


def _body(response: Any) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), body
    return body


def _problem_type(response: Any, case: schemathesis.Case) -> str | None:
    """The problem's type; from an OpenAI error, the firth slug its `code` carries."""
    if not _is_openai(case):
        return _body(response).get("type")
    code = _body(response)["error"]["code"]
    slug = {code: slug for slug, code in OPENAI_CODES.items()}.get(code, code.replace("_", "-"))
    return "/problems/" + slug


def _media_type(response: Any) -> str:
    media_type = response.headers.get("content-type", [""])
    media_type = media_type[0] if isinstance(media_type, list) else media_type
    return str(media_type).split(";")[0]


def errors_are_openai_errors(response: Any) -> None:
    """OpenAI's shape: 400 for invalid input (never 422), a server_error type only for a 5xx."""
    assert _media_type(response) == "application/json", (
        f"a {response.status_code} answered as {_media_type(response)}"
    )
    assert response.status_code != 422, response.text
    body = _body(response)
    assert body.keys() == {"error"}, body
    error = body["error"]
    assert error.keys() == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["code"], str) and error["code"], error
    assert error["param"] is None or isinstance(error["param"], str), error
    expected = "server_error" if response.status_code >= 500 else "invalid_request_error"
    if response.status_code == 429:  # OpenAI's rate-limit error, which its clients retry
        expected = "requests"
    assert error["type"] == expected, error


def errors_are_problem_json(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    if response.status_code < 400:
        return
    if _is_openai(case):
        errors_are_openai_errors(response)
        return
    media_type = _media_type(response)
    assert media_type == PROBLEM_JSON, f"a {response.status_code} answered as {media_type}"
    problem = _body(response)
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys(), problem
    assert problem["status"] == response.status_code, problem


def valid_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    problem_type = _problem_type(response, case)
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


def test_the_run_covers_the_openai_routes() -> None:
    """The OpenAI-shape branch of errors_are_problem_json is exercised, not skipped."""
    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert {"POST /openai/v1/embeddings", "GET /openai/v1/models"} <= labels, labels


def test_the_run_covers_every_operation() -> None:
    """A guard for the test above: the document parametrised is the whole API."""
    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert len(labels) >= 19 and "POST /v1/models/{model}/project" in labels, labels


@pytest.mark.slow
def test_the_examples_variable_sets_the_examples_per_operation() -> None:
    """FIRTH_SCHEMATHESIS_EXAMPLES survives tests/conftest.py's clearing of the FIRTH_* environment
    and sets hypothesis' max_examples (one operation, run in a pytest of its own)."""
    env = {**os.environ, "FIRTH_SCHEMATHESIS_EXAMPLES": "3"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-show-statistics",
            "-k",
            "POST and n-similarity",
            __file__,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "max_examples=3" in run.stdout, run.stdout[-3000:]
    assert "max_examples=30" not in run.stdout
