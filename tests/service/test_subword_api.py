"""Every word endpoint of a subword model answers for words outside its vocabulary, over HTTP on
the real app, to gensim's FastTextKeyedVectors: vectors, similarities, neighbours (exact and HNSW,
single and batch), analogies, doesnt-match, /embed, the OpenAI endpoint, projections and /evaluate.
Such words are marked `oov`; a word without any n-gram stays a 404 with suggestions; a model
without subwords answers as it always has."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from firth_core.subwords import SubwordSpec
from firth_service.app import create_app
from firth_service.index import HnswSpec, build_hnsw
from firth_service.registry import ModelRegistry, load_model
from tests.conftest import exact_settings
from tests.subword_models import OOV_WORDS, gensim_fasttext, syllable_words, write_subword_model

pytestmark = pytest.mark.anyio
WORDS = syllable_words()
SHORT = SubwordSpec(minn=4, maxn=4, bucket=4000)  # "<a>" has no n-gram of 4 characters
V = "/v1/models/subword"


@pytest.fixture(scope="module")
def theirs() -> Any:
    return gensim_fasttext(WORDS)


@pytest.fixture(scope="module")
def subword_registry(
    theirs: Any, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> ModelRegistry:
    root = tmp_path_factory.mktemp("models")
    settings = exact_settings()
    subword = load_model(write_subword_model(root / "subword", theirs), settings)
    hnsw = build_hnsw(subword.kv.unit, HnswSpec(16, 80), ef_search=200, progress=False)
    with_hnsw = dataclasses.replace(
        load_model(write_subword_model(root / "subword-hnsw", theirs, name="subword-hnsw"), settings),
        hnsw=hnsw,
        hnsw_status="ready",
    )
    short = load_model(
        write_subword_model(root / "short", gensim_fasttext(WORDS[:300], SHORT), SHORT, name="short"),
        settings,
    )
    return ModelRegistry([subword, with_hnsw, short, load_model(tiny_model_dir, settings)])


@pytest.fixture
async def client(subword_registry: ModelRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(exact_settings(), subword_registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_vectors_of_oov_words_are_gensims_and_marked(client: httpx.AsyncClient, theirs: Any) -> None:
    r = await client.get(f"{V}/vectors/talomike")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["oov"] is True and body["word"] == "talomike"
    np.testing.assert_allclose(body["vector"], theirs.get_vector("talomike"), rtol=0, atol=1e-6)
    r = await client.post(f"{V}/vectors", json={"words": [WORDS[0], "rusano"]})
    first, second = r.json()["vectors"]
    assert "oov" not in first and second["oov"] is True and r.json()["missing"] == []
    np.testing.assert_allclose(second["vector"], theirs.get_vector("rusano"), rtol=0, atol=1e-6)


async def test_a_word_without_ngrams_is_404_with_suggestions(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models/short/vectors/a")
    assert r.status_code == 404 and r.json()["type"].endswith("unknown-word")
    assert "suggestions" in r.json()
    r = await client.post("/v1/models/short/vectors", json={"words": ["a", "talomike"], "oov": "skip"})
    assert r.json()["missing"] == ["a"] and r.json()["vectors"][0]["oov"] is True


async def test_a_model_without_subwords_answers_as_before(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models/tiny/vectors/talomike")
    assert r.status_code == 404 and r.json()["word"] == "talomike"
    r = await client.get("/v1/models/tiny/similarity", params={"a": "cat", "b": "dog"})
    assert set(r.json()) == {"a", "b", "similarity"}  # no oov field where there is nothing to mark
    r = await client.get("/v1/models/tiny/neighbors", params={"word": "frog", "k": 2})
    assert "oov" not in r.json()


async def test_similarities_with_oov_words(client: httpx.AsyncClient, theirs: Any) -> None:
    r = await client.get(f"{V}/similarity", params={"a": "talomike", "b": WORDS[1]})
    assert r.json()["oov"] == ["talomike"]
    assert r.json()["similarity"] == pytest.approx(float(theirs.similarity("talomike", WORDS[1])), abs=1e-6)
    r = await client.post(f"{V}/similarity", json={"pairs": [["rusano", "pevidu"], [WORDS[0], WORDS[2]]]})
    first, second = r.json()["similarities"]
    assert first["oov"] == ["rusano", "pevidu"] and "oov" not in second
    assert first["similarity"] == pytest.approx(float(theirs.similarity("rusano", "pevidu")), abs=1e-6)
    r = await client.post(f"{V}/similarity/matrix", json={"a": ["zogata", WORDS[3]], "b": ["mimimi"]})
    assert r.json()["oov"] == ["zogata", "mimimi"]
    assert r.json()["matrix"][0][0] == pytest.approx(float(theirs.similarity("zogata", "mimimi")), abs=1e-6)
    a, b = ["pevidu", WORDS[4]], [WORDS[5], "kerutalo"]
    r = await client.post(f"{V}/n-similarity", json={"a": a, "b": b})
    assert r.json()["similarity"] == pytest.approx(float(theirs.n_similarity(a, b)), abs=1e-6)
    assert r.json()["oov"] == ["pevidu", "kerutalo"]
    words = [WORDS[0], "talomike", WORDS[10], "rusano"]
    r = await client.post(f"{V}/doesnt-match", json={"words": words})
    assert r.json()["doesnt_match"] == theirs.doesnt_match(words)
    marked = {e["word"] for e in r.json()["ranking"] if e.get("oov")}
    assert marked == {"talomike", "rusano"} == set(r.json()["oov"])


def same_neighbours(body: dict[str, Any], expected: list[tuple[str, float]]) -> None:
    assert [n["word"] for n in body["neighbors"]] == [w for w, _ in expected]
    assert [n["similarity"] for n in body["neighbors"]] == pytest.approx([s for _, s in expected], abs=1e-5)


async def test_exact_neighbours_of_oov_words_equal_gensim(client: httpx.AsyncClient, theirs: Any) -> None:
    r = await client.get(f"{V}/neighbors", params={"word": "talomike", "k": 12, "exact": True})
    assert r.status_code == 200, r.text
    same_neighbours(r.json(), theirs.most_similar("talomike", topn=12))
    assert r.json()["positive"] == ["talomike"] and r.json()["oov"] == ["talomike"]
    body = {"positive": ["rusano", WORDS[7]], "negative": ["zogata"], "k": 8}
    r = await client.post(f"{V}/neighbors", json=body)
    same_neighbours(r.json(), theirs.most_similar(positive=["rusano", WORDS[7]], negative=["zogata"], topn=8))
    weighted = {"positive": [{"word": "pevidu", "weight": 2.0}, {"word": WORDS[3], "weight": 0.5}], "k": 5}
    r = await client.post(f"{V}/neighbors", json=weighted)
    same_neighbours(r.json(), theirs.most_similar(positive=[("pevidu", 2.0), (WORDS[3], 0.5)], topn=5))
    r = await client.post(
        f"{V}/neighbors/batch",
        json={"queries": [{"positive": ["mimimi"], "k": 6}, {"positive": [WORDS[9]], "k": 6}]},
    )
    first, second = r.json()["results"]
    same_neighbours(first, theirs.most_similar("mimimi", topn=6))
    same_neighbours(second, theirs.most_similar(WORDS[9], topn=6))
    assert first["oov"] == ["mimimi"] and "oov" not in second
    r = await client.post(f"{V}/neighbors", json={"positive": ["kerutalo"], "method": "3cosmul", "k": 5})
    same_neighbours(r.json(), theirs.most_similar_cosmul(positive=["kerutalo"], topn=5))


async def test_analogies_with_oov_words_equal_gensim(client: httpx.AsyncClient, theirs: Any) -> None:
    r = await client.get(f"{V}/analogy", params={"a": "talomike", "b": WORDS[2], "c": "rusano", "k": 5})
    same_neighbours(
        r.json(), theirs.most_similar(positive=[WORDS[2], "rusano"], negative=["talomike"], topn=5)
    )
    assert r.json()["oov"] == ["talomike", "rusano"]
    r = await client.post(
        f"{V}/analogy", json={"questions": [{"a": WORDS[1], "b": "pevidu", "c": WORDS[3]}], "k": 3}
    )
    (result,) = r.json()["results"]
    same_neighbours(result, theirs.most_similar(positive=["pevidu", WORDS[3]], negative=[WORDS[1]], topn=3))


async def test_hnsw_neighbours_of_oov_words(client: httpx.AsyncClient, theirs: Any) -> None:
    for word in OOV_WORDS:
        r = await client.get("/v1/models/subword-hnsw/neighbors", params={"word": word, "k": 10})
        assert r.json()["index"] == "hnsw"
        found = [n["word"] for n in r.json()["neighbors"]]
        expected = [w for w, _ in theirs.most_similar(word, topn=10)]
        assert len(set(found) & set(expected)) >= 9, (word, found, expected)


async def test_embed_counts_oov_tokens_with_ngram_vectors(client: httpx.AsyncClient, theirs: Any) -> None:
    text = f"talomike {WORDS[0]} talomike rusano"
    r = await client.post(f"{V}/embed", json={"texts": [text, WORDS[1]]})
    assert r.status_code == 200, r.text
    first, second = r.json()["texts"]
    assert first == {"tokens": text.split(), "oov": ["talomike", "rusano"], "subword": ["talomike", "rusano"]}
    assert "subword" not in second
    expected = theirs.get_mean_vector(text.split(), pre_normalize=True, post_normalize=False)
    np.testing.assert_allclose(r.json()["vectors"][0], expected, rtol=0, atol=1e-6)
    # a text of tokens with no n-gram at all is still empty
    r = await client.post("/v1/models/short/embed", json={"texts": ["a b"]})
    assert r.status_code == 422 and r.json()["type"].endswith("empty-text")
    r = await client.post("/v1/models/short/embed", json={"texts": ["a talomike"]})
    assert r.json()["texts"][0] == {
        "tokens": ["a", "talomike"],
        "oov": ["a", "talomike"],
        "subword": ["talomike"],
    }


async def test_text_endpoints_and_openai_use_ngram_vectors(client: httpx.AsyncClient, theirs: Any) -> None:
    r = await client.post("/openai/v1/embeddings", json={"model": "subword", "input": "talomike rusano"})
    assert r.status_code == 200, r.text
    expected = theirs.get_mean_vector(["talomike", "rusano"], pre_normalize=True, post_normalize=True)
    np.testing.assert_allclose(r.json()["data"][0]["embedding"], expected, rtol=0, atol=1e-6)
    r = await client.post("/openai/v1/embeddings", json={"model": "tiny", "input": "talomike"})
    assert r.status_code == 400  # a model without subwords: no vector, as before
    r = await client.post(f"{V}/neighbors", json={"text": f"pevidu {WORDS[4]}", "k": 5, "exact": True})
    same_neighbours(r.json(), theirs.most_similar(positive=["pevidu", WORDS[4]], topn=5))
    assert r.json()["text"]["subword"] == ["pevidu"]
    r = await client.post(f"{V}/similarity", json={"text_pairs": [["talomike", "rusano"]]})
    assert r.json()["similarities"][0]["similarity"] == pytest.approx(
        float(theirs.similarity("talomike", "rusano")), abs=1e-6
    )


async def test_projection_accepts_oov_words(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{V}/project", json={"words": ["talomike", WORDS[0], WORDS[1]], "projection": "pca"}
    )
    assert r.status_code == 200, r.text
    assert [p["word"] for p in r.json()["points"]] == ["talomike", WORDS[0], WORDS[1]]


async def test_evaluate_reports_both_ways(client: httpx.AsyncClient, theirs: Any) -> None:
    items = [f"{WORDS[i]}\t{WORDS[i + 7]}\t{i % 10}" for i in range(40)]
    items += [f"{w}\t{WORDS[i]}\t{(3 * i) % 10}" for i, w in enumerate(OOV_WORDS)]
    r = await client.post(f"{V}/evaluate", json={"kind": "pairs", "items": items, "subwords": True})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["oov"] == len(OOV_WORDS) and result["subwords"]["oov_scored"] == len(OOV_WORDS)
    assert result["subwords"]["pairs"] == len(items) and result["pairs"] == len(items)
    r = await client.post(
        "/v1/models/tiny/evaluate", json={"kind": "pairs", "items": items, "subwords": True}
    )
    assert r.status_code == 422 and "subword" in r.json()["detail"]
    r = await client.post(f"{V}/evaluate", json={"kind": "pairs", "items": items})
    assert "subwords" not in r.json()["result"]


async def test_embedding_matrix_gives_oov_words_ngram_vectors(client: httpx.AsyncClient, theirs: Any) -> None:
    body = {"vocabulary": ["", "[UNK]", WORDS[0], "talomike", "talomike"], "format": "json"}
    r = await client.post(f"{V}/embedding-matrix", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["subword"] == ["talomike"] and r.json()["missing"] == []
    matrix = np.array(r.json()["matrix"])
    np.testing.assert_allclose(matrix[3], theirs.get_vector("talomike"), rtol=0, atol=1e-6)
    np.testing.assert_allclose(matrix[4], matrix[3])
    short = {"vocabulary": ["a", "talomike"], "format": "json", "normalize": True}
    r = await client.post("/v1/models/short/embedding-matrix", json=short)
    assert r.json()["missing"] == ["a"] and r.json()["subword"] == ["talomike"]
    assert np.linalg.norm(r.json()["matrix"][1]) == pytest.approx(1.0, abs=1e-6)


async def test_an_imported_facebook_bin_serves_oov_words_as_gensim_loads_them(tmp_path: Path) -> None:
    """The two halves together: `firth import fasttext-bin`'s model, served, answers an unknown
    word as gensim's load_facebook_vectors does."""
    from gensim.models.fasttext import load_facebook_vectors

    from firth_core.importers import import_fasttext_bin
    from tests.fasttext_files import make_bin

    make_bin(tmp_path / "tiny.bin")
    model = load_model(
        import_fasttext_bin(tmp_path / "tiny.bin", tmp_path / "ft", progress=False), exact_settings()
    )
    theirs = load_facebook_vectors(str(tmp_path / "tiny.bin"))
    app = create_app(exact_settings(), ModelRegistry([model]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        word = "unseenword"
        assert word not in theirs.key_to_index
        r = await c.get(f"/v1/models/{model.name}/vectors/{word}")
        assert r.json()["oov"] is True
        np.testing.assert_allclose(r.json()["vector"], theirs[word], rtol=0, atol=1e-5)
        r = await c.get(f"/v1/models/{model.name}/neighbors", params={"word": word, "k": 10, "exact": True})
        # "</s>" has no n-grams in fastText but has in gensim (test_fasttext_bin.py): leave it aside
        ours = [n["word"] for n in r.json()["neighbors"] if n["word"] != "</s>"]
        expected = [w for w, _ in theirs.most_similar(word, topn=10) if w != "</s>"]
        assert ours[:5] == expected[:5]
