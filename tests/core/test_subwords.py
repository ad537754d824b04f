"""fastText's n-grams and hash, pinned against gensim's reimplementation of Facebook's code."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

from firth_core.subwords import (
    SubwordSpec,
    char_ngrams,
    compose_word_vectors,
    ft_hash,
    ngram_buckets,
    oov_vector,
    vocabulary_buckets,
)

WORDS = ["king", "a", "", "naïve", "straße", "東京タワー", "emoji🙂x", "x" * 40, "<tag>", "ab"]


@pytest.mark.parametrize("data", [b"", b"a", b"<ki", "é".encode(), "東".encode(), bytes(range(256))])
def test_hash_matches_gensim_including_sign_extended_bytes(data: bytes) -> None:
    assert ft_hash(data) == ft_hash_bytes(data)


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize(("minn", "maxn"), [(3, 6), (1, 3), (2, 2), (5, 5)])
def test_ngrams_match_gensim(word: str, minn: int, maxn: int) -> None:
    assert char_ngrams(word, minn, maxn) == compute_ngrams_bytes(word, minn, maxn)


@pytest.mark.parametrize(("minn", "maxn", "bucket"), [(3, 6, 2_000_000), (1, 4, 97), (3, 3, 10)])
def test_bulk_kernel_agrees_with_reference_and_gensim(minn: int, maxn: int, bucket: int) -> None:
    spec = SubwordSpec(minn, maxn, bucket)
    offsets, rows = vocabulary_buckets(WORDS, spec)
    assert offsets.shape == (len(WORDS) + 1,)
    for i, word in enumerate(WORDS):
        expected = ft_ngram_hashes(word, minn, maxn, bucket)
        assert rows[offsets[i] : offsets[i + 1]].tolist() == expected
        assert ngram_buckets(word, spec).tolist() == expected


def test_disabled_spec_has_no_ngrams() -> None:
    spec = SubwordSpec(3, 0, 2_000_000)
    assert not spec.enabled
    offsets, rows = vocabulary_buckets(["king", "queen"], spec)
    assert offsets.tolist() == [0, 0, 0] and rows.size == 0
    assert oov_vector(np.ones((4, 2), np.float32), "king", spec) is None


def test_vectors_match_gensim_fasttext_keyed_vectors() -> None:
    from gensim.models.fasttext import FastTextKeyedVectors

    spec = SubwordSpec(2, 4, 50)
    rng = np.random.default_rng(0)
    words = ["king", "queen", "naïve"]
    kv = FastTextKeyedVectors(8, spec.minn, spec.maxn, spec.bucket)
    kv.add_vectors(words, np.zeros((3, 8), np.float32))
    kv.vectors_vocab = rng.standard_normal((3, 8)).astype(np.float32)
    kv.vectors_ngrams = rng.standard_normal((spec.bucket, 8)).astype(np.float32)
    kv.recalc_char_ngram_buckets()
    kv.adjust_vectors()
    offsets, rows = vocabulary_buckets(words, spec)
    full = compose_word_vectors(kv.vectors_vocab, kv.vectors_ngrams, offsets, rows)
    np.testing.assert_allclose(full, kv.vectors, rtol=0, atol=1e-6)
    for oov in ["kingdom", "ü", "zz"]:
        vector = oov_vector(kv.vectors_ngrams, oov, spec)
        assert vector is not None
        np.testing.assert_allclose(vector, kv.get_vector(oov), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (SubwordSpec(4, 3, 10), "greater than --maxn"),
        (SubwordSpec(3, 6, 0), "--bucket must be > 0"),
        (SubwordSpec(0, 6, 10), "--minn must be >= 1"),
    ],
)
def test_unusable_specs_are_named(spec: SubwordSpec, fragment: str) -> None:
    problem = spec.problem()
    assert problem is not None and fragment in problem


def test_meta_round_trip_and_foreign_hash_refused() -> None:
    spec = SubwordSpec(2, 5, 1000)
    assert SubwordSpec.from_meta(spec.to_meta()) == spec
    with pytest.raises(ValueError, match="unsupported subword hash"):
        SubwordSpec.from_meta({**spec.to_meta(), "hash": "murmur"})
