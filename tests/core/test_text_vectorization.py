"""Keras TextVectorization semantics, pinned with the examples of Keras' own documentation
(keras/src/layers/preprocessing/text_vectorization.py and string_lookup.py docstrings), run
through firth's text pipeline and vocabulary rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firth_core.text import TextPipeline
from firth_core.text_vectorization import (
    Layer,
    VectorizationError,
    encode_bag,
    encode_int,
    idf_from_counts,
    idf_weights,
    vocabulary,
)

# TextVectorization docstring: adapt(["foo bar", "bar baz", "baz bada boom"]) sorts by count, ties
# by token high to low: baz, bar (2 each), foo, boom, bada (1 each).
ADAPTED = ["baz", "bar", "foo", "boom", "bada"]


def rows_of(
    words: list[str], texts: list[str], standardize: str = "lower_and_strip_punctuation"
) -> list[np.ndarray]:
    pipeline = TextPipeline(standardize, {w: i for i, w in enumerate(words)})
    return [t.rows for t in pipeline.tokenize_many(texts)]


def test_int_mode_docstring_example() -> None:
    # >>> vectorize_layer([["foo qux bar"], ["qux baz"]]) with output_sequence_length=4
    # array([[4, 1, 3, 0], [1, 2, 0, 0]])
    layer = Layer(len(ADAPTED), "int", max_tokens=5000)
    ids = encode_int(layer, rows_of(ADAPTED, ["foo qux bar", "qux baz"]), output_sequence_length=4)
    assert ids == [[4, 1, 3, 0], [1, 2, 0, 0]]


def test_get_vocabulary_docstring_example() -> None:
    # vocabulary=["earth", "wind", "and", "fire"] -> ['', '[UNK]', 'earth', 'wind', 'and', 'fire']
    words = ["earth", "wind", "and", "fire"]
    assert vocabulary(words, Layer(len(words), "int")) == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert vocabulary(words, Layer(len(words), "multi_hot")) == ["[UNK]", "earth", "wind", "and", "fire"]


def test_max_tokens_counts_the_special_tokens() -> None:
    # "the effective number of tokens is (max_tokens - 1 - (1 if output_mode == 'int' else 0))"
    assert Layer(5, "int", max_tokens=4).words == 2
    assert Layer(5, "count", max_tokens=4).words == 3
    layer = Layer(len(ADAPTED), "int", max_tokens=4)  # keeps baz, bar: foo becomes unknown
    assert encode_int(layer, rows_of(ADAPTED, ["foo qux bar"])) == [[1, 1, 3]]
    assert vocabulary(ADAPTED, layer) == ["", "[UNK]", "baz", "bar"]


def test_sequence_length_truncates_at_the_end_and_pads_with_zero() -> None:
    layer = Layer(len(ADAPTED), "int")
    rows = rows_of(ADAPTED, ["baz bar foo boom bada", "bar"])
    assert encode_int(layer, rows, output_sequence_length=3) == [[2, 3, 4], [3, 0, 0]]
    assert encode_int(layer, rows) == [[2, 3, 4, 5, 6], [3, 0, 0, 0, 0]]  # dense: the longest text
    assert encode_int(layer, rows, ragged=True) == [[2, 3, 4, 5, 6], [3]]
    assert encode_int(layer, rows_of(ADAPTED, [""]), output_sequence_length=2) == [[0, 0]]


# StringLookup docstring (TextVectorization's lookup): vocab ["a", "b", "c", "d"],
# data [["a", "c", "d", "d"], ["d", "z", "b", "z"]].
LOOKUP_WORDS = ["a", "b", "c", "d"]
LOOKUP_ROWS = rows_of(LOOKUP_WORDS, ["a c d d", "d z b z"])


def test_multi_hot_docstring_example() -> None:
    out = encode_bag(Layer(4, "multi_hot"), LOOKUP_ROWS)
    np.testing.assert_array_equal(out, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    assert out.dtype == np.float32


def test_count_docstring_example() -> None:
    out = encode_bag(Layer(4, "count"), LOOKUP_ROWS)
    np.testing.assert_array_equal(out, [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])


def test_tf_idf_docstring_example() -> None:
    # idf_weights=[0.25, 0.75, 0.6, 0.4]; "[UNK]" gets their average, 0.5
    out = encode_bag(Layer(4, "tf_idf"), LOOKUP_ROWS, np.array([0.25, 0.75, 0.6, 0.4]))
    np.testing.assert_allclose(out, [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_pad_to_max_tokens_widens_with_zero_weights() -> None:
    layer = Layer(4, "tf_idf", max_tokens=8, pad_to_max_tokens=True)
    assert layer.depth == 8
    weights = idf_weights(layer, np.array([0.25, 0.75, 0.6, 0.4]))
    np.testing.assert_allclose(weights, [0.5, 0.25, 0.75, 0.6, 0.4, 0, 0, 0])
    out = encode_bag(Layer(4, "multi_hot", max_tokens=8, pad_to_max_tokens=True), LOOKUP_ROWS)
    assert out.shape == (2, 8)


def test_idf_from_counts_is_keras_formula_with_counts_as_document_frequencies() -> None:
    counts = np.array([50, 30, 20])
    got = idf_from_counts(counts, 3)
    assert got == pytest.approx([math.log(1 + 100 / 51), math.log(1 + 100 / 31), math.log(1 + 100 / 21)])
    zipf = idf_from_counts(None, 3)  # counts 3, 3/2, 1 by rank: the rarest word seen once
    total = 3 + 1.5 + 1
    assert zipf == pytest.approx(
        [math.log(1 + total / 4), math.log(1 + total / 2.5), math.log(1 + total / 2)]
    )
    assert zipf[0] < zipf[1] < zipf[2]  # rarer words weigh more


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vocab_size": 4, "mode": "int", "max_tokens": 1},
        {"vocab_size": 4, "mode": "count", "pad_to_max_tokens": True},
        {"vocab_size": 4, "mode": "int", "max_tokens": 9, "pad_to_max_tokens": True},
    ],
)
def test_options_keras_refuses_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(VectorizationError):
        Layer(**kwargs)  # type: ignore[arg-type]


def test_against_the_real_keras_layer_when_tensorflow_is_installed() -> None:
    """The same texts through keras.layers.TextVectorization(vocabulary=the model's words): run
    where TensorFlow is installed (it is not a dev dependency: see the README)."""
    tf = pytest.importorskip(
        "tensorflow",
        reason="tensorflow is not installed: tensorflow-cpu is not a dev dependency, as it is too heavy "
        "for CI (a 274 MB wheel, 320 MB with its dependencies, 1.6 GB installed, ~105 s to download "
        "and install on Python 3.11); `pip install tensorflow-cpu` to run this comparison",
    )
    words = ["the", "cat", "sat", "on", "mat", "dog", "a", "and"]
    texts = ["The cat sat on the mat", "a dog and a qwzx cat", "zzz", "the the the dog"]
    rows = rows_of(words, texts, "lower_and_strip_punctuation")
    counts = np.array([80, 40, 20, 30, 5, 35, 60, 50])
    for max_tokens in (None, 6):
        keras_int = tf.keras.layers.TextVectorization(
            max_tokens=max_tokens, vocabulary=words[: (max_tokens or 99) - 2], output_sequence_length=5
        )
        got = encode_int(Layer(len(words), "int", max_tokens), rows, output_sequence_length=5)
        assert got == keras_int(texts).numpy().tolist()
        for mode in ("multi_hot", "count"):
            keep = words[: (max_tokens or 99) - 1]
            keras_bag = tf.keras.layers.TextVectorization(
                max_tokens=max_tokens, vocabulary=keep, output_mode=mode
            )
            np.testing.assert_array_equal(
                encode_bag(Layer(len(words), mode, max_tokens), rows), keras_bag(texts).numpy()
            )
        layer = Layer(len(words), "tf_idf", max_tokens)
        idf = idf_from_counts(counts, len(words))
        keras_tfidf = tf.keras.layers.TextVectorization(
            max_tokens=max_tokens,
            vocabulary=words[: layer.words],
            idf_weights=idf[: layer.words],
            output_mode="tf_idf",
        )
        np.testing.assert_allclose(encode_bag(layer, rows, idf), keras_tfidf(texts).numpy(), rtol=1e-5)
