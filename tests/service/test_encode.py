"""encode, vocabulary and embedding-matrix over HTTP (in-process) on the hand-made tiny model:
words the, man, woman, king, queen, prince, princess, frog, toad, snake, cat, dog, car (rows 0-12,
counts 1000 down to 988), standardised to lower case."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import httpx
import numpy as np
import pytest

from firth_service.encode_schemas import MAX_TEXT_CHARS, MAX_TEXTS
from tests.conftest import tiny_matrix, tiny_words

pytestmark = pytest.mark.anyio
TINY = "/v1/models/tiny"
WORDS = tiny_words()


def id_of(word: str) -> int:
    return WORDS.index(word) + 2


async def encode(api: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await api.post(f"{TINY}/encode", json=body)


async def test_int_ids_pad_unknown_and_tokens(api: httpx.AsyncClient) -> None:
    r = await encode(api, texts=["The King and the Queen", "frog"], output_sequence_length=6)
    assert r.status_code == 200, r.text
    body = r.json()
    the, king, queen, frog = (id_of(w) for w in ("the", "king", "queen", "frog"))
    assert body["ids"] == [[the, king, 1, the, queen, 0], [frog, 0, 0, 0, 0, 0]]
    assert body["vocabulary_size"] == len(WORDS) + 2
    assert body["texts"][0] == {"tokens": ["the", "king", "and", "the", "queen"], "oov": ["and"]}
    assert body["texts"][1] == {"tokens": ["frog"], "oov": []}


async def test_int_truncates_at_the_end_pads_to_longest_or_ragged(api: httpx.AsyncClient) -> None:
    texts = ["king queen frog toad", "cat"]
    truncated = (await encode(api, texts=texts, output_sequence_length=2)).json()["ids"]
    assert truncated == [[id_of("king"), id_of("queen")], [id_of("cat"), 0]]
    dense = (await encode(api, texts=texts)).json()["ids"]
    assert dense == [[id_of(w) for w in texts[0].split()], [id_of("cat"), 0, 0, 0]]
    ragged = (await encode(api, texts=texts, ragged=True)).json()["ids"]
    assert ragged == [[id_of(w) for w in texts[0].split()], [id_of("cat")]]


async def test_max_tokens_keeps_the_most_frequent_words(api: httpx.AsyncClient) -> None:
    # max_tokens=4: "", "[UNK]", the, man -> woman becomes unknown
    body = (await encode(api, texts=["man woman"], max_tokens=4)).json()
    assert body["ids"] == [[id_of("man"), 1]]
    assert body["texts"][0]["oov"] == ["woman"]
    assert body["vocabulary_size"] == 4


async def test_bag_modes(api: httpx.AsyncClient) -> None:
    text = ["the king the qwzx"]
    multi = (await encode(api, texts=text, output_mode="multi_hot", max_tokens=5)).json()
    # bag ids: 0 [UNK], 1 the, 2 man, 3 woman, 4 king
    assert multi["ids"] == [[1, 1, 0, 0, 1]] and multi["vocabulary_size"] == 5
    count = (await encode(api, texts=text, output_mode="count", max_tokens=5)).json()
    assert count["ids"] == [[1, 2, 0, 0, 1]]
    # 13 words + [UNK] = 14 ids; pad_to_max_tokens widens the rows to 20 with zeros
    plain = (await encode(api, texts=text, output_mode="count", max_tokens=20)).json()
    padded = (
        await encode(api, texts=text, output_mode="count", max_tokens=20, pad_to_max_tokens=True)
    ).json()
    assert len(plain["ids"][0]) == 14 and padded["ids"] == [plain["ids"][0] + [0] * 6]


async def test_tf_idf_uses_keras_formula_on_the_model_counts(api: httpx.AsyncClient) -> None:
    body = (await encode(api, texts=["the the king qwzx"], output_mode="tf_idf", max_tokens=5)).json()
    counts = np.arange(1000, 1000 - len(WORDS), -1, dtype=np.float64)
    idf = np.log1p(counts.sum() / (1 + counts))
    unk = idf[:4].mean()  # the layer's words: the, man, woman, king
    expected = [unk, 2 * idf[0], 0, 0, idf[3]]
    assert body["ids"][0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"texts": []}, "validation-error"),
        ({"texts": [1, "a"]}, "validation-error"),
        ({"texts": ["a"], "output_mode": "binary"}, "validation-error"),
        ({"texts": ["a"], "max_tokens": 1}, "validation-error"),
        ({"texts": ["a"] * (MAX_TEXTS + 1)}, "validation-error"),
        ({"texts": ["a" * (MAX_TEXT_CHARS + 1)]}, "validation-error"),
        ({"texts": ["a"], "output_sequence_length": 0}, "validation-error"),
        ({"texts": ["a"], "output_mode": "count", "output_sequence_length": 3}, "invalid-vectorization"),
        ({"texts": ["a"], "output_mode": "count", "pad_to_max_tokens": True}, "invalid-vectorization"),
        ({"texts": ["a"], "unknown": 1}, "validation-error"),
    ],
)
async def test_bad_encode_requests_are_problems(
    api: httpx.AsyncClient, body: dict[str, Any], slug: str
) -> None:
    r = await api.post(f"{TINY}/encode", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"/problems/{slug}"


async def test_an_answer_too_large_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/v1/models/random/encode",
        json={
            "texts": ["w0001"] * 1000,
            "output_mode": "multi_hot",
            "max_tokens": 5000,
            "pad_to_max_tokens": True,
        },
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/output-too-large"


# -- vocabulary ----------------------------------------------------------------------------------


async def test_vocabulary_pages_in_frequency_order(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/vocabulary", params={"offset": 2, "limit": 3})).json()
    assert body["total"] == len(WORDS) and body["special_tokens"] == {"": 0, "[UNK]": 1}
    assert body["words"] == [
        {"word": "woman", "id": 4, "rank": 3, "count": 998},
        {"word": "king", "id": 5, "rank": 4, "count": 997},
        {"word": "queen", "id": 6, "rank": 5, "count": 996},
    ]
    past = (await api.get(f"{TINY}/vocabulary", params={"offset": 100})).json()
    assert past["words"] == [] and past["total"] == len(WORDS)


async def test_vocabulary_prefix_is_standardised(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/vocabulary", params={"prefix": "PRIN"})).json()
    assert [w["word"] for w in body["words"]] == ["prince", "princess"] and body["total"] == 2
    assert [w["id"] for w in body["words"]] == [id_of("prince"), id_of("princess")]


async def test_vocabulary_without_counts_says_null(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v1/models/random/vocabulary", params={"limit": 1})).json()
    assert body["words"] == [{"word": "w0000", "id": 2, "rank": 1, "count": None}]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"prefix": ""}])
async def test_bad_vocabulary_requests_are_problems(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    r = await api.get(f"{TINY}/vocabulary", params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


# -- embedding matrix ----------------------------------------------------------------------------


async def test_matrix_for_a_keras_vocabulary_as_json(api: httpx.AsyncClient) -> None:
    vocab = ["", "[UNK]", "king", "qwzx", "Frog"]
    r = await api.post(f"{TINY}/embedding-matrix", json={"vocabulary": vocab, "format": "json"})
    assert r.status_code == 200, r.text
    body = r.json()
    matrix = tiny_matrix()
    expected = np.zeros((5, 3), dtype=np.float32)
    expected[2] = matrix[WORDS.index("king")]
    expected[4] = matrix[WORDS.index("frog")]  # found through the model's standardisation
    np.testing.assert_array_equal(np.array(body["matrix"], dtype=np.float32), expected)
    assert body["shape"] == [5, 3] and body["missing"] == ["qwzx"] and body["words"] == vocab


async def test_matrix_as_npy_with_missing_words_in_headers(api: httpx.AsyncClient) -> None:
    vocab = ["", "[UNK]", "cat", "qwzx", "ünïcode", "qwzx"]
    r = await api.post(f"{TINY}/embedding-matrix", json={"vocabulary": vocab, "normalize": True})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-npy"
    matrix = np.load(io.BytesIO(r.content), allow_pickle=False)
    assert matrix.dtype == np.float32 and matrix.shape == (6, 3)
    cat = tiny_matrix()[WORDS.index("cat")]
    np.testing.assert_allclose(matrix[2], cat / np.linalg.norm(cat), rtol=1e-6)
    assert not matrix[[0, 1, 3, 4, 5]].any()
    assert r.headers["x-firth-missing-count"] == "2"
    assert json.loads(r.headers["x-firth-missing-words"]) == ["qwzx", "ünïcode"]


async def test_matrix_header_is_capped_but_the_count_is_whole(api: httpx.AsyncClient) -> None:
    vocab = [f"nope{i:05d}" for i in range(2000)]
    r = await api.post(f"{TINY}/embedding-matrix", json={"vocabulary": vocab})
    shown = json.loads(r.headers["x-firth-missing-words"])
    assert r.headers["x-firth-missing-count"] == "2000"
    assert 0 < len(shown) < 2000 and shown == vocab[: len(shown)]
    assert len(r.headers["x-firth-missing-words"]) <= 2048


async def test_matrix_for_max_tokens_matches_encode_ids(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{TINY}/embedding-matrix", json={"max_tokens": 6, "format": "json"})
    body = r.json()
    assert body["words"] == ["", "[UNK]", "the", "man", "woman", "king"]
    ids = (await encode(api, texts=["king"], max_tokens=6)).json()["ids"][0]
    np.testing.assert_array_equal(np.array(body["matrix"], dtype=np.float32)[ids[0]], tiny_matrix()[3])
    whole = (await api.post(f"{TINY}/embedding-matrix", json={"max_tokens": 10**6, "format": "json"})).json()
    assert whole["shape"] == [len(WORDS) + 2, 3]
    assert math.isclose(whole["matrix"][-1][0], float(tiny_matrix()[-1][0]), rel_tol=1e-6)


@pytest.mark.parametrize(
    "body",
    [
        {"vocabulary": []},
        {"vocabulary": ["a", 3]},
        {"vocabulary": ["a"], "max_tokens": 4},
        {},
        {"max_tokens": 1},
        {"max_tokens": 5, "format": "csv"},
    ],
)
async def test_bad_matrix_requests_are_problems(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await api.post(f"{TINY}/embedding-matrix", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text


async def test_vocabulary_prefix_agrees_with_a_scan(api: httpx.AsyncClient) -> None:
    from tests.conftest import random_matrix

    words = random_matrix()[0]
    for prefix in ("w01", "w2999", "w3", "x"):
        body = (
            await api.get("/v1/models/random/vocabulary", params={"prefix": prefix, "limit": 1000})
        ).json()
        expected = [w for w in words if w.startswith(prefix)]
        assert [w["word"] for w in body["words"]] == expected and body["total"] == len(expected)
