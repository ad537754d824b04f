"""fastText's input for a classifier: label tokens, word hashes, and word n-gram buckets exactly as
Dictionary::addWordNgrams computes them (int32 hashes sign-extended into uint64 arithmetic)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firth_core.labelled_text import ngram_rows, ngram_rows_reference, split_labels, word_hashes
from firth_core.subwords import ft_hash


def test_split_labels_takes_every_label_token_out() -> None:
    assert split_labels("__label__a __label__b-c  the cat\tsat __label__d\n") == (
        ["a", "b-c", "d"],
        "the cat sat",
    )
    assert split_labels("no labels here") == ([], "no labels here")
    assert split_labels("__label__only") == (["only"], "")


@settings(deadline=None)  # the first call compiles the numba kernel
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_word_hashes_are_fasttexts_hash_as_int32(words: list[str]) -> None:
    expected = [ft_hash(w.encode()) for w in words]
    got = word_hashes(words).astype(np.int64) & 0xFFFFFFFF
    assert got.tolist() == expected
    assert word_hashes(words).dtype == np.int32


@settings(deadline=None)
@given(
    st.lists(st.integers(-(2**31), 2**31 - 1), min_size=0, max_size=12),
    st.integers(1, 5),
    st.integers(1, 3_000_000),
)
def test_ngram_rows_equal_add_word_ngrams(hashes: list[int], n: int, bucket: int) -> None:
    got = ngram_rows(np.array(hashes, dtype=np.int32), n, bucket, 17)
    assert got.tolist() == ngram_rows_reference(hashes, n, bucket, 17)
    assert len(got) == sum(min(len(hashes) - i, n) - 1 for i in range(len(hashes)))


def test_a_known_bigram_bucket() -> None:
    # Worked by hand from dictionary.cc: h = uint64(int32(hash("red"))) * 116049371 + uint64(int32(hash("fox"))).
    red, fox = (ft_hash(w) for w in (b"red", b"fox"))
    signed = [x - 2**32 if x >= 2**31 else x for x in (red, fox)]
    h = ((signed[0] % 2**64) * 116049371 + signed[1] % 2**64) % 2**64
    rows = ngram_rows(word_hashes(["red", "fox"]), 2, 2_000_000, 0)
    assert rows.tolist() == [h % 2_000_000]
