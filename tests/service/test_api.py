"""The HTTP API in-process (httpx ASGI transport) on the hand-made model with known answers."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from firth_core.keyed_vectors import KeyedVectors

pytestmark = pytest.mark.anyio
TINY = "/v1/models/tiny"


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def tiny_kv() -> KeyedVectors:
    from tests.conftest import tiny_matrix, tiny_words

    return KeyedVectors(tiny_words(), tiny_matrix(), standardize="lower")


async def test_health_and_ready(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["models"]) == {"tiny", "random"}


async def test_models_list_and_default(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v1/models")).json()
    names = [m["name"] for m in body["models"]]
    assert names == ["tiny", "random"]
    info = (await api.get("/v1/models/default")).json()
    assert info["name"] == "tiny" and info["default"] is True
    assert info["dim"] == 3 and info["vocab_size"] == 13
    assert info["index_kinds"] == ["exact"]
    assert len(info["sha256"]) == 64 and info["standardize"] == "lower"


async def test_vector_lookup_standardises_and_names_the_word(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/vectors/King")).json()
    assert body["word"] == "king" and body["input"] == "King"
    assert body["vector"] == pytest.approx([1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("oov", "status", "returned", "missing"),
    [
        ("skip", 200, ["cat", "dog"], ["zebra"]),
        ("null", 200, ["cat", None, "dog"], ["zebra"]),
        ("error", 404, None, None),
    ],
)
async def test_vectors_batch_oov_policies(
    api: httpx.AsyncClient,
    oov: str,
    status: int,
    returned: list[str | None] | None,
    missing: list[str] | None,
) -> None:
    response = await api.post(f"{TINY}/vectors", json={"words": ["cat", "zebra", "dog"], "oov": oov})
    assert response.status_code == status
    if returned is None:
        assert response.json()["word"] == "zebra"
        return
    body = response.json()
    assert [v["word"] for v in body["vectors"]] == returned
    assert body["missing"] == missing
    assert body["vectors"][0]["vector"] == pytest.approx(tiny_kv().vector("cat").tolist())


async def test_similarity_get_matches_cosine(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/similarity", params={"a": "cat", "b": "dog"})).json()
    a, b = np.array([-0.2, -1.0, 0.1]), np.array([-0.25, -1.0, 0.2])
    assert body["similarity"] == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), abs=1e-6)
    assert (body["a"], body["b"]) == ("cat", "dog")


async def test_similarity_pairs_and_matrix(api: httpx.AsyncClient) -> None:
    kv = tiny_kv()
    pairs = (await api.post(f"{TINY}/similarity", json={"pairs": [["cat", "dog"], ["king", "car"]]})).json()
    assert [p["similarity"] for p in pairs["similarities"]] == pytest.approx(
        [kv.similarity("cat", "dog"), kv.similarity("king", "car")], abs=1e-6
    )
    matrix = (
        await api.post(f"{TINY}/similarity/matrix", json={"a": ["cat", "king"], "b": ["dog", "queen", "car"]})
    ).json()
    assert np.array(matrix["matrix"]).shape == (2, 3)
    assert matrix["matrix"][1][1] == pytest.approx(kv.similarity("king", "queen"), abs=1e-6)


async def test_n_similarity_and_doesnt_match(api: httpx.AsyncClient) -> None:
    kv = tiny_kv()
    body = (
        await api.post(f"{TINY}/n-similarity", json={"a": ["king", "man"], "b": ["queen", "woman"]})
    ).json()
    assert body["similarity"] == pytest.approx(kv.n_similarity(["king", "man"], ["queen", "woman"]), abs=1e-6)
    odd = (await api.post(f"{TINY}/doesnt-match", json={"words": ["cat", "dog", "car"]})).json()
    assert odd["doesnt_match"] == "car"
    assert [r["word"] for r in odd["ranking"]][-1] == "car"


async def test_neighbors_get_excludes_the_word(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/neighbors", params={"word": "frog", "k": 3})).json()
    words = [n["word"] for n in body["neighbors"]]
    assert words[0] == "toad" and "frog" not in words and len(words) == 3
    assert body["positive"] == ["frog"] and body["index"] == "exact"
    sims = [n["similarity"] for n in body["neighbors"]]
    assert sims == sorted(sims, reverse=True)


async def test_analogy_king_queen(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/analogy", params={"a": "man", "b": "king", "c": "woman", "k": 3})).json()
    assert body["answer"] == "queen"
    expected = tiny_kv().most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert [(n["word"], n["similarity"]) for n in body["neighbors"]] == [
        (w, pytest.approx(s, abs=1e-6)) for w, s in expected
    ]


async def test_analogy_batch_equals_singles(api: httpx.AsyncClient) -> None:
    questions = [{"a": "man", "b": "king", "c": "woman"}, {"a": "king", "b": "prince", "c": "queen"}]
    batch = (await api.post(f"{TINY}/analogy", json={"questions": questions, "k": 2})).json()
    for question, result in zip(questions, batch["results"], strict=True):
        single = (await api.get(f"{TINY}/analogy", params={**question, "k": 2})).json()
        assert result["neighbors"] == single["neighbors"]
    assert batch["results"][1]["answer"] == "princess"


async def test_neighbors_post_weights_vectors_and_cosmul(api: httpx.AsyncClient) -> None:
    kv = tiny_kv()
    weighted = {"positive": [{"word": "king", "weight": 2.0}, "woman"], "negative": ["man"], "k": 4}
    body = (await api.post(f"{TINY}/neighbors", json=weighted)).json()
    expected = kv.most_similar(["king", "woman"], ["man"], topn=4, positive_weights=[2.0, 1.0])
    assert [n["word"] for n in body["neighbors"]] == [w for w, _ in expected]

    by_vector = (await api.post(f"{TINY}/neighbors", json={"positive": [[1.0, 0.05, 0.95]], "k": 2})).json()
    assert [n["word"] for n in by_vector["neighbors"]] == ["king", "prince"]  # vectors exclude nothing
    assert by_vector["positive"] == [None]

    cosmul = {"positive": ["king", "woman"], "negative": ["man"], "k": 3, "method": "3cosmul"}
    body = (await api.post(f"{TINY}/neighbors", json=cosmul)).json()
    expected = kv.most_similar_cosmul(["king", "woman"], ["man"], topn=3)
    assert [(n["word"], n["similarity"]) for n in body["neighbors"]] == [
        (w, pytest.approx(s, abs=1e-6)) for w, s in expected
    ]


async def test_neighbors_restrict_vocab(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{TINY}/neighbors", params={"word": "king", "k": 10, "restrict_vocab": 5})).json()
    words = [n["word"] for n in body["neighbors"]]
    assert set(words) == {"the", "man", "woman", "queen"}  # only the 5 most frequent rows, minus king


async def test_neighbors_batch(api: httpx.AsyncClient) -> None:
    queries = [
        {"positive": ["frog"], "k": 1},
        {"positive": ["cat"], "k": 1},
        {"positive": ["king"], "k": 2, "method": "3cosmul"},
    ]
    body = (await api.post(f"{TINY}/neighbors/batch", json={"queries": queries})).json()
    assert [r["neighbors"][0]["word"] for r in body["results"]] == ["toad", "dog", "prince"]


async def test_evaluate_uploaded_items(api: httpx.AsyncClient) -> None:
    items = [": family", "man king woman queen", "king prince queen princess", "man woman king zebra"]
    body = (await api.post(f"{TINY}/evaluate", json={"kind": "analogies", "items": items})).json()
    result = body["result"]
    assert (result["correct"], result["incorrect"], result["oov"]) == (2, 0, 1)
    assert result["score"] == 1.0 and result["sections"][0]["section"] == "family"
    pairs = ["cat\tdog\t9", "king\tqueen\t7", "cat\tcar\t1", "frog\ttoad\t9.5"]
    body = (await api.post(f"{TINY}/evaluate", json={"kind": "pairs", "items": pairs})).json()
    assert -1.0 <= body["result"]["spearman"] <= 1.0 and body["result"]["oov"] == 0


async def test_vector_lookup_of_a_word_with_a_slash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from firth_core.artifact import write_artifact
    from firth_service.app import create_app
    from firth_service.registry import ModelRegistry, load_model
    from tests.conftest import exact_settings

    path = write_artifact(tmp_path / "m", ["1/2", "a"], np.eye(2, dtype=np.float32), name="m")
    app = create_app(exact_settings(), ModelRegistry([load_model(path, exact_settings())]))
    async with asgi_client(app) as client:
        body = (await client.get("/v1/models/m/vectors/1/2")).json()
    assert body["word"] == "1/2" and body["vector"] == [1.0, 0.0]


async def test_readyz_before_models_load_and_with_tied_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from firth_core.artifact import write_artifact
    from firth_service.app import create_app
    from firth_service.registry import ModelRegistry, load_model
    from tests.conftest import exact_settings

    loading = create_app(exact_settings())  # the lifespan has not loaded anything yet
    async with asgi_client(loading) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["type"] == "/problems/not-ready"

    same = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], dtype=np.float32)  # rows 0 and 1 tie
    path = write_artifact(tmp_path / "m", ["a", "b", "c"], same, name="m")
    app = create_app(exact_settings(), ModelRegistry([load_model(path, exact_settings())]))
    async with asgi_client(app) as client:
        assert (await client.get("/readyz")).status_code == 200


async def test_negative_only_query_equals_gensim_semantics(api: httpx.AsyncClient) -> None:
    body = (await api.post(f"{TINY}/neighbors", json={"negative": ["king"], "k": 3})).json()
    expected = tiny_kv().most_similar(negative=["king"], topn=3)
    assert [n["word"] for n in body["neighbors"]] == [w for w, _ in expected]
    assert "king" not in [n["word"] for n in body["neighbors"]] and body["negative"] == ["king"]
