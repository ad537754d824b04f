"""The symmetric-delete spelling index against a brute-force scan of the same vocabulary."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from firth_core.artifact import load_artifact
from firth_core.keyed_vectors import SUGGESTION_WORDS, KeyedVectors
from firth_core.spelling import SpellingIndex, max_distance_for


def brute_force(words: list[str], word: str, n: int) -> list[str]:
    """Every word within the allowed distance, nearest then most frequent (lowest row) first."""
    limit = max_distance_for(word)
    scored = [(OSA.distance(word, w), row) for row, w in enumerate(words)]
    return [words[row] for d, row in sorted(s for s in scored if 0 < s[0] <= limit)][:n]


# A small alphabet makes close spellings common, so the index's candidates are really exercised;
# words run past the 7-character prefix the deletes are taken from.
letters = st.text(alphabet="abcde", min_size=1, max_size=11)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vocabulary=st.lists(letters, min_size=1, max_size=300, unique=True), query=letters)
def test_finds_exactly_what_a_full_scan_finds(vocabulary: list[str], query: str) -> None:
    index = SpellingIndex(vocabulary)
    assert index.suggest(query, n=1000) == brute_force(vocabulary, query, 1000)


@settings(max_examples=100, deadline=None)
@given(
    vocabulary=st.lists(letters, min_size=5, max_size=200, unique=True),
    edits=st.lists(
        st.tuples(st.sampled_from("ids"), st.integers(0, 20), st.sampled_from("abcdef")), max_size=2
    ),
    pick=st.integers(0, 199),
)
def test_a_word_with_up_to_two_edits_is_found(
    vocabulary: list[str], edits: list[tuple[str, int, str]], pick: int
) -> None:
    """Misspell a vocabulary word by insertions, deletions and substitutions (two at most, one for
    short words): the word itself is among the suggestions, as the scan says it should be."""
    target = vocabulary[pick % len(vocabulary)]
    typo = target
    for kind, at, ch in edits:
        at %= len(typo) + 1
        typo = (
            typo[:at] + ch + typo[at:]
            if kind == "i"
            else typo[:at] + typo[at + 1 :]
            if kind == "d"
            else typo[:at] + ch + typo[at + 1 :]
        )
    if not typo or typo in vocabulary or not 0 < OSA.distance(typo, target) <= max_distance_for(typo):
        return
    assert target in SpellingIndex(vocabulary).suggest(typo, n=len(vocabulary))


def test_nearest_first_then_most_frequent() -> None:
    words = ["the", "kings", "wing", "king", "kingdom"]
    index = SpellingIndex(words)
    # kings and king: 1 edit, in row (frequency) order; wing: 2 edits; kingdom: 3, too far
    assert index.suggest("kingg") == ["kings", "king", "wing"]
    assert index.suggest("kingg", n=1) == ["kings"]
    assert index.suggest("king") == ["kings", "wing"]  # a known word is not its own suggestion
    assert index.suggest("qwzx") == []
    assert index.suggest("") == []


def test_an_empty_vocabulary_suggests_nothing() -> None:
    assert SpellingIndex([]).suggest("king") == []


def test_short_words_get_one_edit_only() -> None:
    index = SpellingIndex(["do", "go", "dog", "doge", "dig"])
    assert index.suggest("dgo") == ["do", "go", "dog"]  # 'dig' and 'doge' are two edits away


def test_any_unicode_text_is_safe() -> None:
    index = SpellingIndex(["café", "naïve", "a\x00b", "\ud800x", "日本語", "x" * 300])
    assert index.suggest("cafe") == ["café"]
    assert index.suggest("a\x00") == ["a\x00b"]
    assert index.suggest("\ud800y") == ["\ud800x"]
    assert index.suggest("日本") == ["日本語"]
    assert index.suggest("x" * 299) == ["x" * 300]
    assert index.suggest("\x00\x00\x00") == []


def test_keyed_vectors_suggest_applies_the_standardisation() -> None:
    kv = KeyedVectors(["king", "queen", "the"], np.eye(3, dtype=np.float32), standardize="lower")
    assert kv.suggest("KINGG") == ["king"]
    assert kv.suggest("Quen") == ["queen"]


@pytest.fixture(scope="module")
def glove(default_model_dir: Path) -> KeyedVectors:
    return KeyedVectors.from_artifact(load_artifact(default_model_dir, verify_checksums=False))


TYPOS = {"quen": "queen", "kingg": "king", "womann": "woman", "recieve": "receive", "dgo": "dog"}


def test_real_misspellings_suggest_the_word_first_and_fast(glove: KeyedVectors) -> None:
    index = glove.spelling
    assert len(index.words) == SUGGESTION_WORDS
    for typo, word in TYPOS.items():
        suggestions = glove.suggest(typo)
        assert word in suggestions, (typo, suggestions)
        if typo != "dgo":  # 'do' and 'go' are one edit away too, and more frequent
            assert suggestions[0] == word, (typo, suggestions)
    assert glove.suggest("accomodation")[:2] == ["accommodation", "accommodations"]
    # The index answers in well under a millisecond; 5 ms keeps a loaded CI machine from failing it.
    lookups = [*TYPOS, "definately", "supercalifragilistic", "a", "xq", "élèvee"] * 20
    started = time.perf_counter()
    for typo in lookups:
        index.suggest(typo)
    assert (time.perf_counter() - started) / len(lookups) < 5e-3
