"""firth_core.query: gensim's query rules with the search plugged in.

The exact indexer against gensim's own answers, a batch against its queries one by one, the
exclusion of the query's words with over-fetch, restrict_vocab, 3CosMul, and the exact fallback
when an indexer answers short. FAISS HNSW behind the same protocol: tests/service/test_index.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from firth_core.cancellation import Cancelled, CancelToken, cancellable
from firth_core.errors import InvalidQuery
from firth_core.keyed_vectors import KeyedVectors
from firth_core.query import (
    ExactSearch,
    Indexer,
    NeighbourQuery,
    build_query,
    cosmul_scores,
    drop_excluded,
    most_similar_batch,
    word_means,
)
from tests.conftest import random_matrix

WORDS, VECTORS = random_matrix()
KV = KeyedVectors(WORDS, VECTORS)
EXACT = ExactSearch(KV.unit)


def words_of(hits: list[tuple[int, float]]) -> list[str]:
    return [WORDS[row] for row, _ in hits]


def assert_gensim(ours: list[tuple[int, float]], theirs: list[tuple[str, float]]) -> None:
    assert words_of(ours) == [w for w, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5, abs=1e-5)


def test_exact_search_answers_as_gensim(gensim_random: Any) -> None:
    rng = np.random.default_rng(3)
    cases = [
        ([WORDS[i] for i in rng.choice(len(WORDS), 2, replace=False)], [WORDS[int(rng.integers(len(WORDS)))]])
        for _ in range(20)
    ]
    queries = [NeighbourQuery(positive=p, negative=n, k=12) for p, n in cases]
    answers = most_similar_batch(KV, queries, EXACT)
    for (positive, negative), answer in zip(cases, answers, strict=True):
        if set(positive) & set(negative):
            continue
        assert answer.index == "exact"
        assert_gensim(answer.hits, gensim_random.most_similar(positive=positive, negative=negative, topn=12))


def test_raw_vectors_and_weights_answer_as_gensim(gensim_random: Any) -> None:
    raw = VECTORS[5] * 3.0 + VECTORS[9]  # not unit: gensim takes a raw vector as given
    query = NeighbourQuery(
        positive=["w0001", raw], negative=["w0002"], positive_weights=[2.0, 0.5], negative_weights=[-1.5], k=9
    )
    (answer,) = most_similar_batch(KV, [query], EXACT)
    # gensim takes (term, weight) pairs; a negative term's weight is subtracted
    theirs = gensim_random.most_similar(positive=[("w0001", 2.0), (raw, 0.5), ("w0002", -1.5)], topn=9)
    assert_gensim(answer.hits, theirs)


def test_a_vector_alone_is_a_query_that_excludes_nothing(gensim_random: Any) -> None:
    # a future text query: a sentence's vector searched as it is, its nearest word included
    sentence = VECTORS[[10, 11, 12]].mean(axis=0)
    built = build_query(KV, [sentence])
    assert built.exclude == ()
    (answer,) = most_similar_batch(KV, [NeighbourQuery(positive=[sentence], k=5)], EXACT)
    assert_gensim(answer.hits, gensim_random.similar_by_vector(sentence, topn=5))
    (self_query,) = most_similar_batch(KV, [NeighbourQuery(positive=[VECTORS[42]], k=1)], EXACT)
    assert words_of(self_query.hits) == [WORDS[42]]


def test_a_batch_answers_as_its_queries_one_by_one() -> None:
    rng = np.random.default_rng(5)
    queries = [
        NeighbourQuery(
            positive=[WORDS[int(i)] for i in rng.choice(len(WORDS), int(rng.integers(1, 4)), replace=False)],
            negative=[WORDS[int(rng.integers(len(WORDS)))]] if i % 3 == 0 else [],
            k=int(rng.integers(1, 30)),
            restrict_vocab=[None, 1000][i % 2],
            method=["3cosadd", "3cosmul"][int(i % 5 == 0)],  # type: ignore[arg-type]
        )
        for i in range(40)
    ]
    queries = [q for q in queries if not set(q.positive) & set(q.negative)]
    batch = most_similar_batch(KV, queries, EXACT)
    singles = [most_similar_batch(KV, [q], EXACT)[0] for q in queries]
    for together, alone in zip(batch, singles, strict=True):
        # the same rows; a matrix product may round the last bit of a score otherwise than one
        # query's matrix-vector product
        assert words_of(together.hits) == words_of(alone.hits) and together.index == alone.index
        assert [s for _, s in together.hits] == pytest.approx([s for _, s in alone.hits], rel=1e-6)
    assert [len(a.hits) for a in batch] == [q.k for q in queries]


def test_the_query_words_are_left_out_and_k_still_come_back() -> None:
    positive, negative = [WORDS[0], WORDS[1], WORDS[2]], [WORDS[3]]
    built = build_query(KV, positive, negative)
    # the nearest rows of this query include its own words, so over-fetch is what keeps k
    _, nearest = EXACT.search(built.vector[None, :], 8)
    assert set(nearest[0].tolist()) & {0, 1, 2}
    (answer,) = most_similar_batch(KV, [NeighbourQuery(positive, negative, k=8)], EXACT)
    assert len(answer.hits) == 8
    assert not set(words_of(answer.hits)) & set(positive + negative)
    assert (
        words_of(answer.hits)
        == [WORDS[int(i)] for i in nearest_rows(built.vector, 12) if int(i) not in {0, 1, 2, 3}][:8]
    )


def nearest_rows(vector: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(KV.unit @ vector), kind="stable")[:k]


def test_drop_excluded_skips_padding_and_inputs() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5], dtype=np.float32)
    ids = np.array([4, -1, 7, 2, 9])
    assert drop_excluded(scores, ids, (7,), 2) == [(4, pytest.approx(0.9)), (2, pytest.approx(0.6))]


def test_restrict_vocab_searches_only_the_most_frequent_rows(gensim_random: Any) -> None:
    query = NeighbourQuery(positive=[WORDS[2000]], k=15, restrict_vocab=300)
    (answer,) = most_similar_batch(KV, [query], EXACT)
    assert all(row < 300 for row, _ in answer.hits)
    assert_gensim(answer.hits, gensim_random.most_similar(WORDS[2000], topn=15, restrict_vocab=300))
    # a restriction as large as the vocabulary is no restriction
    (whole,) = most_similar_batch(
        KV, [NeighbourQuery(positive=[WORDS[2000]], k=15, restrict_vocab=10**6)], EXACT
    )
    assert_gensim(whole.hits, gensim_random.most_similar(WORDS[2000], topn=15))


def test_3cosmul_answers_as_gensim(gensim_random: Any) -> None:
    query = NeighbourQuery(positive=[WORDS[7], WORDS[8]], negative=[WORDS[9]], k=10, method="3cosmul")
    (answer,) = most_similar_batch(KV, [query], EXACT)
    assert answer.index == "exact"
    theirs = gensim_random.most_similar_cosmul(positive=[WORDS[7], WORDS[8]], negative=[WORDS[9]], topn=10)
    assert_gensim(answer.hits, theirs)
    restricted = dataclasses.replace(query, restrict_vocab=500)
    (short,) = most_similar_batch(KV, [restricted], EXACT)
    # gensim's most_similar_cosmul ignores restrict_vocab: rank its scores of the first 500 rows
    dists = gensim_random.most_similar_cosmul(positive=[WORDS[7], WORDS[8]], negative=[WORDS[9]], topn=None)
    best = [int(i) for i in np.argsort(-dists[:500], kind="stable") if int(i) not in (7, 8, 9)][:10]
    theirs = [(WORDS[i], float(dists[i])) for i in best]
    assert_gensim(short.hits, theirs)
    with pytest.raises(InvalidQuery, match="weights apply to 3cosadd only"):
        most_similar_batch(KV, [dataclasses.replace(query, positive_weights=[1.0, 2.0])], EXACT)


def test_3cosmul_in_row_blocks_scores_as_gensim(gensim_random: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The smallest block (1,024 rows) splits the 3,000 words in three; the scores stay gensim's."""
    import firth_core.query

    monkeypatch.setattr(firth_core.query, "COSMUL_BLOCK_BYTES", 1)
    positive, negative = [WORDS[7], WORDS[8], VECTORS[20]], [WORDS[9]]
    scores, exclude = cosmul_scores(KV, positive, negative)
    theirs = gensim_random.most_similar_cosmul(positive=positive, negative=negative, topn=None)
    assert scores.shape == (len(WORDS),) and exclude == (7, 8, 9)
    np.testing.assert_allclose(scores, theirs, rtol=1e-5, atol=1e-6)
    restricted, _ = cosmul_scores(KV, positive, negative, restrict_vocab=1500)
    np.testing.assert_array_equal(restricted, scores[:1500])


