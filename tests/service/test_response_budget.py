"""No answer past the 16 MiB response budget: the routes whose answer grows with the request refuse
it as 422 /problems/over-budget before any work, and still serve what fits. A wide model (2,048
dimensions, written here) makes the matrices and vectors large; the hand-made random model (16)
serves the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from firth_core.artifact import OUTPUT_FILE, write_artifact
from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_model
from firth_service.settings import MAX_RESPONSE_BYTES
from tests.conftest import exact_settings
from tests.service.test_budget import assert_over_budget

pytestmark = pytest.mark.anyio
WIDE = "/v1/models/wide"
RANDOM = "/v1/models/random"
WIDE_WORDS, WIDE_DIM = 2100, 2048  # a 2,100 x 2,048 float32 .npy is 17.2 MB, just past 16 MiB


@pytest.fixture(scope="module")
def wide_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((WIDE_WORDS, WIDE_DIM)).astype(np.float32)
    words = [f"w{i:04d}" for i in range(WIDE_WORDS)]
    return write_artifact(tmp_path_factory.mktemp("models") / "wide", words, vectors, name="wide")


@pytest.fixture
async def wide_api(wide_model_dir: Path, random_model_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = exact_settings()
    registry = ModelRegistry([load_model(wide_model_dir, settings), load_model(random_model_dir, settings)])
    transport = httpx.ASGITransport(app=create_app(settings, registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_an_npy_matrix_past_16_mib_is_refused_for_max_tokens_and_a_vocabulary(
    wide_api: httpx.AsyncClient,
) -> None:
    for body in ({"max_tokens": 400_000}, {"vocabulary": [f"w{i:04d}" for i in range(WIDE_WORDS)]}):
        refused = await wide_api.post(f"{WIDE}/embedding-matrix", json=body)
        problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        assert problem["estimate"] == 128 + (WIDE_WORDS + ("max_tokens" in body) * 2) * WIDE_DIM * 4
    served = await wide_api.post(f"{WIDE}/embedding-matrix", json={"max_tokens": 2000})
    assert served.status_code == 200, served.text
    assert len(served.content) <= MAX_RESPONSE_BYTES
    assert served.headers["content-type"] == "application/x-npy" and len(served.content) > 16_000_000


async def test_a_json_matrix_past_16_mib_is_refused_by_its_numbers(wide_api: httpx.AsyncClient) -> None:
    refused = await wide_api.post(f"{WIDE}/embedding-matrix", json={"max_tokens": 550, "format": "json"})
    assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
    served = await wide_api.post(f"{WIDE}/embedding-matrix", json={"max_tokens": 500, "format": "json"})
    assert served.status_code == 200, served.text
    assert served.json()["shape"] == [500, WIDE_DIM] and len(served.content) <= MAX_RESPONSE_BYTES


async def test_a_json_matrix_whose_words_take_it_past_16_mib_is_refused(wide_api: httpx.AsyncClient) -> None:
    # 8,300 unknown words of 1,000 characters: an 8.3 MB body, listed in `words` and in `missing`
    vocabulary = [f"{i:05d}" + "x" * 995 for i in range(8300)]
    refused = await wide_api.post(
        f"{RANDOM}/embedding-matrix", json={"vocabulary": vocabulary, "format": "json"}
    )
    assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
    served = await wide_api.post(
        f"{RANDOM}/embedding-matrix", json={"vocabulary": vocabulary[:4000], "format": "json"}
    )
    assert served.status_code == 200 and len(served.json()["missing"]) == 4000


async def test_sentence_vectors_past_16_mib_are_refused_on_embed_and_the_openai_route(
    wide_api: httpx.AsyncClient,
) -> None:
    texts = ["w0001 w0002"] * 1000  # 1,000 vectors of 2,048 numbers: about 25 MB of JSON
    refused = await wide_api.post(f"{WIDE}/embed", json={"texts": texts})
    problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
    assert "base64" in problem["detail"]
    served = await wide_api.post(f"{WIDE}/embed", json={"texts": texts, "encoding": "base64"})
    assert served.status_code == 200 and len(served.json()["vectors"]) == 1000
    assert len(served.content) <= MAX_RESPONSE_BYTES
    half = await wide_api.post(f"{WIDE}/embed", json={"texts": texts[:500]})
    assert half.status_code == 200 and len(half.content) <= MAX_RESPONSE_BYTES

    refused = await wide_api.post("/openai/v1/embeddings", json={"model": "wide", "input": texts})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "over_budget" and error["param"] == "input" and "base64" in error["message"]
    served = await wide_api.post(
        "/openai/v1/embeddings", json={"model": "wide", "input": texts, "encoding_format": "base64"}
    )
    assert served.status_code == 200 and len(served.json()["data"]) == 1000
    half = await wide_api.post("/openai/v1/embeddings", json={"model": "wide", "input": texts[:500]})
    assert half.status_code == 200 and len(half.content) <= MAX_RESPONSE_BYTES


def unknown_token_texts(count: int) -> list[str]:
    """Texts of 100,000 characters: one known word, then distinct unknown tokens, each listed in
    the answer twice (`tokens` and `oov`): 18 bytes of answer for 7 of body."""
    tokens = " ".join(f"q{j:05d}" for j in range(14_200))
    return [("w0001 " + tokens)[:100_000]] * count


async def test_texts_whose_echoed_tokens_pass_16_mib_are_refused(wide_api: httpx.AsyncClient) -> None:
    texts = unknown_token_texts(83)  # an 8.3 MB body: about 21 MB of token lists
    for route, body in (
        ("embed", {"texts": texts}),
        ("similarity", {"text_pairs": [texts[i : i + 2] for i in range(0, 82, 2)]}),
        ("similarity/matrix", {"texts_a": texts[:41], "texts_b": texts[41:82]}),
    ):
        refused = await wide_api.post(f"{RANDOM}/{route}", json=body)
        problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        assert "fewer or shorter texts" in problem["detail"], route
    served = await wide_api.post(f"{RANDOM}/embed", json={"texts": texts[:40]})
    assert served.status_code == 200 and len(served.content) <= MAX_RESPONSE_BYTES


async def test_encode_answers_past_16_mib_are_refused(wide_api: httpx.AsyncClient) -> None:
    texts = unknown_token_texts(83)  # 1.2 million ids (within 4,000,000 numbers), tokens twice: ~24 MB
    for body in ({"texts": texts, "ragged": True}, {"texts": texts}):
        refused = await wide_api.post(f"{RANDOM}/encode", json=body)
        problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        assert "fewer or shorter texts" in problem["detail"]
    served = await wide_api.post(f"{RANDOM}/encode", json={"texts": texts[:30], "ragged": True})
    assert served.status_code == 200 and len(served.content) <= MAX_RESPONSE_BYTES
    # a bag of words: 1,000 rows of the model's 3,001 columns, its zeros "0.0," in tf_idf (12 MB)
    bag = await wide_api.post(
        f"{RANDOM}/encode", json={"texts": ["w0001 w0002"] * 1000, "output_mode": "tf_idf"}
    )
    assert bag.status_code == 200 and len(bag.content) <= MAX_RESPONSE_BYTES


@pytest.fixture(scope="module")
def many_labels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier with 1,000 labels of 60 characters (a tagger's label set)."""
    rng = np.random.default_rng(5)
    words = ["</s>", "frog", "oak"]
    labels = [f"label-{i:04d}-" + "t" * 49 for i in range(1000)]
    return write_artifact(
        tmp_path_factory.mktemp("models") / "tags",
        words,
        rng.standard_normal((len(words), 4)).astype(np.float32),
        name="tags",
        standardize="lower",
        meta={
            "source": "firth train",
            "algorithm": {"name": "supervised"},
            "classifier": {"labels": labels, "loss": "softmax", "word_ngrams": 1, "bucket": 0},
        },
        extras={OUTPUT_FILE: rng.standard_normal((len(labels), 4)).astype(np.float32)},
    )


