"""The disagreements schemathesis found between the spec and the server, each pinned down."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from firth_service.openapi_export import openapi_document

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


def request_valid(path: str, body: dict[str, Any]) -> bool:
    """Whether `body` is valid for POST `path` as documented: for the word queries, one of the
    word form and the text form."""
    operation = DOCUMENT["paths"][f"/v1/models/{{model}}/{path}"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": DOCUMENT["components"]}).is_valid(body)


PAIR = {"text_pairs": [["king queen", "man woman"]]}
MATRIX = {"texts_a": ["king queen"], "texts_b": ["man woman"]}
EMBED = {"texts": ["king queen"]}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("neighbors", {"text": "king queen", "exact": 0}, "exact"),
        ("neighbors", {"text": "king queen", "exact": "false"}, "exact"),
        ("neighbors", {"text": "king queen", "k": "3"}, "k"),
        ("neighbors", {"text": "king queen", "k": True}, "k"),
        ("neighbors", {"text": "king queen", "k": 2.5}, "k"),
        ("neighbors", {"text": "king queen", "restrict_vocab": 1.5}, "restrict_vocab"),
        ("similarity", {**PAIR, "pre_normalize": 0}, "pre_normalize"),
        ("similarity", {**PAIR, "sif_a": "0.5", "pooling": "sif"}, "sif_a"),
        ("similarity", {**PAIR, "sif_a": True, "pooling": "sif"}, "sif_a"),
        ("similarity/matrix", {**MATRIX, "pre_normalize": "true"}, "pre_normalize"),
        ("embed", {**EMBED, "post_normalize": 1}, "post_normalize"),
        ("embed", {**EMBED, "pre_normalize": 0}, "pre_normalize"),
        ("embed", {**EMBED, "sif_a": "0.01", "pooling": "sif"}, "sif_a"),
    ],
)
async def test_text_forms_do_not_coerce_booleans_and_numbers(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert not request_valid(path, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"
    assert any(field in error["loc"] for error in response.json()["errors"]), response.json()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("neighbors", {"text": "king queen", "k": 3.0, "exact": True}),
        ("similarity", {**PAIR, "pooling": "sif", "sif_a": 1, "pre_normalize": False}),
        ("similarity/matrix", {**MATRIX, "pooling": "sif", "sif_a": 0.5}),
        ("embed", {**EMBED, "pooling": "mean", "sif_a": 1, "post_normalize": True}),
    ],
)
async def test_text_forms_take_what_their_schema_allows(
    api: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    """An integer is a JSON number (sif_a 1), a whole float a JSON integer (k 3.0)."""
    assert request_valid(path, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("neighbors", {"text": "king", "positive": ["queen"]}),
        ("similarity", {**PAIR, "pairs": [["king", "queen"]]}),
        ("similarity/matrix", {**MATRIX, "a": ["king"], "b": ["queen"]}),
        ("similarity/matrix", {"texts_a": ["king"]}),
    ],
)
async def test_a_body_mixing_or_missing_the_forms_is_refused_as_documented(
    api: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    assert not request_valid(path, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"


@pytest.mark.anyio
async def test_a_text_without_a_known_word_is_valid_data_the_model_refuses(api: httpx.AsyncClient) -> None:
    """Why the schemathesis check allows /problems/empty-text: the schema cannot know the vocabulary."""
    body = {"text": "qwzx zzqv"}
    assert request_valid("neighbors", body)
    response = await api.post(f"{M}/neighbors", json=body)
    assert response.status_code == 422 and response.json()["type"] == "/problems/empty-text"


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


# -- the text-to-ids and OpenAI-compatible endpoints -----------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("schema", "path", "body", "field"),
    [
        ("EncodeRequest", "encode", {"texts": ["a cat"], "ragged": 0}, "ragged"),
        ("EncodeRequest", "encode", {"texts": ["a cat"], "ragged": "true"}, "ragged"),
        ("EncodeRequest", "encode", {"texts": ["a cat"], "max_tokens": "5"}, "max_tokens"),
        ("EncodeRequest", "encode", {"texts": ["a cat"], "max_tokens": True}, "max_tokens"),
        (
            "EncodeRequest",
            "encode",
            {"texts": ["a cat"], "output_sequence_length": 2.5},
            "output_sequence_length",
        ),
        (
            "EncodeRequest",
            "encode",
            {"texts": ["a"], "output_mode": "count", "pad_to_max_tokens": 1},
            "pad_to_max_tokens",
        ),
        ("EmbeddingMatrixRequest", "embedding-matrix", {"max_tokens": 5, "normalize": 0}, "normalize"),
        ("EmbeddingMatrixRequest", "embedding-matrix", {"max_tokens": 5.5}, "max_tokens"),
    ],
)
async def test_encode_booleans_and_numbers_are_not_coerced(
    api: httpx.AsyncClient, schema: str, path: str, body: dict[str, Any], field: str
) -> None:
    assert not valid(schema, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"
    assert any(field in error["loc"] for error in response.json()["errors"]), response.json()


@pytest.mark.anyio
async def test_encode_whole_floats_are_integers(api: httpx.AsyncClient) -> None:
    body = {"texts": ["the king"], "output_sequence_length": 3.0, "max_tokens": 5.0}
    assert valid("EncodeRequest", body)
    response = await api.post(f"{M}/encode", json=body)
    assert response.status_code == 200 and len(response.json()["ids"][0]) == 3, response.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("schema", "path", "body"),
    [
        ("EncodeRequest", "encode", {"texts": ["a"], "output_mode": "count", "output_sequence_length": 3}),
        ("EncodeRequest", "encode", {"texts": ["a"], "output_mode": "multi_hot", "ragged": True}),
        ("EncodeRequest", "encode", {"texts": ["a"], "output_mode": "count", "pad_to_max_tokens": True}),
        ("EncodeRequest", "encode", {"texts": ["a"], "max_tokens": 5, "pad_to_max_tokens": True}),
        ("EmbeddingMatrixRequest", "embedding-matrix", {}),
        ("EmbeddingMatrixRequest", "embedding-matrix", {"vocabulary": ["cat"], "max_tokens": 5}),
        ("EmbeddingMatrixRequest", "embedding-matrix", {"vocabulary": None, "max_tokens": None}),
    ],
)
async def test_encode_cross_field_rules_are_in_the_schema_and_enforced(
    api: httpx.AsyncClient, schema: str, path: str, body: dict[str, Any]
) -> None:
    assert not valid(schema, body)
    response = await api.post(f"{M}/{path}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("EncodeRequest", {"texts": ["a"], "output_sequence_length": 3, "ragged": False}),
        (
            "EncodeRequest",
            {"texts": ["a"], "output_mode": "count", "max_tokens": 5, "pad_to_max_tokens": True},
        ),
        ("EncodeRequest", {"texts": ["a"], "output_mode": "tf_idf", "output_sequence_length": None}),
        ("EmbeddingMatrixRequest", {"max_tokens": 5, "vocabulary": None}),
        ("EmbeddingMatrixRequest", {"vocabulary": ["", "[UNK]", "cat"], "format": "json"}),
        ("EmbeddingsRequest", {"model": "tiny", "input": [[2, 3.0]], "dimensions": 3.0}),
        ("EmbeddingsRequest", {"model": "tiny", "input": "cat", "a_newer_client_field": 1}),
    ],
)
def test_what_the_text_endpoints_accept_the_schema_accepts(schema: str, body: dict[str, Any]) -> None:
    assert valid(schema, body)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "tiny", "input": "cat", "dimensions": "3"}, "dimensions"),
        ({"model": "tiny", "input": "cat", "dimensions": True}, "dimensions"),
        ({"model": "tiny", "input": "cat", "dimensions": 0}, "dimensions"),
        ({"model": "tiny", "input": [2, 2.5]}, "input"),
        ({"model": "tiny", "input": [True]}, "input"),
        ({"model": "tiny", "input": [-1]}, "input"),
        ({"model": "tiny", "input": ["2"], "user": 7}, "user"),
    ],
)
async def test_openai_numbers_are_not_coerced_and_errors_keep_openai_shape(
    api: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    assert not valid("EmbeddingsRequest", body)
    response = await api.post("/openai/v1/embeddings", json=body)
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "validation_error", error
    assert error["param"] == param, error


@pytest.mark.anyio
async def test_openai_whole_floats_are_integers_and_unknown_fields_are_ignored(
    api: httpx.AsyncClient,
) -> None:
    body = {"model": "tiny", "input": [[2, 3.0]], "dimensions": 3.0, "a_newer_client_field": {"x": 1}}
    assert valid("EmbeddingsRequest", body)
    response = await api.post("/openai/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    assert (
        len(response.json()["data"][0]["embedding"]) == 3 and response.json()["usage"]["prompt_tokens"] == 2
    )


@pytest.mark.anyio
@pytest.mark.parametrize("params", [{"limit": "2.5"}, {"limit": "true"}, {"offset": "-1"}, {"limit": "0"}])
async def test_vocabulary_query_numbers_are_checked(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await api.get(f"{M}/vocabulary", params=params)
    assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"
