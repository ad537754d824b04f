"""The disagreements schemathesis found between the spec and the server, each pinned down."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from service.openapi_export import openapi_document

M = "/v1/models/tiny"
DOCUMENT = openapi_document()


def body_schema(name: str) -> dict[str, Any]:
    """A request body's schema with its $refs resolvable, for jsonschema."""
    return {**DOCUMENT["components"]["schemas"][name], "components": DOCUMENT["components"]}


def valid(name: str, body: dict[str, Any]) -> bool:
    return jsonschema_rs.Draft202012Validator(body_schema(name)).is_valid(body)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"positive": ["king"], "exact": 0}, "exact"),
        ({"positive": ["king"], "exact": "true"}, "exact"),
        ({"positive": ["king"], "k": "3"}, "k"),
        ({"positive": ["king"], "k": True}, "k"),
        ({"positive": ["king"], "k": 2.5}, "k"),
        ({"positive": [{"word": "king", "weight": "1"}]}, "weight"),
    ],
)
async def test_booleans_and_numbers_are_not_coerced(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert not valid("NeighborsQuery", body)
    response = await api.post(f"{M}/neighbors", json=body)
    assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"
    assert any(field in error["loc"] for error in response.json()["errors"]), response.json()


@pytest.mark.anyio
async def test_a_whole_float_is_an_integer_as_json_schema_says(api: httpx.AsyncClient) -> None:
    body = {"positive": ["king"], "k": 3.0}
    assert valid("NeighborsQuery", body)
    response = await api.post(f"{M}/neighbors", json=body)
    assert response.status_code == 200 and len(response.json()["neighbors"]) == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("schema", "path", "body"),
    [
        ("NeighborsQuery", "neighbors", {}),
        ("NeighborsQuery", "neighbors", {"positive": [], "negative": []}),
        ("NeighborsQuery", "neighbors", {"negative": ["king"], "method": "3cosmul"}),
        ("NeighborsQuery", "neighbors", {"positive": [{"word": "king", "weight": 2}], "method": "3cosmul"}),
        ("NeighborsQuery", "neighbors", {"positive": [{"weight": 2}]}),
        ("NeighborsQuery", "neighbors", {"positive": [{"word": "king", "vector": [1, 0, 0], "weight": 2}]}),
        ("EvaluateRequest", "evaluate", {}),
        ("EvaluateRequest", "evaluate", {"benchmark": "wordsim353", "items": ["a\tb\t1"], "kind": "pairs"}),
        ("EvaluateRequest", "evaluate", {"items": ["a\tb\t1"]}),
        ("EvaluateRequest", "evaluate", {"benchmark": "wordsim353", "kind": "pairs"}),
        ("ProjectRequest", "project", {}),
        ("ProjectRequest", "project", {"word": "king", "words": ["queen"]}),
        ("ProjectRequest", "project", {"words": ["king", "queen"], "depth": 2}),
        ("ProjectRequest", "project", {"word": "king", "depth": 2, "k": 22}),
        ("ProjectRequest", "project", {"word": "king", "perplexity": 5}),
    ],
)
async def test_one_of_rules_are_in_the_schema_and_enforced(
    api: httpx.AsyncClient, schema: str, path: str, body: dict[str, Any]
) -> None:
    assert not valid(schema, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("NeighborsQuery", {"negative": ["king"]}),
        ("NeighborsQuery", {"positive": [{"word": "king", "weight": 2}, [1, 0, 0]], "method": "3cosadd"}),
        ("NeighborsQuery", {"positive": ["king", [1, 0, 0]], "negative": ["man"], "method": "3cosmul"}),
        ("EvaluateRequest", {"benchmark": "wordsim353", "items": None}),
        ("EvaluateRequest", {"items": ["a\tb\t1"], "kind": "pairs"}),
        ("ProjectRequest", {"word": "king", "depth": 2, "k": 21, "projection": "tsne", "perplexity": 5}),
        ("ProjectRequest", {"analogy": {"a": "man", "b": "king", "c": "woman"}, "words": None}),
    ],
)
def test_what_the_server_accepts_the_schema_accepts(schema: str, body: dict[str, Any]) -> None:
    assert valid(schema, body)


@pytest.mark.anyio
async def test_oov_null_answers_a_null_word_and_the_schema_allows_it(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{M}/vectors", json={"words": ["king", "qwzx"], "oov": "null"})
    assert response.status_code == 200
    body = response.json()
    assert body["vectors"][1] == {"word": None, "input": "qwzx", "vector": None}
    jsonschema_rs.Draft202012Validator(body_schema("VectorsResponse")).validate(body)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", f"{M}/similarity", "GET, POST"),
        ("DELETE", f"{M}/neighbors", "GET, POST"),
        ("OPTIONS", f"{M}/analogy", "GET, POST"),
        ("POST", f"{M}/vectors/king", "GET"),
        ("GET", f"{M}/evaluate", "POST"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["type"] == "/problems/method-not-allowed"
    documented = {
        m.upper() for m in DOCUMENT["paths"][path.replace("tiny", "{model}").replace("/king", "/{word}")]
    }
    assert set(allow.split(", ")) == documented


@pytest.mark.anyio
@pytest.mark.parametrize(
    "items",
    [
        ["king\tqueen\t5", "man\twoman\t5"],  # the human scores are constant
        ["king\tqueen\t5", "king\tqueen\t7"],  # the model's are
    ],
)
async def test_an_undefined_correlation_is_null_not_an_error(
    api: httpx.AsyncClient, items: list[str]
) -> None:
    response = await api.post(f"{M}/evaluate", json={"kind": "pairs", "items": items})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["pearson"] is None and result["spearman"] is None
