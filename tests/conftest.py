"""Shared fixtures: hand-made models with known answers, a random model for oracle comparisons,
the in-process app, and the real default model.

- `tiny_model_dir`: 3-d vectors laid out so king - man + woman = queen, frog ~ toad, and the
  numbers can be checked by hand.
- `random_model_dir`: 3,000 x 16 Gaussian vectors; gensim's KeyedVectors on the same matrix is
  the exact oracle.
- `api`: an httpx.AsyncClient on the real FastAPI app (ASGI transport) serving both models.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bench.server_process import ServerProcess
from firth_core.artifact import OUTPUT_FILE, write_artifact
from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_model
from firth_service.settings import Settings

REPO = Path(__file__).resolve().parent.parent


# Variables that steer the test suite itself, not the server: kept here when the FIRTH_* environment
# is cleared (read them with suite_option).
SUITE_VARIABLES = ("FIRTH_SCHEMATHESIS_EXAMPLES",)
_suite_options: dict[str, str] = {}


def suite_option(name: str, default: str) -> str:
    return _suite_options.get(name, os.environ.get(name, default))


def pytest_configure(config: pytest.Config) -> None:
    """Settings() reads the FIRTH_* environment: a developer's own must not steer the tests (in
    process, or in the servers they start). Tests that need a variable set it themselves."""
    for key in [k for k in os.environ if k.startswith("FIRTH_")]:
        value = os.environ.pop(key)
        if key in SUITE_VARIABLES:
            _suite_options[key] = value


DEFAULT_MODEL_DIR = REPO / "models" / "glove-6b-50d"

# word: vector. Rows are written in this order (the "frequency" order).
TINY_VECTORS: dict[str, list[float]] = {
    "the": [0.2, 0.2, 0.2],
    "man": [1.0, 0.0, 0.0],
    "woman": [0.0, 1.0, 0.0],
    "king": [1.0, 0.0, 1.0],
    "queen": [0.0, 1.0, 1.0],
    "prince": [1.0, 0.1, 0.8],
    "princess": [0.1, 1.0, 0.8],
    "frog": [-1.0, 0.2, 0.1],
    "toad": [-1.0, 0.25, 0.05],
    "snake": [-0.9, -0.3, 0.2],
    "cat": [-0.2, -1.0, 0.1],
    "dog": [-0.25, -1.0, 0.2],
    "car": [0.3, -0.4, -1.0],
}


def tiny_words() -> list[str]:
    return list(TINY_VECTORS)


def tiny_matrix() -> np.ndarray:
    return np.array(list(TINY_VECTORS.values()), dtype=np.float32)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny"
    counts = list(range(1000, 1000 - len(TINY_VECTORS), -1))
    return write_artifact(
        out,
        tiny_words(),
        tiny_matrix(),
        name="tiny",
        standardize="lower",
        counts=counts,
        meta={"source": {"format": "hand-made test vectors"}},
    )


# A hand-made classifier (the shape `firth train --algorithm supervised` writes): its word rows,
# one output row a label, and meta.json's classifier record. A text's label probabilities are
# softmax(OUTPUT @ mean of its known words' rows and the </s> row).
TINY_CLASSIFIER_VECTORS: dict[str, list[float]] = {
    "</s>": [0.1, 0.1, 0.0],
    "frog": [1.0, 0.0, 0.2],
    "toad": [0.9, 0.1, 0.0],
    "oak": [0.0, 1.0, 0.1],
    "elm": [0.1, 0.9, 0.3],
    "green": [0.4, 0.5, 1.0],
}
TINY_CLASSIFIER_LABELS = ["animal", "plant", "colour"]
TINY_CLASSIFIER_OUTPUT = [[3.0, -1.0, 0.0], [-1.0, 3.0, 0.0], [0.0, 0.0, 2.5]]


@pytest.fixture(scope="session")
def classifier_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "labels"
    return write_artifact(
        out,
        list(TINY_CLASSIFIER_VECTORS),
        np.array(list(TINY_CLASSIFIER_VECTORS.values()), dtype=np.float32),
        name="labels",
        standardize="lower",
        counts=[60, 20, 15, 12, 10, 5],
        meta={
            "source": "firth train",
            "algorithm": {"name": "supervised"},
            "classifier": {
                "labels": TINY_CLASSIFIER_LABELS,
                "loss": "softmax",
                "word_ngrams": 1,
                "bucket": 0,
            },
        },
        extras={OUTPUT_FILE: np.array(TINY_CLASSIFIER_OUTPUT, dtype=np.float32)},
    )


def tiny_classifier_probabilities(words: list[str]) -> np.ndarray:
    """The oracle: softmax of the output rows against the mean of the words' rows and </s>'s."""
    rows = [TINY_CLASSIFIER_VECTORS[w] for w in [*words, "</s>"] if w in TINY_CLASSIFIER_VECTORS]
    scores = np.array(TINY_CLASSIFIER_OUTPUT, dtype=np.float64) @ np.mean(rows, axis=0)
    return np.exp(scores) / np.exp(scores).sum()


def random_matrix(n: int = 3000, dim: int = 16, seed: int = 7) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return [f"w{i:04d}" for i in range(n)], rng.standard_normal((n, dim)).astype(np.float32)


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    words, vectors = random_matrix()
    out = tmp_path_factory.mktemp("models") / "random"
    return write_artifact(out, words, vectors, name="random", meta={"source": {"format": "gaussian"}})


@pytest.fixture(scope="session")
def gensim_random():  # type: ignore[no-untyped-def]
    """gensim's KeyedVectors on the random model: the exact oracle."""
    from gensim.models import KeyedVectors as GensimKeyedVectors

    words, vectors = random_matrix()
    kv = GensimKeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def exact_settings(**overrides: object) -> Settings:
    return Settings(index="exact", build_hnsw=False, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def registry(tiny_model_dir: Path, random_model_dir: Path) -> ModelRegistry:
    settings = exact_settings()
    return ModelRegistry([load_model(tiny_model_dir, settings), load_model(random_model_dir, settings)])


@pytest.fixture
async def api(registry: ModelRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(exact_settings(), registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    if not (DEFAULT_MODEL_DIR / "meta.json").is_file():
        pytest.fail(f"{DEFAULT_MODEL_DIR} is missing: `make test` imports it first (firth import kumo)")
    return DEFAULT_MODEL_DIR


def default_server_process(model_dir: Path, **options: Any) -> ServerProcess:
    """The end-to-end tests' server on the default model: a saved HNSW index is used when there
    is one, never built (minutes of CI time). Entering it waits as bench.server_process does:
    up to a minute on a loaded machine, and no longer than the process lives."""
    return ServerProcess(env={"FIRTH_MODELS": str(model_dir), "FIRTH_BUILD_HNSW": "0"}, **options)


@pytest.fixture(scope="session")
def default_server(default_model_dir: Path) -> Iterator[ServerProcess]:
    """One real server process on the real default model, shared by the end-to-end tests."""
    try:
        server = default_server_process(default_model_dir).__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
