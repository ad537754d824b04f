"""The text endpoints in-process: /embed, and texts in /similarity, /similarity/matrix, /neighbors."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

from firth_core import pooling
from firth_core.keyed_vectors import KeyedVectors
from firth_service.schemas_text import EmbedResponse, TextNeighborsResponse, TextSimilarityMatrixResponse
from firth_service.settings import MAX_TEXT_CHARS, MAX_TEXTS
from tests.conftest import tiny_matrix, tiny_words

pytestmark = pytest.mark.anyio
TINY = "/v1/models/tiny"


def tiny_kv() -> KeyedVectors:
    return KeyedVectors(tiny_words(), tiny_matrix(), standardize="lower")


def _mean_of_units(kv: KeyedVectors, words: list[str]) -> np.ndarray:
    return np.mean([kv.unit[kv.key_to_index[w]] for w in words], axis=0)


async def test_embed_returns_mean_vectors_and_tokens_in_order(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{TINY}/embed", json={"texts": ["The KING and the queen", "frog toad frog"]})
    assert response.status_code == 200
    body = response.json()
    EmbedResponse.model_validate(body)
    assert body["model"] == "tiny" and body["dim"] == 3
    assert body["texts"] == [
        {"tokens": ["the", "king", "and", "the", "queen"], "oov": ["and"]},
        {"tokens": ["frog", "toad", "frog"], "oov": []},
    ]
    kv = tiny_kv()
    np.testing.assert_allclose(
        body["vectors"][0], _mean_of_units(kv, ["the", "king", "the", "queen"]), atol=1e-6
    )
    np.testing.assert_allclose(body["vectors"][1], _mean_of_units(kv, ["frog", "toad", "frog"]), atol=1e-6)


async def test_embed_options_raw_vectors_and_unit_length(api: httpx.AsyncClient) -> None:
    body = (
        await api.post(
            f"{TINY}/embed",
            json={"texts": ["king queen"], "pre_normalize": False, "post_normalize": True},
        )
    ).json()
    mean = (tiny_matrix()[3] + tiny_matrix()[4]) / 2
    np.testing.assert_allclose(body["vectors"][0], mean / np.linalg.norm(mean), atol=1e-6)


async def test_base64_encoding_is_little_endian_float32_of_the_same_vectors(api: httpx.AsyncClient) -> None:
    texts = ["king queen", "cat dog car"]
    as_json = (await api.post(f"{TINY}/embed", json={"texts": texts, "pooling": "sif"})).json()
    as_b64 = (
        await api.post(f"{TINY}/embed", json={"texts": texts, "pooling": "sif", "encoding": "base64"})
    ).json()
    for plain, encoded in zip(as_json["vectors"], as_b64["vectors"], strict=True):
        decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
        assert decoded.shape == (3,)
        np.testing.assert_array_equal(decoded, np.asarray(plain, dtype=np.float32))


async def test_sif_over_http_matches_the_core_and_removes_the_component(
    api: httpx.AsyncClient, registry: object
) -> None:
    from firth_service.registry import ModelRegistry

    assert isinstance(registry, ModelRegistry)
    kv = registry.get("tiny").kv
    body = (await api.post(f"{TINY}/embed", json={"texts": ["king queen frog"], "pooling": "sif"})).json()
    u = pooling.common_component(kv)
    p = pooling.word_probabilities(kv)  # tiny has counts: p from vocab.txt
    assert pooling.probability_source(kv) == "counts"
    rows = [3, 4, 7]
    weighted = sum(1e-3 / (1e-3 + p[r]) * kv.unit[r] for r in rows) / 3
    np.testing.assert_allclose(body["vectors"][0], weighted - (weighted @ u) * u, atol=1e-6)


async def test_a_text_with_no_known_word_is_a_problem_naming_its_index(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{TINY}/embed", json={"texts": ["king", "zebra unicorn", ""]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/empty-text"
    assert problem["index"] == 1 and problem["tokens"] == ["zebra", "unicorn"]
    assert "texts[1]" in problem["detail"]


async def test_oov_null_gives_a_null_vector_with_its_oov_list(api: httpx.AsyncClient) -> None:
    for encoding in ("float", "base64"):
        body = (
            await api.post(
                f"{TINY}/embed",
                json={"texts": ["zebra unicorn", "", "cat"], "oov": "null", "encoding": encoding},
            )
        ).json()
        assert body["vectors"][0] is None and body["vectors"][1] is None
        assert body["vectors"][2] is not None
        assert body["texts"][0] == {"tokens": ["zebra", "unicorn"], "oov": ["zebra", "unicorn"]}
        assert body["texts"][1] == {"tokens": [], "oov": []}


@pytest.mark.parametrize(
    "body",
    [
        {"texts": []},
        {"texts": ["ok"] * (MAX_TEXTS + 1)},
        {"texts": ["a" * (MAX_TEXT_CHARS + 1)]},
        {"texts": [3]},
        {"texts": "king queen"},
        {"texts": ["king"], "pooling": "max"},
        {"texts": ["king"], "encoding": "hex"},
        {"texts": ["king"], "oov": "skip"},
        {"texts": ["king"], "sif_a": 0},
        {"texts": ["king"], "surprise": 1},
    ],
)
async def test_bad_embed_requests_are_validation_problems(api: httpx.AsyncClient, body: object) -> None:
    response = await api.post(f"{TINY}/embed", json=body)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"


async def test_a_body_over_8_mib_is_413(api: httpx.AsyncClient) -> None:
    texts = ["king " * 19_000] * 90  # 90 texts under the 100,000-character limit, 8.5 MB in all
    response = await api.post(f"{TINY}/embed", json={"texts": texts})
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"


async def test_limits_are_declared_in_the_openapi_schema(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    texts = schemas["EmbedRequest"]["properties"]["texts"]
    assert texts["maxItems"] == MAX_TEXTS and texts["minItems"] == 1
    assert texts["items"]["maxLength"] == MAX_TEXT_CHARS
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "422" in paths["/v1/models/{model}/embed"]["post"]["responses"]


# -- texts where the word queries take words -----------------------------------------------


async def test_similarity_of_text_pairs_is_the_cosine_of_their_sentence_vectors(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        f"{TINY}/similarity",
        json={"text_pairs": [["the king", "a queen"], ["Frog!", "cat"]], "oov": "null"},
    )
    assert response.status_code == 200
    body = response.json()
    kv = tiny_kv()
    left, right = _mean_of_units(kv, ["the", "king"]), kv.unit[4]
    expected = left @ right / np.linalg.norm(left) / np.linalg.norm(right)
    assert body["similarities"][0]["similarity"] == pytest.approx(float(expected), abs=1e-6)
    assert body["similarities"][0]["a"] == {"tokens": ["the", "king"], "oov": []}
    assert body["similarities"][1]["a"] == {"tokens": ["frog!"], "oov": ["frog!"]}  # 'lower' keeps '!'
    assert body["similarities"][1]["similarity"] is None
    words = (await api.post(f"{TINY}/similarity", json={"pairs": [["cat", "dog"]]})).json()
    assert words["similarities"][0]["a"] == "cat"


async def test_a_text_pair_without_known_words_names_pair_and_side(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{TINY}/similarity", json={"text_pairs": [["king", "queen"], ["cat", "zzz"]]})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/empty-text" and "text_pairs[1][1]" in problem["detail"]
    nulls = (
        await api.post(f"{TINY}/similarity", json={"text_pairs": [["cat", "zzz"]], "oov": "null"})
    ).json()
    assert nulls["similarities"][0]["similarity"] is None


async def test_similarity_matrix_of_texts(api: httpx.AsyncClient) -> None:
    body = (
        await api.post(
            f"{TINY}/similarity/matrix",
            json={"texts_a": ["king queen", "frog"], "texts_b": ["cat", "dog car", "prince"]},
        )
    ).json()
    TextSimilarityMatrixResponse.model_validate(body)
    kv = tiny_kv()

    def vec(words: list[str]) -> np.ndarray:
        v = _mean_of_units(kv, words)
        return v / np.linalg.norm(v)

    a = np.stack([vec(["king", "queen"]), vec(["frog"])])
    b = np.stack([vec(["cat"]), vec(["dog", "car"]), vec(["prince"])])
    np.testing.assert_allclose(body["matrix"], a @ b.T, atol=1e-6)
    assert len(body["a"]) == 2 and len(body["b"]) == 3


async def test_a_texts_nearest_words_are_most_similar_of_its_tokens(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{TINY}/neighbors", json={"text": "The King, and a WOMAN", "k": 3})
    assert response.status_code == 200
    body = response.json()
    TextNeighborsResponse.model_validate(body)
    assert body["text"]["tokens"] == ["the", "king,", "and", "a", "woman"]
    assert body["positive"] == ["the", "woman"]
    expected = tiny_kv().most_similar(positive=["the", "woman"], topn=3)
    assert [(n["word"], pytest.approx(n["similarity"], abs=1e-6)) for n in body["neighbors"]] == [
        (w, s) for w, s in expected
    ]
    cosmul = (await api.post(f"{TINY}/neighbors", json={"text": "king woman", "method": "3cosmul"})).json()
    assert cosmul["neighbors"][0]["word"] == tiny_kv().most_similar_cosmul(positive=["king", "woman"])[0][0]


async def test_a_text_neighbours_query_without_known_words_or_mixed_with_words(
    api: httpx.AsyncClient,
) -> None:
    empty = await api.post(f"{TINY}/neighbors", json={"text": "zebra"})
    assert empty.status_code == 422 and empty.json()["type"] == "/problems/empty-text"
    mixed = await api.post(f"{TINY}/neighbors", json={"text": "king", "positive": ["queen"]})
    assert mixed.status_code == 422 and mixed.json()["type"] == "/problems/validation-error"
