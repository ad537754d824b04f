"""The OpenAI-compatible endpoints in-process on the tiny model: OpenAI's response and error shapes,
the four input forms, base64, and vectors equal to gensim's get_mean_vector(post_normalize=True)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import tiny_matrix, tiny_words

pytestmark = pytest.mark.anyio
URL = "/openai/v1/embeddings"
WORDS = tiny_words()


@pytest.fixture(scope="module")
def gensim_tiny():  # type: ignore[no-untyped-def]
    from gensim.models import KeyedVectors as GensimKeyedVectors

    kv = GensimKeyedVectors(vector_size=3)
    kv.add_vectors(WORDS, tiny_matrix())
    return kv


def gensim_mean(kv: Any, words: list[str]) -> np.ndarray:
    return np.asarray(kv.get_mean_vector(words, pre_normalize=True, post_normalize=True))


async def test_texts_give_unit_means_in_openai_shape(api: httpx.AsyncClient, gensim_tiny: Any) -> None:
    r = await api.post(URL, json={"model": "default", "input": ["The King and the Queen", "frog toad"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["model"] == "tiny"
    assert body["usage"] == {"prompt_tokens": 7, "total_tokens": 7}  # "and" is a token without a vector
    assert [d["index"] for d in body["data"]] == [0, 1] and body["data"][0]["object"] == "embedding"
    first = np.array(body["data"][0]["embedding"])
    np.testing.assert_allclose(first, gensim_mean(gensim_tiny, ["the", "king", "the", "queen"]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(first), 1.0, atol=1e-6)
    second = np.array(body["data"][1]["embedding"])
    np.testing.assert_allclose(second, gensim_mean(gensim_tiny, ["frog", "toad"]), atol=1e-6)


async def test_one_string_ids_and_id_lists_agree(api: httpx.AsyncClient) -> None:
    ids = [WORDS.index(w) + 2 for w in ("king", "queen")]
    text = (await api.post(URL, json={"model": "tiny", "input": "king queen"})).json()
    one = (await api.post(URL, json={"model": "tiny", "input": [*ids, 1, 0, 0]})).json()
    many = (await api.post(URL, json={"model": "tiny", "input": [ids, ids[:1]]})).json()
    assert one["data"][0]["embedding"] == pytest.approx(text["data"][0]["embedding"], abs=1e-7)
    assert many["data"][0]["embedding"] == pytest.approx(text["data"][0]["embedding"], abs=1e-7)
    assert len(many["data"]) == 2
    assert one["usage"]["prompt_tokens"] == 3  # the pads are not tokens, [UNK] is


async def test_base64_is_little_endian_float32(api: httpx.AsyncClient) -> None:
    floats = (await api.post(URL, json={"model": "tiny", "input": "cat dog"})).json()
    packed = (
        await api.post(URL, json={"model": "tiny", "input": "cat dog", "encoding_format": "base64"})
    ).json()
    decoded = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_array_equal(decoded, np.array(floats["data"][0]["embedding"], dtype=np.float32))


async def test_dimensions_equal_to_the_model_are_accepted(api: httpx.AsyncClient) -> None:
    ok = await api.post(URL, json={"model": "tiny", "input": "cat", "dimensions": 3})
    assert ok.status_code == 200
    bad = await api.post(URL, json={"model": "tiny", "input": "cat", "dimensions": 2})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "dimensions"


async def test_models_list(api: httpx.AsyncClient) -> None:
    body = (await api.get("/openai/v1/models")).json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["tiny", "random"]
    assert all(m["object"] == "model" and m["owned_by"] == "firth" and m["created"] > 0 for m in body["data"])


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"model": "gpt-4", "input": "cat"}, 404, "model", "model_not_found"),
        ({"model": "tiny", "input": []}, 400, "input", "validation_error"),
        ({"model": "tiny", "input": ["cat", 3]}, 400, "input", "validation_error"),
        ({"model": "tiny", "input": [[1, 2], []]}, 400, "input", "validation_error"),
        ({"model": "tiny", "input": [2, 99]}, 400, "input", "id_out_of_range"),
        ({"model": "tiny", "input": [-1]}, 400, "input", "validation_error"),  # ids start at 0 (schema)
        ({"model": "tiny", "input": ["cat", "qwzx"]}, 400, "input", "empty_query"),
        (
            {"model": "tiny", "input": "cat", "encoding_format": "int8"},
            400,
            "encoding_format",
            "validation_error",
        ),
        ({"input": "cat"}, 400, "model", "validation_error"),
    ],
)
async def test_errors_are_in_openai_shape(
    api: httpx.AsyncClient, body: dict[str, Any], status: int, param: str, code: str
) -> None:
    r = await api.post(URL, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["code"] == code
    assert error["message"]


async def test_malformed_json_is_an_openai_error_too(api: httpx.AsyncClient) -> None:
    r = await api.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
