"""POST /v1/models/{model}/classify through the real app: a hand-made classifier against its
numpy oracle, a classifier trained by `firth train` against `firth predict`, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_model
from firth_service.schemas_text import ClassifyResponse
from firth_service.settings import MAX_TEXTS
from tests.cli_process import firth
from tests.conftest import TINY_CLASSIFIER_LABELS, exact_settings, tiny_classifier_probabilities
from tests.labelled_data import SIGNS, planted_lines, write_lines

pytestmark = pytest.mark.anyio
LABELS = "/v1/models/labels/classify"


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trained")
    corpus = write_lines(d / "train.txt", planted_lines(900, seed=12))
    done = firth(
        "train", "--algorithm", "supervised", "--quiet", "--corpus", corpus, "--out", d / "planted",
        "--dim", "8", "--epochs", "8", "--alpha", "0.5", "--word-ngrams", "2", "--bucket", "2000", "--threads", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return d / "planted"


@pytest.fixture
async def api(
    tiny_model_dir: Path, classifier_model_dir: Path, trained_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = exact_settings()
    registry = ModelRegistry(
        [load_model(p, settings) for p in (tiny_model_dir, classifier_model_dir, trained_dir)]
    )
    transport = httpx.ASGITransport(app=create_app(settings, registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_labels_and_probabilities_match_the_oracle(api: httpx.AsyncClient) -> None:
    texts = ["The FROG and the toad", "oak elm", "green", "nothing known here"]
    response = await api.post(LABELS, json={"texts": texts, "k": 3})
    assert response.status_code == 200
    body = response.json()
    ClassifyResponse.model_validate(body)
    assert body["model"] == "labels" and body["loss"] == "softmax"
    for text, got in zip(texts, body["texts"], strict=True):
        tokens = text.lower().split()
        assert got["tokens"] == tokens
        assert got["oov"] == list(
            dict.fromkeys(t for t in tokens if t not in {"frog", "toad", "oak", "elm", "green"})
        )
        probs = tiny_classifier_probabilities(tokens)
        order = np.argsort(-probs)
        assert [x["label"] for x in got["labels"]] == [TINY_CLASSIFIER_LABELS[i] for i in order]
        assert [x["probability"] for x in got["labels"]] == pytest.approx(probs[order].tolist(), abs=1e-6)
    top = [t["labels"][0]["label"] for t in body["texts"]]
    assert top[:3] == ["animal", "plant", "colour"]


async def test_k_and_threshold(api: httpx.AsyncClient) -> None:
    body = (await api.post(LABELS, json={"texts": ["frog", "frog oak"]})).json()
    assert [len(t["labels"]) for t in body["texts"]] == [1, 1]  # k defaults to 1
    body = (await api.post(LABELS, json={"texts": ["frog oak"], "k": 50, "threshold": 0.3})).json()
    probs = tiny_classifier_probabilities(["frog", "oak"])
    assert len(body["texts"][0]["labels"]) == int((probs >= 0.3).sum()) < 3
    body = (await api.post(LABELS, json={"texts": ["frog"], "k": 3, "threshold": 1.0})).json()
    assert body["texts"][0]["labels"] == []
    body = (await api.post(LABELS, json={"texts": ["frog"], "k": 2.0})).json()  # JSON Schema's integer
    assert len(body["texts"][0]["labels"]) == 2


async def test_the_trained_model_answers_as_firth_predict(
    api: httpx.AsyncClient, trained_dir: Path, tmp_path: Path
) -> None:
    texts = [
        f"{SIGNS['animal'][1]} noise3 {SIGNS['animal'][4]}",
        f"noise9 {SIGNS['rock'][0]} {SIGNS['rock'][2]} unseen",
    ]
    body = (await api.post("/v1/models/planted/classify", json={"texts": texts, "k": 2})).json()
    assert [t["labels"][0]["label"] for t in body["texts"]] == ["animal", "rock"]
    assert body["texts"][1]["oov"] == ["unseen"]
    file = tmp_path / "texts.txt"
    file.write_text("\n".join(texts) + "\n")
    done = firth("predict", trained_dir, file, "--k", "2")
    assert done.returncode == 0, done.stderr
    for line, got in zip(done.stdout.splitlines(), body["texts"], strict=True):
        fields = line.split()
        assert fields[0::2] == [f"__label__{x['label']}" for x in got["labels"]]
        assert [float(p) for p in fields[1::2]] == pytest.approx(
            [x["probability"] for x in got["labels"]], abs=1e-5
        )
    # The word matrix is served as any model's: the task's embeddings.
    assert (await api.get(f"/v1/models/planted/vectors/{SIGNS['animal'][1]}")).status_code == 200


async def test_a_model_that_is_not_a_classifier_says_what_it_is(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/models/tiny/classify", json={"texts": ["frog"]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/not-a-classifier"
    assert (
        problem["model"] == "tiny"
        and problem["kind"] == "word vectors imported from a hand-made test vectors file"
    )
    assert "is not a classifier" in problem["detail"] and "hand-made test vectors" in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"texts": []},
        {"texts": "frog"},
        {"texts": ["frog"], "k": 0},
        {"texts": ["frog"], "k": 1.5},
        {"texts": ["frog"], "threshold": 1.5},
        {"texts": ["frog"], "threshold": -0.1},
        {"texts": ["frog"], "extra": 1},
        {"texts": ["x" * 100_001]},
        {"texts": ["frog"] * (MAX_TEXTS + 1)},
    ],
)
async def test_bad_requests_are_problems(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await api.post(LABELS, json=body)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"


async def test_unknown_model_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/models/nope/classify", json={"texts": ["frog"]})
    assert response.status_code == 404 and response.json()["type"] == "/problems/unknown-model"
