"""Every bad input gets a clear RFC 9457 problem+json answer, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from firth_service.settings import MAX_BATCH, MAX_BODY_BYTES, MAX_K, MAX_WORD_CHARS

pytestmark = pytest.mark.anyio
TINY = "/v1/models/tiny"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


async def test_unknown_model(api: httpx.AsyncClient) -> None:
    body = assert_problem(
        await api.get("/v1/models/nope/neighbors", params={"word": "cat"}), 404, "unknown-model"
    )
    assert body["model"] == "nope" and "tiny" in body["available"]


async def test_unknown_word_suggests_close_spellings(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get(f"{TINY}/neighbors", params={"word": "quen"}), 404, "unknown-word")
    assert body["word"] == "quen" and "queen" in body["suggestions"]
    body = assert_problem(
        await api.get(f"{TINY}/similarity", params={"a": "cat", "b": "dgo"}), 404, "unknown-word"
    )
    assert body["word"] == "dgo" and "dog" in body["suggestions"]


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1])
async def test_k_out_of_range(api: httpx.AsyncClient, k: int) -> None:
    body = assert_problem(
        await api.get(f"{TINY}/neighbors", params={"word": "cat", "k": k}), 422, "validation-error"
    )
    assert body["errors"][0]["loc"] == ["query", "k"]


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/vectors", {"words": ["cat"] * (MAX_BATCH + 1)}),
        ("/similarity", {"pairs": [["cat", "dog"]] * (MAX_BATCH + 1)}),
        ("/neighbors/batch", {"queries": [{"positive": ["cat"]}] * (MAX_BATCH + 1)}),
        ("/analogy", {"questions": [{"a": "man", "b": "king", "c": "woman"}] * (MAX_BATCH + 1)}),
    ],
)
async def test_batches_over_the_limit(api: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> None:
    assert_problem(await api.post(f"{TINY}{path}", json=payload), 422, "validation-error")


async def test_word_too_long(api: httpx.AsyncClient) -> None:
    long_word = "a" * (MAX_WORD_CHARS + 1)
    assert_problem(await api.get(f"{TINY}/neighbors", params={"word": long_word}), 422, "validation-error")
    assert_problem(await api.post(f"{TINY}/vectors", json={"words": [long_word]}), 422, "validation-error")


async def test_vector_wrong_dimension(api: httpx.AsyncClient) -> None:
    body = assert_problem(
        await api.post(f"{TINY}/neighbors", json={"positive": [[1.0, 2.0]]}), 422, "dimension-mismatch"
    )
    assert (body["expected"], body["got"]) == (3, 2)


@pytest.mark.parametrize("raw", ["[NaN, 1.0, 0.0]", "[Infinity, 1.0, 0.0]"])
async def test_vector_not_finite(api: httpx.AsyncClient, raw: str) -> None:
    content = '{"positive": [' + raw + "]}"
    response = await api.post(
        f"{TINY}/neighbors", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


async def test_zero_vector_and_cancelling_terms(api: httpx.AsyncClient) -> None:
    assert_problem(
        await api.post(f"{TINY}/neighbors", json={"positive": [[0.0, 0.0, 0.0]]}), 422, "invalid-vector"
    )
    cancel = {"positive": ["cat"], "negative": ["cat"]}
    assert_problem(await api.post(f"{TINY}/neighbors", json=cancel), 422, "invalid-vector")


async def test_empty_queries(api: httpx.AsyncClient) -> None:
    assert_problem(await api.post(f"{TINY}/neighbors", json={}), 422, "empty-query")
    assert_problem(
        await api.post(f"{TINY}/neighbors", json={"negative": ["cat"], "method": "3cosmul"}),
        422,
        "empty-query",
    )
    assert_problem(await api.post(f"{TINY}/vectors", json={"words": []}), 422, "validation-error")
    assert_problem(await api.get(f"{TINY}/neighbors", params={"word": ""}), 422, "validation-error")


async def test_weighted_term_needs_exactly_one_of_word_or_vector(api: httpx.AsyncClient) -> None:
    both = {"positive": [{"word": "cat", "vector": [1, 2, 3], "weight": 1}]}
    assert_problem(await api.post(f"{TINY}/neighbors", json=both), 422, "validation-error")


async def test_body_too_large(api: httpx.AsyncClient) -> None:
    big = b'{"words": ["' + b"a" * (MAX_BODY_BYTES + 10) + b'"]}'
    body = assert_problem(
        await api.post(f"{TINY}/vectors", content=big, headers={"content-type": "application/json"}),
        413,
        "body-too-large",
    )
    assert body["limit_bytes"] == MAX_BODY_BYTES


async def test_body_too_large_without_content_length(api: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(9):
            yield b" " * (1024 * 1024)

    response = await api.post(
        f"{TINY}/vectors", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "body-too-large")


async def test_malformed_json(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{TINY}/vectors", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")


async def test_body_that_is_not_json_gets_415_naming_the_fix(api: httpx.AsyncClient) -> None:
    body = b'{"words": ["cat"]}'
    # curl -d without -H sends a form content type; FastAPI alone would answer 422 "field required".
    for media_type in ("application/x-www-form-urlencoded", "text/plain; charset=utf-8"):
        response = await api.post(f"{TINY}/vectors", content=body, headers={"content-type": media_type})
        problem = assert_problem(response, 415, "unsupported-media-type")
        assert "application/json" in problem["detail"] and media_type in problem["detail"]
    # JSON media types are read: with parameters, +json suffixes, in any case.
    for media_type in ("application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"):
        response = await api.post(f"{TINY}/vectors", content=body, headers={"content-type": media_type})
        assert response.status_code == 200, (media_type, response.text)
    # Raw bytes without a media type: FastAPI would not read them as JSON either.
    request = api.build_request("POST", f"{TINY}/vectors", content=body)
    assert "content-type" not in request.headers
    problem = assert_problem(await api.send(request), 415, "unsupported-media-type")
    assert "no Content-Type" in problem["detail"]
    # Routing and the model lookup come first: a wrong URL or model is still a 404 / 405.
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert_problem(await api.post("/v1/nope", content=body, headers=form), 404, "not-found")
    assert_problem(await api.post("/v1/models", content=body, headers=form), 405, "method-not-allowed")
    assert_problem(
        await api.post("/v1/models/nope/vectors", content=body, headers=form), 404, "unknown-model"
    )
    # Every route that takes a body declares the answer in the schema.
    paths = (await api.get("/openapi.json")).json()["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "requestBody" in ops.get("post", {})}
    assert posts and all("415" in op["responses"] for op in posts.values()), sorted(posts)
    # GET requests carry no body and are never refused for their headers.
    response = await api.get(
        f"{TINY}/neighbors", params={"word": "cat"}, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200


async def test_unknown_fields_and_routes(api: httpx.AsyncClient) -> None:
    assert_problem(
        await api.post(f"{TINY}/vectors", json={"words": ["cat"], "wrods": 1}), 422, "validation-error"
    )
    assert_problem(await api.get("/v2/nothing"), 404, "not-found")
    assert_problem(await api.delete(f"{TINY}/vectors"), 405, "method-not-allowed")


async def test_evaluate_bad_requests(api: httpx.AsyncClient) -> None:
    assert_problem(await api.post(f"{TINY}/evaluate", json={}), 422, "validation-error")
    assert_problem(await api.post(f"{TINY}/evaluate", json={"items": ["a b c d"]}), 422, "validation-error")
    no_header = {"kind": "analogies", "items": ["man king woman queen"]}
    assert_problem(await api.post(f"{TINY}/evaluate", json=no_header), 422, "invalid-input")
    all_oov = {"kind": "pairs", "items": ["zebra\tyak\t3"]}
    assert_problem(await api.post(f"{TINY}/evaluate", json=all_oov), 422, "invalid-query")


async def test_problem_catalogue_lists_every_type(api: httpx.AsyncClient) -> None:
    types = {p["type"] for p in (await api.get("/problems")).json()["problems"]}
    assert {
        "/problems/unknown-word",
        "/problems/unknown-model",
        "/problems/body-too-large",
        "/problems/unsupported-media-type",
        "/problems/invalid-configuration",
    } <= types


def test_a_configuration_error_has_its_own_row_in_the_table() -> None:
    """The CLI prints it on one line; were the service to raise it, it answers 422, not 500."""
    from firth_core.errors import ConfigurationError
    from firth_service.errors import problem_for

    response = problem_for(ConfigurationError("dim must be > 0, got 0"), "/v1/x")
    body = orjson.loads(bytes(response.body))
    assert response.status_code == 422 and body["type"] == "/problems/invalid-configuration"
    assert body["detail"] == "dim must be > 0, got 0"


async def test_review_findings_answer_cleanly(api: httpx.AsyncClient) -> None:
    huge = {"benchmark": "wordsim353", "restrict_vocab": 10**30}
    assert_problem(await api.post(f"{TINY}/evaluate", json=huge), 422, "validation-error")
    assert_problem(
        await api.get(f"{TINY}/neighbors", params={"word": "cat", "restrict_vocab": 2**40}),
        422,
        "validation-error",
    )
    both = {"benchmark": "wordsim353", "kind": "pairs"}
    assert_problem(await api.post(f"{TINY}/evaluate", json=both), 422, "validation-error")
    tiny_perplexity = {
        "words": ["king", "queen", "man", "woman", "the"],
        "projection": "tsne",
        "perplexity": 1e-300,
    }
    assert_problem(await api.post(f"{TINY}/project", json=tiny_perplexity), 422, "validation-error")
    not_utf8 = b'{"words": ["\xff\xfe"]}'  # bytes that are not UTF-8
    response = await api.post(
        f"{TINY}/vectors", content=not_utf8, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")
    body = assert_problem(
        await api.post(f"{TINY}/neighbors", json={"positive": [[3e38, 3e38, 3e38], [3e38, 3e38, 3e38]]}),
        422,
        "invalid-vector",
    )
    assert "overflow" in body["detail"]
    # A finite JSON number beyond float32's range is named, not reported as an Inf the user never sent.
    for terms in ([[1e39, 0.0, 0.0]], [{"vector": [0.0, -4e38, 0.0], "weight": 1.0}]):
        body = assert_problem(
            await api.post(f"{TINY}/neighbors", json={"positive": terms}), 422, "invalid-vector"
        )
        assert "outside float32's range" in body["detail"]
    large = await api.post(f"{TINY}/neighbors", json={"positive": [[1e38, 1e38, 1e38]], "k": 1})
    assert (
        large.status_code == 200 and large.json()["neighbors"][0]["word"] == "the"
    )  # a direction like any other


@pytest.mark.parametrize(
    ("path", "payload", "loc"),
    [
        # each body is a tagged union ("words" | "texts"); the tag must not reach the client
        ("/neighbors", {"positive": ["cat"], "exact": 0}, ["body", "exact"]),
        ("/neighbors", {"text": "a cat", "k": "many"}, ["body", "k"]),
        ("/neighbors", {"positive": ["cat"], "restrict_vocab": "x"}, ["body", "restrict_vocab"]),
        ("/similarity", {"pairs": "cat"}, ["body", "pairs"]),
        ("/similarity/matrix", {"a": ["cat"], "b": [7]}, ["body", "b", "0"]),
        ("/similarity/matrix", {"texts_a": ["a cat"], "texts_b": []}, ["body", "texts_b"]),
        # no union: the location is left as pydantic gave it
        ("/vectors", {"words": ["cat", 7]}, ["body", "words", "1"]),
    ],
)
async def test_validation_locations_name_what_the_client_sent(
    api: httpx.AsyncClient, path: str, payload: dict[str, Any], loc: list[str]
) -> None:
    body = assert_problem(await api.post(f"{TINY}{path}", json=payload), 422, "validation-error")
    assert body["errors"][0]["loc"] == loc, body["errors"]
    assert body["detail"].startswith(".".join(loc) + ":")
