"""`evaluate(..., subwords=True)` of both clients against the real app serving a subword model made
here (gensim's FastTextKeyedVectors written as a firth model): gensim's figures, which skip the
unknown words, and beside them `result["subwords"]`, the figures with n-gram vectors for those
words, equal to firth_core's evaluation of the same model. A model without subwords is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI

from firth_client import AsyncFirthClient, Evaluation, FirthClient, ValidationError
from firth_core.artifact import load_artifact
from firth_core.evaluation import evaluate_lines
from firth_core.keyed_vectors import KeyedVectors
from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_model
from tests.client.conftest import BASE_URL, SyncASGITransport
from tests.conftest import exact_settings
from tests.subword_models import OOV_WORDS, gensim_fasttext, syllable_words, write_subword_model

WORDS = syllable_words()
PAIRS = [f"{WORDS[i]}\t{WORDS[i + 7]}\t{i % 10}" for i in range(40)] + [
    f"{w}\t{WORDS[i]}\t{(3 * i) % 10}" for i, w in enumerate(OOV_WORDS)
]
ANALOGIES = [": syllables"] + [f"{WORDS[i]} {WORDS[i + 1]} {WORDS[i + 2]} {WORDS[i + 3]}" for i in range(30)]
ANALOGIES += [f"{WORDS[i]} {w} {WORDS[i + 5]} {WORDS[i + 6]}" for i, w in enumerate(OOV_WORDS)]


@pytest.fixture(scope="module")
def subword_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_subword_model(tmp_path_factory.mktemp("models") / "subword", gensim_fasttext(WORDS))


@pytest.fixture(scope="module")
def app(subword_dir: Path, tiny_model_dir: Path) -> FastAPI:
    settings = exact_settings()
    return create_app(
        settings, ModelRegistry([load_model(p, settings) for p in (subword_dir, tiny_model_dir)])
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[FirthClient]:
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        FirthClient(BASE_URL, model="subword", transport=SyncASGITransport(app, portal), retries=0) as firth,
    ):
        yield firth


def _expected(subword_dir: Path, kind: str, lines: list[str], **options: Any) -> dict[str, Any]:
    result = evaluate_lines(KeyedVectors.from_artifact(load_artifact(subword_dir)), kind, lines, **options)  # type: ignore[arg-type]
    return _comparable(result)


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in result.items() if k not in ("seconds", "kind", "benchmark")}
    return json.loads(json.dumps(kept))  # tuples become lists, as on the wire


def _same(got: Evaluation, expected: dict[str, Any]) -> None:
    result = _comparable(dict(got.result))
    assert result.pop("subwords") == pytest.approx(expected.pop("subwords"))
    assert result == pytest.approx(expected)


def test_pairs_with_subwords(client: FirthClient, subword_dir: Path) -> None:
    got = client.evaluate(items=PAIRS, kind="pairs", subwords=True)
    expected = _expected(subword_dir, "pairs", PAIRS, subwords=True)
    assert expected["oov"] == len(OOV_WORDS) and expected["subwords"]["oov_scored"] == len(OOV_WORDS)
    _same(got, expected)
    plain = client.evaluate(items=PAIRS, kind="pairs")
    assert "subwords" not in plain.result  # gensim's figures alone, as before
    assert plain.result["spearman"] == pytest.approx(got.result["spearman"])


def test_analogies_with_subwords(client: FirthClient, subword_dir: Path) -> None:
    got = client.evaluate(items=ANALOGIES, kind="analogies", subwords=True)
    expected = _expected(subword_dir, "analogies", ANALOGIES, subwords=True)
    assert expected["oov"] == len(OOV_WORDS) and expected["subwords"]["oov_answered"] == len(OOV_WORDS)
    assert _comparable(dict(got.result)) == expected  # counts and per-section scores: exact


def test_a_model_without_subwords_is_refused(client: FirthClient) -> None:
    client.model = "tiny"
    with pytest.raises(ValidationError, match="subword") as caught:
        client.evaluate(items=PAIRS, kind="pairs", subwords=True)
    assert caught.value.status == 422


@pytest.mark.anyio
async def test_async_client_sends_subwords_too(app: FastAPI, subword_dir: Path) -> None:
    async with AsyncFirthClient(
        BASE_URL, model="subword", transport=httpx.ASGITransport(app=app), retries=0
    ) as firth:
        got = await firth.evaluate(items=PAIRS, kind="pairs", subwords=True)
        _same(got, _expected(subword_dir, "pairs", PAIRS, subwords=True))
        firth.model = "tiny"
        with pytest.raises(ValidationError, match="subword"):
            await firth.evaluate(items=PAIRS, kind="pairs", subwords=True)
