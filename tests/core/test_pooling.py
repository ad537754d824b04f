"""firth_core.pooling: mean equals gensim's get_mean_vector; SIF as Arora et al. (2017) define it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKeyedVectors

from firth_core import pooling
from firth_core.artifact import load_artifact
from firth_core.errors import EmptyText
from firth_core.keyed_vectors import KeyedVectors
from firth_core.text import TextPipeline

OPTIONS = [(True, False), (True, True), (False, False), (False, True)]  # (pre_normalize, post_normalize)


def _small(seed: int = 3, n: int = 200, dim: int = 8, counts: bool = True) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n)]
    vectors = (rng.standard_normal((n, dim)) * rng.uniform(0.2, 5.0, (n, 1))).astype(np.float32)
    word_counts = np.arange(n, 0, -1) * 7 if counts else None
    return KeyedVectors(words, vectors, word_counts, standardize="lower")


def _gensim(kv: KeyedVectors) -> GensimKeyedVectors:
    g = GensimKeyedVectors(vector_size=kv.dim)
    g.add_vectors(list(kv.words), np.asarray(kv.vectors))
    return g


@pytest.mark.parametrize(("pre", "post"), OPTIONS)
def test_mean_equals_gensim_get_mean_vector_on_a_small_model(pre: bool, post: bool) -> None:
    kv = _small()
    g = _gensim(kv)
    rng = np.random.default_rng(11)
    texts = [
        " ".join(f"W{i}" if i < 200 else f"unknown{i}" for i in rng.integers(0, 230, rng.integers(1, 40)))
        for _ in range(300)
    ]
    texts.append("w5 w5 w5 w7")  # a repeated word counts each time, as in gensim's loop
    tokenized = TextPipeline.for_model(kv).tokenize_many(texts)
    ours = pooling.embed_texts(kv, tokenized, "mean", pre, post, empty="null")
    for text, vector in zip(tokenized, ours, strict=True):
        if text.is_empty:
            assert vector is None
            continue
        expected = g.get_mean_vector(text.tokens, pre_normalize=pre, post_normalize=post)
        assert vector is not None and vector.dtype == np.float32
        np.testing.assert_allclose(vector, expected, atol=1e-6, rtol=0)


@pytest.mark.slow
def test_mean_equals_gensim_on_the_default_model(default_model_dir: Path) -> None:
    artifact = load_artifact(default_model_dir)
    kv = KeyedVectors.from_artifact(artifact)
    g = _gensim(kv)
    texts = [
        "The quick brown fox jumps over the lazy dog",
        "Paris is the capital of France , and Rome of Italy .",
        "king queen king prince",
        "an unknownwordqq among known words",
    ]
    tokenized = TextPipeline.for_model(kv).tokenize_many(texts)
    for pre, post in OPTIONS:
        ours = pooling.embed_texts(kv, tokenized, "mean", pre, post)
        for text, vector in zip(tokenized, ours, strict=True):
            expected = g.get_mean_vector(text.tokens, pre_normalize=pre, post_normalize=post)
            np.testing.assert_allclose(vector, expected, atol=1e-6, rtol=0)  # type: ignore[arg-type]


def test_probabilities_come_from_counts_or_zipf() -> None:
    with_counts = _small(counts=True)
    assert pooling.probability_source(with_counts) == "counts"
    counts = np.arange(200, 0, -1) * 7
    np.testing.assert_allclose(pooling.word_probabilities(with_counts), counts / counts.sum())
    zipf = _small(counts=False)
    assert pooling.probability_source(zipf) == "zipf"
    p = pooling.word_probabilities(zipf)
    harmonic = sum(1.0 / r for r in range(1, 201))
    assert p[0] == pytest.approx(1.0 / harmonic) and p[9] == pytest.approx(1.0 / (10 * harmonic))
    assert p.sum() == pytest.approx(1.0)


def test_sif_is_the_weighted_average_with_the_common_component_removed() -> None:
    kv = _small()
    a = 1e-3
    p = pooling.word_probabilities(kv)
    u = pooling.common_component(kv, a, pre_normalize=True)
    assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-6)
    text = TextPipeline.for_model(kv).tokenize("w0 w3 w3 w150 nope")
    (vector,) = pooling.embed_texts(kv, [text], "sif", pre_normalize=True, a=a)
    rows = [0, 3, 3, 150]
    weighted = sum(a / (a + p[r]) * kv.unit[r] for r in rows) / len(rows)
    expected = weighted - (weighted @ u) * u
    np.testing.assert_allclose(vector, expected, atol=1e-6)  # type: ignore[arg-type]
    assert abs(float(vector @ u)) < 1e-6  # type: ignore[operator]
    (unit,) = pooling.embed_texts(kv, [text], "sif", post_normalize=True, a=a)
    np.testing.assert_allclose(unit, expected / np.linalg.norm(expected), atol=1e-6)  # type: ignore[arg-type]


def test_the_common_component_is_the_first_principal_component_of_the_fixed_reference() -> None:
    kv = _small(seed=5)
    u = pooling.common_component(kv, 1e-3, pre_normalize=False)
    rng = np.random.default_rng(pooling.REFERENCE_SEED)
    draws = rng.choice(
        len(kv), size=(pooling.REFERENCE_TEXTS, pooling.REFERENCE_LENGTH), p=pooling.word_probabilities(kv)
    )
    weights = 1e-3 / (1e-3 + pooling.word_probabilities(kv))
    reference = (weights[draws][:, :, None] * np.asarray(kv.vectors)[draws]).mean(axis=1)
    _, _, vt = np.linalg.svd(reference, full_matrices=False)  # the paper's uncentred SVD
    assert abs(float(u @ vt[0])) == pytest.approx(1.0, abs=1e-5)
    # a fresh model object with the same data gets the same component (no state between models)
    again = pooling.common_component(_small(seed=5), 1e-3, pre_normalize=False)
    np.testing.assert_array_equal(u, again)


@pytest.mark.parametrize("kind", ["mean", "sif"])
def test_a_texts_vector_never_depends_on_the_other_texts(kind: pooling.Pooling) -> None:
    kv = _small()
    pipeline = TextPipeline.for_model(kv)
    target = pipeline.tokenize("w1 w2 w40 w199")
    rng = np.random.default_rng(0)
    others = [pipeline.tokenize(" ".join(f"w{i}" for i in rng.integers(0, 200, 30))) for _ in range(50)]
    for post in (False, True):
        (alone,) = pooling.embed_texts(kv, [target], kind, post_normalize=post)
        batch = pooling.embed_texts(kv, [*others[:20], target, *others[20:]], kind, post_normalize=post)
        np.testing.assert_array_equal(batch[20], alone)  # type: ignore[arg-type]


def test_an_empty_text_raises_with_its_index_or_gets_none() -> None:
    kv = _small()
    texts = TextPipeline.for_model(kv).tokenize_many(["w1", "", "nothing known", "w2"])
    with pytest.raises(EmptyText) as caught:
        pooling.embed_texts(kv, texts)
    assert caught.value.index == 1 and "texts[1]" in str(caught.value)
    vectors = pooling.embed_texts(kv, texts, empty="null")
    assert vectors[1] is None and vectors[2] is None
    assert vectors[0] is not None and vectors[3] is not None