class ShortIndexer:
    """An approximate indexer that loses results as HNSW can (faiss's -1 padding), and cannot
    search a vocabulary prefix: the rules must fall back to the exact search for both."""

    kind = "short"
    prefix_search = False

    def __init__(self, answered: int) -> None:
        self.size = len(KV)
        self.answered = answered
        self.calls = 0

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        assert restrict is None and ranks is not None
        self.calls += 1
        scores, ids = EXACT.search(queries, k)
        ids[:, self.answered :] = -1
        return scores, ids


def test_a_short_approximate_answer_is_searched_again_exactly() -> None:
    indexer: Indexer = ShortIndexer(answered=20)
    queries = [NeighbourQuery(positive=[WORDS[1]], k=10), NeighbourQuery(positive=[WORDS[2]], k=30)]
    enough, short = most_similar_batch(KV, queries, EXACT, indexer)
    assert enough.index == "short" and len(enough.hits) == 10
    assert short.index == "exact" and len(short.hits) == 30
    assert short.hits == most_similar_batch(KV, [queries[1]], EXACT)[0].hits


def test_exact_and_restricted_queries_do_not_use_the_approximate_index() -> None:
    indexer = ShortIndexer(answered=1000)
    exact, restricted, approximate = most_similar_batch(
        KV,
        [
            NeighbourQuery(positive=[WORDS[1]], exact=True),
            NeighbourQuery(positive=[WORDS[1]], restrict_vocab=100),
            NeighbourQuery(positive=[WORDS[1]]),
        ],
        EXACT,
        indexer,
    )
    assert (exact.index, restricted.index, approximate.index) == ("exact", "exact", "short")
    assert indexer.calls == 1  # one search for the one query it may answer


