"""OpenAI's official Python client against the real server process on GloVe 6B 50d: its default
request (base64, decoded by the client), floats, models.list, and its exceptions for our errors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import openai
import pytest

from bench.server_process import ServerProcess
from firth_core.artifact import load_artifact
from firth_core.keyed_vectors import KeyedVectors
from tests.conftest import DEFAULT_MODEL_DIR


@pytest.fixture(scope="module")
def client(default_server: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{default_server.url}/openai/v1", api_key="unused", max_retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def kv() -> KeyedVectors:
    return KeyedVectors.from_artifact(load_artifact(DEFAULT_MODEL_DIR))


def unit_mean(kv: KeyedVectors, words: list[str]) -> np.ndarray:
    mean = kv.unit[[kv.index(w) for w in words]].astype(np.float64).mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_embeddings_with_the_clients_defaults(client: openai.OpenAI, kv: KeyedVectors) -> None:
    texts = ["The cat sat on the mat", "Paris is the capital of France"]
    result = client.embeddings.create(model="default", input=texts)  # the client asks for base64
    assert result.model == "glove-6b-50d" and len(result.data) == 2
    for item, text in zip(result.data, texts, strict=True):
        np.testing.assert_allclose(item.embedding, unit_mean(kv, text.lower().split()), atol=1e-6)
    assert result.usage.prompt_tokens == 12 and result.usage.total_tokens == 12


def test_float_format_and_ids(client: openai.OpenAI, kv: KeyedVectors) -> None:
    ids = [kv.index("king") + 2, kv.index("queen") + 2]
    by_ids = client.embeddings.create(model="glove-6b-50d", input=[ids], encoding_format="float")
    by_text = client.embeddings.create(model="glove-6b-50d", input="king queen", encoding_format="float")
    np.testing.assert_allclose(by_ids.data[0].embedding, by_text.data[0].embedding, atol=1e-7)
    np.testing.assert_allclose(by_text.data[0].embedding, unit_mean(kv, ["king", "queen"]), atol=1e-6)


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["glove-6b-50d"]


def test_errors_become_the_clients_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="text-embedding-3-small", input="cat")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.embeddings.create(model="default", input="cat", dimensions=1536)
    assert bad.value.param == "dimensions"
    with pytest.raises(openai.BadRequestError) as oov:
        client.embeddings.create(model="default", input="qwzxqwzx")
    assert oov.value.code == "empty_query"
