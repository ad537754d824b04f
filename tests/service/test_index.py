"""FAISS indexes: HNSW against exact, saved indexes with checksums, the build lock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.index import ExactIndex, hnsw_files, load_hnsw, save_hnsw, try_build_lock
from tests.service.conftest import SPEC, UNIT


def test_hnsw_recall_against_exact(hnsw) -> None:  # type: ignore[no-untyped-def]
    exact = ExactIndex(UNIT)
    queries = UNIT[:300]
    _, truth = exact.search(queries, 10)
    _, approx = hnsw.search(queries, 10)
    recall = np.mean([len(set(t) & set(a)) / 10 for t, a in zip(truth, approx, strict=True)])
    assert recall >= 0.95
    assert (approx >= 0).all()


def test_exact_index_restrict_searches_a_prefix() -> None:
    exact = ExactIndex(UNIT)
    scores, ids = exact.search(UNIT[2500:2501], 20, restrict=100)
    assert (ids < 100).all() and (ids >= 0).all()
    brute = UNIT[:100] @ UNIT[2500]
    assert ids[0].tolist() == np.argsort(-brute)[:20].tolist()
    assert scores[0] == pytest.approx(np.sort(brute)[::-1][:20], abs=1e-5)


def test_hnsw_refuses_restricted_search(hnsw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="exact index"):
        hnsw.search(UNIT[:1], 5, restrict=10)


def test_save_and_load_verify_checksum_and_vectors(tmp_path: Path, hnsw) -> None:  # type: ignore[no-untyped-def]
    save_hnsw(hnsw, tmp_path, SPEC, vectors_sha256="abc")
    loaded = load_hnsw(tmp_path, SPEC, "abc", ef_search=64)
    assert loaded is not None
    assert loaded.search(UNIT[:5], 5)[1].tolist() == hnsw.search(UNIT[:5], 5)[1].tolist()
    assert load_hnsw(tmp_path, SPEC, "other vectors", ef_search=64) is None
    index_file, _ = hnsw_files(tmp_path, SPEC)
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index_file.write_bytes(bytes(data))
    assert load_hnsw(tmp_path, SPEC, "abc", ef_search=64) is None  # corrupt: rebuilt, never trusted
    assert not list(tmp_path.glob("*.tmp-*"))


def test_build_lock_is_exclusive(tmp_path: Path) -> None:
    first = try_build_lock(tmp_path, SPEC)
    assert first is not None
    assert try_build_lock(tmp_path, SPEC) is None
    first.close()
    again = try_build_lock(tmp_path, SPEC)
    assert again is not None
    again.close()