def test_keyed_vectors_hands_the_search_to_an_indexer() -> None:
    indexer = ShortIndexer(answered=1000)
    assert KV.most_similar([WORDS[3]], topn=4, indexer=indexer) == KV.most_similar([WORDS[3]], topn=4)
    assert indexer.calls == 1


def test_word_means_equal_build_query() -> None:
    rng = np.random.default_rng(11)
    rows = rng.integers(0, len(WORDS), size=(50, 3))
    batch = word_means(KV.unit, positive=rows[:, :2], negative=rows[:, 2:])
    for row, vector in zip(rows, batch, strict=True):
        single = build_query(KV, [WORDS[row[0]], WORDS[row[1]]], [WORDS[row[2]]]).vector
        np.testing.assert_allclose(vector, single, rtol=1e-5, atol=1e-6)


def test_exact_search_batches_larger_than_one_chunk() -> None:
    queries = KV.unit[:64]
    scores, ids = EXACT.search(queries, 5)
    for i in range(64):
        s, r = EXACT.search(queries[i : i + 1], 5)
        assert ids[i].tolist() == r[0].tolist()
        np.testing.assert_allclose(scores[i], s[0], rtol=1e-5)
    assert (ids[:, 0] == np.arange(64)).all()  # each unit vector is its own nearest row


def test_query_rank_is_its_rarest_word() -> None:
    assert build_query(KV, [WORDS[10], WORDS[900]], [WORDS[40]]).rank == 900
    assert build_query(KV, [WORDS[10], VECTORS[3]]).rank == len(WORDS)  # a raw vector: no rank


def test_long_scans_stop_at_their_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's exact search and a 3CosMul scan check for cancellation between their chunks."""
    import firth_core.query

    monkeypatch.setattr(firth_core.query, "_EXACT_CHUNK_SCORES", 1)  # one query a chunk
    monkeypatch.setattr(firth_core.query, "COSMUL_BLOCK_BYTES", 1)  # 1,024 rows a block
    queries = KV.unit[:5]
    with cancellable(CancelToken()) as token:
        EXACT.search(queries, 3)
        assert token.checkpoints == 5
        cosmul_scores(KV, [WORDS[1]], [WORDS[2]])
        assert token.checkpoints == 5 + 3
        token.cancel("client gone")
        with pytest.raises(Cancelled):
            EXACT.search(queries, 3)
        with pytest.raises(Cancelled):
            cosmul_scores(KV, [WORDS[1]], [WORDS[2]])
