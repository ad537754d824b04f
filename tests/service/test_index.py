"""FAISS indexes: HNSW against exact, saved indexes with checksums, the build lock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firth_core.keyed_vectors import KeyedVectors
from firth_core.query import NeighbourQuery, most_similar_batch
from firth_service.index import ExactIndex
from firth_service.index_store import hnsw_files, load_hnsw, save_hnsw, try_build_lock
from tests.service.conftest import SPEC, UNIT, VECTORS, WORDS


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


def test_hnsw_behind_the_query_rules(hnsw) -> None:  # type: ignore[no-untyped-def]
    kv = KeyedVectors(WORDS, VECTORS)
    exact = ExactIndex(kv.unit)
    queries = [
        NeighbourQuery(positive=[WORDS[i], WORDS[i + 7]], negative=[WORDS[i + 3]], k=10) for i in range(60)
    ]
    batch = most_similar_batch(kv, queries, exact, hnsw)
    singles = [most_similar_batch(kv, [q], exact, hnsw)[0] for q in queries]
    assert [a.hits for a in batch] == [a.hits for a in singles]  # one faiss search = sixty
    assert {a.index for a in batch} == {"hnsw"}
    truth = most_similar_batch(kv, queries, exact)
    recall = np.mean(
        [len({r for r, _ in a.hits} & {r for r, _ in t.hits}) / 10 for a, t in zip(batch, truth, strict=True)]
    )
    assert recall >= 0.95
    # gensim's hook: KeyedVectors.most_similar hands its query to the index it is given
    assert kv.most_similar([WORDS[5]], topn=10, indexer=hnsw) == [
        (WORDS[r], s) for r, s in most_similar_batch(kv, [NeighbourQuery([WORDS[5]])], exact, hnsw)[0].hits
    ]


def test_efsearch_rises_with_rarity_and_k(hnsw) -> None:  # type: ignore[no-untyped-def]
    index = hnsw.tuned(16, by_rank=((0, 1), (1000, 3), (2000, 6)))
    assert index.ef_for(10, np.array([0, 999, 1000, 2500])).tolist() == [16, 16, 48, 96]
    assert index.ef_for(40, np.array([0, 2500])).tolist() == [40, 240]  # never below k
    assert index.ef_for(10, None).tolist() == [96]  # no rank: searched as the rarest
    assert hnsw.tuned(16, by_rank=()).ef_for(10, np.array([0, 2500])).tolist() == [16]


def test_a_batch_of_mixed_ranks_is_searched_as_each_alone(hnsw) -> None:  # type: ignore[no-untyped-def]
    by_rank = ((0, 1), (1000, 3), (2000, 6))
    index = hnsw.tuned(8, by_rank=by_rank)
    rows = np.array([5, 1500, 2900, 10, 2100, 1200])
    scores, ids = index.search(UNIT[rows], 10, ranks=rows)
    for i, row in enumerate(rows):
        # each query answered as a search with its own efSearch alone
        ef = 8 * {0: 1, 1: 3, 2: 6}[int(row) // 1000]
        alone_scores, alone_ids = hnsw.tuned(ef, by_rank=()).search(UNIT[row : row + 1], 10)
        assert ids[i].tolist() == alone_ids[0].tolist()
        np.testing.assert_allclose(scores[i], alone_scores[0], rtol=1e-6)
