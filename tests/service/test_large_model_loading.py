"""A large model loads from what its first start saved: unit vectors memory-mapped from the index
directory (searched in place, not copied into faiss), and its files verified once, then trusted
while their (size, mtime, inode) stamps and digests are unchanged. Thresholds are lowered so a
small model takes the large-model path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import VECTORS_FILE, load_artifact
from firth_core.errors import ArtifactError
from firth_core.keyed_vectors import KeyedVectors
from firth_core.query import ExactSearch, NeighbourQuery
from firth_service import registry as registry_module
from firth_service import unit_store, verified
from firth_service.engine import neighbours
from firth_service.registry import index_dir_for, load_model
from tests.conftest import exact_settings
from tests.subword_models import gensim_fasttext, syllable_words, write_subword_model


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit_store, "UNIT_FILE_MIN_BYTES", 1)
    monkeypatch.setattr(verified, "MARKER_MIN_BYTES", 1)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return write_subword_model(tmp_path / "subword", gensim_fasttext(syllable_words(400)))


def test_unit_vectors_are_saved_once_then_mapped_and_answers_unchanged(large: None, model_dir: Path) -> None:
    settings = exact_settings()
    first = load_model(model_dir, settings)
    index_dir = index_dir_for(model_dir, first.sha256, settings)
    assert (index_dir / unit_store.UNIT_FILE).is_file() and (index_dir / verified.MARKER).is_file()
    assert isinstance(first.exact, ExactSearch) and isinstance(first.kv.unit, np.memmap)
    saved_at = os.stat(index_dir / unit_store.UNIT_FILE).st_mtime_ns
    second = load_model(model_dir, settings)
    assert os.stat(index_dir / unit_store.UNIT_FILE).st_mtime_ns == saved_at  # mapped, not rewritten
    plain = KeyedVectors.from_artifact(load_artifact(model_dir))  # computed in memory
    np.testing.assert_array_equal(np.asarray(second.kv.unit), plain.unit)
    np.testing.assert_array_equal(np.asarray(second.kv.norms), plain.norms)
    query = [NeighbourQuery(["talomike"], k=10), NeighbourQuery([plain.words[3]], k=10)]
    ours = [r.neighbors for r in neighbours(second, query)]
    for answer, word in zip(ours, ["talomike", plain.words[3]], strict=True):
        expected = plain.most_similar(word, topn=10)
        assert [w for w, _ in answer] == [w for w, _ in expected]
        assert [s for _, s in answer] == pytest.approx([s for _, s in expected], abs=1e-6)


def test_files_are_hashed_once_while_their_stamps_hold(
    large: None, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = exact_settings()
    load_model(model_dir, settings)  # the first load verifies and records
    hashed: list[str] = []
    real = registry_module.load_artifact

    def spy(path: object, **kwargs: bool) -> object:
        hashed.append("trusted" if kwargs.get("trusted") else "verified")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(registry_module, "load_artifact", spy)
    load_model(model_dir, settings)
    load_model(model_dir, settings, verify_checksums=True)  # a reload verifies in full
    assert hashed == ["trusted", "verified"]
    # a file rewritten in place (new mtime) is verified again, and a corrupt one refused
    vectors = model_dir / VECTORS_FILE
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0x01
    vectors.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        load_model(model_dir, settings)


def test_a_small_model_keeps_its_in_memory_path(model_dir: Path) -> None:
    settings = exact_settings()
    model = load_model(model_dir, settings)
    index_dir = index_dir_for(model_dir, model.sha256, settings)
    assert not index_dir.exists() and not isinstance(model.exact, ExactSearch)


@pytest.mark.anyio
async def test_readiness_canary_on_a_mapped_exact_index(large: None, model_dir: Path) -> None:
    import httpx

    from firth_service.app import create_app
    from firth_service.registry import ModelRegistry

    model = load_model(model_dir, exact_settings())
    assert isinstance(model.exact, ExactSearch)
    app = create_app(exact_settings(), ModelRegistry([model]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["models"]["subword"]["index"] == "exact"
