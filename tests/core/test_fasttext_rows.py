"""Full vectors from own rows and back, a block at a time on several threads, with fastText's
rule that `</s>` has no n-grams."""

from __future__ import annotations

import numpy as np
import pytest

from firth_core import fasttext_rows
from firth_core.fasttext_rows import compose_in_place, fasttext_buckets, own_row_blocks, own_rows
from firth_core.subwords import SubwordSpec, compose_word_vectors, vocabulary_buckets

WORDS = ["</s>", "river", "rivers", "naïve", "東京", "a", "</s>x", "riverbank", "b", "cc", "ddd"]
SPEC = SubwordSpec(2, 5, 97)


def test_end_of_line_token_alone_has_no_ngrams() -> None:
    offsets, rows = fasttext_buckets(WORDS, SPEC)
    plain_offsets, plain_rows = vocabulary_buckets(WORDS, SPEC)
    assert offsets[1] - offsets[0] == 0 and plain_offsets[1] > 0
    for i in range(1, len(WORDS)):  # every other word keeps gensim's n-grams, "</s>x" included
        assert (
            rows[offsets[i] : offsets[i + 1]].tolist()
            == plain_rows[plain_offsets[i] : plain_offsets[i + 1]].tolist()
        )


def test_blocks_on_threads_give_what_one_pass_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    own = rng.standard_normal((len(WORDS), 16)).astype(np.float32)
    ngrams = rng.standard_normal((SPEC.bucket, 16)).astype(np.float32)
    offsets, rows = fasttext_buckets(WORDS, SPEC)
    expected = compose_word_vectors(own, ngrams, offsets, rows)
    np.testing.assert_array_equal(expected[0], own[0])  # "</s>": its own row
    monkeypatch.setattr(fasttext_rows, "BLOCK_WORDS", 3)  # four blocks
    full = own.copy()
    compose_in_place(full, ngrams, WORDS, SPEC)
    np.testing.assert_array_equal(full, expected)
    recovered = np.concatenate(list(own_row_blocks(full, ngrams, WORDS, SPEC)))
    np.testing.assert_array_equal(recovered, own_rows(full, ngrams, WORDS, SPEC))
    np.testing.assert_allclose(recovered, own, atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        compose_word_vectors(recovered, ngrams, offsets, rows), full, atol=1e-6, rtol=0
    )
