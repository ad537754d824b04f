"""KeyedVectors against gensim's KeyedVectors (the exact oracle) and numpy brute force."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firth_core.errors import EmptyQuery, InvalidVector, UnknownWord
from firth_core.keyed_vectors import KeyedVectors
from tests.conftest import random_matrix

WORDS, VECTORS = random_matrix()
KV = KeyedVectors(WORDS, VECTORS)
word_ids = st.integers(min_value=0, max_value=len(WORDS) - 1)
hypothesis_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same_ranking(ours: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> None:
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5, abs=1e-5)


@hypothesis_settings
@given(
    pos=st.lists(word_ids, min_size=1, max_size=3),
    neg=st.lists(word_ids, max_size=2),
    topn=st.integers(1, 20),
)
def test_most_similar_equals_gensim(gensim_random: Any, pos: list[int], neg: list[int], topn: int) -> None:
    positive, negative = [WORDS[i] for i in pos], [WORDS[i] for i in neg]
    if set(positive) & set(negative):
        return  # a word both added and subtracted can cancel to zero; covered elsewhere
    ours = KV.most_similar(positive, negative, topn=topn)
    theirs = gensim_random.most_similar(positive=positive, negative=negative, topn=topn)
    assert_same_ranking(ours, theirs)


@hypothesis_settings
@given(
    pos=st.lists(word_ids, min_size=1, max_size=2),
    neg=st.lists(word_ids, max_size=2),
    topn=st.integers(1, 15),
)
def test_most_similar_cosmul_equals_gensim(
    gensim_random: Any, pos: list[int], neg: list[int], topn: int
) -> None:
    positive, negative = [WORDS[i] for i in pos], [WORDS[i] for i in neg]
    ours = KV.most_similar_cosmul(positive, negative, topn=topn)
    theirs = gensim_random.most_similar_cosmul(positive=positive, negative=negative, topn=topn)
    assert_same_ranking(ours, theirs)


def test_restrict_vocab_weights_and_vectors_equal_gensim(gensim_random: Any) -> None:
    ours = KV.most_similar(["w0010", "w0020"], ["w0030"], topn=7, restrict_vocab=500)
    theirs = gensim_random.most_similar(
        positive=["w0010", "w0020"], negative=["w0030"], topn=7, restrict_vocab=500
    )
    assert_same_ranking(ours, theirs)
    assert all(int(w[1:]) < 500 for w, _ in ours)

    ours = KV.most_similar(["w0001", "w0002"], topn=5, positive_weights=[3.0, 0.5])
    theirs = gensim_random.most_similar(positive=[("w0001", 3.0), ("w0002", 0.5)], topn=5)
    assert_same_ranking(ours, theirs)

    vector = VECTORS[5] + 0.5 * VECTORS[6]
    assert_same_ranking(KV.similar_by_vector(vector, topn=5), gensim_random.similar_by_vector(vector, topn=5))


def test_similarity_n_similarity_doesnt_match_equal_gensim(gensim_random: Any) -> None:
    assert KV.similarity("w0001", "w0002") == pytest.approx(
        float(gensim_random.similarity("w0001", "w0002")), abs=1e-6
    )
    a, b = ["w0001", "w0002", "w0003"], ["w0004", "w0005"]
    assert KV.n_similarity(a, b) == pytest.approx(float(gensim_random.n_similarity(a, b)), abs=1e-6)
    words = ["w0001", "w0002", "w0003", "w0004", "w0005"]
    assert KV.doesnt_match(words) == gensim_random.doesnt_match(words)


@hypothesis_settings
@given(a=word_ids, b=word_ids)
def test_cosine_bounds_symmetry_and_self_similarity(a: int, b: int) -> None:
    ab, ba = KV.similarity(WORDS[a], WORDS[b]), KV.similarity(WORDS[b], WORDS[a])
    assert -1.0 - 1e-6 <= ab <= 1.0 + 1e-6
    assert ab == pytest.approx(ba, abs=1e-6)
    assert KV.similarity(WORDS[a], WORDS[a]) == pytest.approx(1.0, abs=1e-6)


@hypothesis_settings
@given(word=word_ids, topn=st.integers(1, 50))
def test_neighbours_equal_numpy_brute_force_and_exclude_inputs(word: int, topn: int) -> None:
    result = KV.most_similar([WORDS[word]], topn=topn)
    unit = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)
    cosines = unit @ unit[word]
    cosines[word] = -np.inf
    expected = np.argsort(-cosines, kind="stable")[:topn]
    assert [w for w, _ in result] == [WORDS[i] for i in expected]
    assert WORDS[word] not in {w for w, _ in result}
    assert len(result) == topn


def test_standardisation_and_errors() -> None:
    kv = KeyedVectors(["king", "queen", "the"], np.eye(3, dtype=np.float32), standardize="lower")
    assert kv.index("KING") == 0 and "Queen" in kv
    with pytest.raises(UnknownWord) as err:
        kv.index("kingg")
    assert err.value.suggestions == ["king"]
    with pytest.raises(EmptyQuery):
        kv.most_similar(positive=[], negative=[])
    with pytest.raises(EmptyQuery):
        kv.most_similar_cosmul(positive=[], negative=["king"])  # gensim, too, needs a positive term here
    with pytest.raises(InvalidVector):
        kv.most_similar(positive=["king"], negative=["king"])
    with pytest.raises(InvalidVector):
        kv.most_similar(positive=[np.array([np.nan, 0, 0], dtype=np.float32)])
