"""firth_core.text: standardise -> split -> look up, the one text pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firth_core.keyed_vectors import KeyedVectors
from firth_core.text import UNKNOWN_ROW, TextPipeline
from firth_trainer.corpus import iter_sentences


def _kv(words: list[str], standardize: str) -> KeyedVectors:
    vectors = np.arange(len(words) * 2, dtype=np.float32).reshape(len(words), 2) + 1
    return KeyedVectors(words, vectors, standardize=standardize)


def test_tokens_rows_and_oov_in_order() -> None:
    pipeline = TextPipeline.for_model(_kv(["the", "cat", "sat"], "lower"))
    out = pipeline.tokenize("The CAT sat on the  mat\tThe end")
    assert out.tokens == ["the", "cat", "sat", "on", "the", "mat", "the", "end"]
    assert out.rows.tolist() == [0, 1, 2, UNKNOWN_ROW, 0, UNKNOWN_ROW, 0, UNKNOWN_ROW]
    assert out.oov == ["on", "mat", "end"]  # each unknown token once, first appearance first
    assert out.known_rows.tolist() == [0, 1, 2, 0, 0]  # repeats count
    assert out.known_tokens == ["the", "cat", "sat", "the", "the"]
    assert not out.is_empty


@pytest.mark.parametrize(
    ("standardize", "text", "tokens"),
    [
        ("none", "Cat, cat.", ["Cat,", "cat."]),
        ("lower", "Cat, cat.", ["cat,", "cat."]),
        ("lower_and_strip_punctuation", "Cat, cat.", ["cat", "cat"]),
    ],
)
def test_the_models_own_standardiser_applies(standardize: str, text: str, tokens: list[str]) -> None:
    pipeline = TextPipeline.for_model(_kv(["cat"], standardize))
    assert pipeline.tokenize(text).tokens == tokens


def test_splits_as_the_trainer_reads_a_corpus_line(tmp_path: Path) -> None:
    line = "Hello,  World!\u00a0Tab\there — Dash's café"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(line + "\n", encoding="utf-8")
    for standardize in ("none", "lower", "lower_and_strip_punctuation"):
        (trained,) = iter_sentences(corpus, standardize)
        pipeline = TextPipeline.for_model(_kv(["x"], standardize))
        assert pipeline.tokenize(line).tokens == trained


@pytest.mark.parametrize("text", ["", "   \n\t", "unknown words only", "!!! ..."])
def test_a_text_with_no_known_token_is_empty(text: str) -> None:
    pipeline = TextPipeline.for_model(_kv(["cat"], "lower_and_strip_punctuation"))
    out = pipeline.tokenize(text)
    assert out.is_empty
    assert out.known_rows.size == 0
    assert out.rows.dtype == np.int64


def test_tokenize_many_keeps_the_order_of_the_texts() -> None:
    pipeline = TextPipeline.for_model(_kv(["a", "b"], "none"))
    outs = pipeline.tokenize_many(["b", "a b", "c"])
    assert [o.rows.tolist() for o in outs] == [[1], [0, 1], [UNKNOWN_ROW]]