async def test_classify_answers_past_16_mib_are_refused(many_labels_dir: Path) -> None:
    settings = exact_settings()
    app = create_app(settings, ModelRegistry([load_model(many_labels_dir, settings)]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        # 300 texts x 1,000 labels of about 100 bytes each: 30 MB
        refused = await client.post("/v1/models/tags/classify", json={"texts": ["frog"] * 300, "k": 1000})
        problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        assert "smaller k" in problem["detail"]
        served = await client.post("/v1/models/tags/classify", json={"texts": ["frog"] * 100, "k": 1000})
        assert served.status_code == 200 and len(served.json()["texts"][0]["labels"]) == 1000
        assert len(served.content) <= MAX_RESPONSE_BYTES
        texts = unknown_token_texts(83)  # tokens, and again as oov: ~21 MB
        refused = await client.post("/v1/models/tags/classify", json={"texts": texts})
        assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)


async def test_neighbour_batches_of_long_words_past_16_mib_are_refused(tmp_path: Path) -> None:
    """A model whose words are 250 characters long: 100,000 neighbours (within the neighbour budget)
    would be ~30 MB of answer, where 64 bytes a neighbour was assumed."""
    rng = np.random.default_rng(9)
    words = [f"{i:04d}" + "p" * 246 for i in range(2000)]
    path = write_artifact(
        tmp_path / "long", words, rng.standard_normal((2000, 8)).astype(np.float32), name="long"
    )
    settings = exact_settings()
    app = create_app(settings, ModelRegistry([load_model(path, settings)]))
    queries = [{"positive": [words[i]], "k": 1000} for i in range(100)]
    questions = [{"a": words[0], "b": words[1], "c": words[2]}] * 100
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        refused = await client.post("/v1/models/long/neighbors/batch", json={"queries": queries})
        problem = assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        assert "fewer neighbours" in problem["detail"]
        refused = await client.post("/v1/models/long/analogy", json={"questions": questions, "k": 1000})
        assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        served = await client.post("/v1/models/long/neighbors/batch", json={"queries": queries[:50]})
        assert served.status_code == 200 and len(served.json()["results"]) == 50
        assert len(served.content) <= MAX_RESPONSE_BYTES


async def test_single_queries_and_vocabulary_pages_of_huge_words_past_16_mib_are_refused(
    tmp_path: Path,
) -> None:
    """1,000 neighbours, or a page of 1,000 words, of 17,000 characters each: 17 MB."""
    rng = np.random.default_rng(11)
    words = ["seed", "root", "stem"] + [f"{i:04d}" + "h" * 16_996 for i in range(1100)]
    vectors = rng.standard_normal((len(words), 8)).astype(np.float32)
    path = write_artifact(tmp_path / "huge", words, vectors, name="huge")
    settings = exact_settings()
    app = create_app(settings, ModelRegistry([load_model(path, settings)]))
    huge = "/v1/models/huge"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for refused in (
            await client.get(f"{huge}/neighbors", params={"word": "seed", "k": 1000}),
            await client.post(f"{huge}/neighbors", json={"positive": ["seed"], "k": 1000}),
            await client.post(f"{huge}/neighbors", json={"text": "seed root", "k": 1000}),
            await client.get(f"{huge}/analogy", params={"a": "seed", "b": "root", "c": "stem", "k": 1000}),
        ):
            assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
        page = await client.get(f"{huge}/vocabulary", params={"limit": 1000})
        problem = assert_over_budget(page, "response size", MAX_RESPONSE_BYTES)
        assert "smaller limit" in problem["detail"]
        served = await client.get(f"{huge}/neighbors", params={"word": "seed", "k": 900})
        assert served.status_code == 200 and len(served.json()["neighbors"]) == 900
        page = await client.get(f"{huge}/vocabulary", params={"limit": 500})
        assert page.status_code == 200 and len(page.json()["words"]) == 500


async def test_the_response_budget_is_declared_in_the_spec(wide_api: httpx.AsyncClient) -> None:
    spec = (await wide_api.get("/openapi.json")).json()
    assert "rows x dimension x 4 bytes" in spec["info"]["description"]
    matrix = spec["components"]["schemas"]["EmbeddingMatrixRequest"]["description"]
    assert "16 MiB" in matrix and "/problems/over-budget" in matrix
