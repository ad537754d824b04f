"""Writing a fastText .bin: gensim's load_facebook_model (and Facebook's fastText, when the wheel
is installed) reads it back with the same vectors, for imported, composed and plain models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.models.fasttext import FastText, load_facebook_model

from firth_core.artifact import NGRAMS_FILE, OUTPUT_FILE, load_artifact, write_artifact
from firth_core.errors import ArtifactError
from firth_core.exporters import export_fasttext_bin
from firth_core.importers import import_fasttext_bin
from firth_core.subwords import SubwordSpec, compose_word_vectors, oov_vector, vocabulary_buckets
from tests.fasttext_files import layout_of, make_bin

OOV = ["zebra", "naïveté", "東京都", "Parisian", "w1000"]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FastText, Path]:
    """A gensim-made .bin, imported, then exported again: (original, its model, the export)."""
    root = tmp_path_factory.mktemp("round")
    original = root / "original.bin"
    model = make_bin(original, sg=0)
    imported = import_fasttext_bin(original, root / "model", progress=False)
    return original, model, export_fasttext_bin(imported, root / "exported.bin")


def test_gensim_reads_the_export_with_the_same_vectors(round_trip: tuple[Path, FastText, Path]) -> None:
    original, model, exported = round_trip
    before, after = load_facebook_model(str(original)), load_facebook_model(str(exported))
    assert after.wv.index_to_key == before.wv.index_to_key
    for word in [*before.wv.index_to_key, *OOV]:  # </s> too: its own row is its full vector
        np.testing.assert_allclose(after.wv[word], before.wv[word], atol=1e-5, rtol=0)
    # the own rows are recovered from the full vectors: float32 rounding, amplified by the n-gram count
    np.testing.assert_allclose(after.wv.vectors_vocab, model.wv.vectors_vocab, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(after.wv.vectors_ngrams, model.wv.vectors_ngrams)
    np.testing.assert_array_equal(after.syn1neg, model.syn1neg)
    assert (after.sg, after.window, after.epochs, after.negative, after.sample) == (0, 5, 2, 5, model.sample)
    assert [after.wv.get_vecattr(w, "count") for w in after.wv.index_to_key] == [
        model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key
    ]


def test_the_export_repeats_the_originals_header_and_dictionary(
    round_trip: tuple[Path, FastText, Path],
) -> None:
    original, model, exported = round_trip
    lay = layout_of(model)
    assert exported.stat().st_size == original.stat().st_size == lay.end
    assert exported.read_bytes()[: lay.input_rows] == original.read_bytes()[: lay.input_rows]


def test_facebooks_fasttext_reads_the_export(round_trip: tuple[Path, FastText, Path]) -> None:
    fasttext = pytest.importorskip("fasttext")
    original, model, exported = round_trip
    before, after = fasttext.load_model(str(original)), fasttext.load_model(str(exported))
    for word in [*model.wv.index_to_key, *OOV]:
        np.testing.assert_allclose(
            after.get_word_vector(word), before.get_word_vector(word), atol=1e-5, rtol=0
        )


def _composed_model(
    path: Path, *, counts: bool, output: np.ndarray | None = None
) -> tuple[Path, SubwordSpec]:
    """A subword model as a trainer writes one: full vectors composed from random rows."""
    rng = np.random.default_rng(3)
    words = ["river", "rivers", "riverbank", "Øresund", "ünïcode", "a", "</s>"]
    spec = SubwordSpec(2, 4, 64)
    own = rng.standard_normal((len(words), 8)).astype(np.float32)
    ngrams = rng.standard_normal((spec.bucket, 8)).astype(np.float32)
    offsets, rows = vocabulary_buckets(words, spec)
    extras = {NGRAMS_FILE: ngrams} | ({OUTPUT_FILE: output} if output is not None else {})
    meta = {
        "subwords": spec.to_meta(),
        "algorithm": {
            "name": "fasttext",
            "model": "cbow",
            "window": 7,
            "epochs": 3,
            "negative": 9,
            "sample": 0.01,
        },
    }
    write_artifact(
        path,
        words,
        compose_word_vectors(own, ngrams, offsets, rows),
        counts=[9, 8, 7, 6, 5, 4, 3] if counts else None,
        meta=meta,
        extras=extras,
    )
    return path, spec


def test_a_trained_subword_model_without_counts_or_output(tmp_path: Path) -> None:
    model_dir, spec = _composed_model(tmp_path / "m", counts=False)
    art = load_artifact(model_dir)
    out = export_fasttext_bin(model_dir, tmp_path / "m.bin")
    loaded = load_facebook_model(str(out))
    assert (loaded.sg, loaded.window, loaded.epochs, loaded.negative, loaded.sample) == (0, 7, 3, 9, 0.01)
    assert (loaded.wv.min_n, loaded.wv.max_n, loaded.wv.bucket) == (2, 4, 64)
    assert [loaded.wv.get_vecattr(w, "count") for w in art.words] == [1] * len(art.words)
    for index, word in enumerate(art.words):
        if word != "</s>":  # composed by the trainer with n-grams: fastText would give it none
            np.testing.assert_allclose(loaded.wv[word], art.vectors[index], atol=1e-5, rtol=0)
    for word in ["riverside", "Öre", "zz"]:
        np.testing.assert_allclose(loaded.wv[word], oov_vector(art.ngrams, word, spec), atol=1e-5, rtol=0)  # type: ignore[arg-type]
    assert not loaded.syn1neg.any()  # no output.npy: zeros


def test_output_matrix_of_another_shape_is_written_as_zeros(tmp_path: Path) -> None:
    model_dir, _ = _composed_model(tmp_path / "m", counts=True, output=np.ones((3, 8), np.float32))
    loaded = load_facebook_model(str(export_fasttext_bin(model_dir, tmp_path / "m.bin")))
    assert loaded.syn1neg.shape == (7, 8) and not loaded.syn1neg.any()
    assert loaded.wv.get_vecattr("river", "count") == 9


def test_a_plain_model_is_written_with_bucket_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    words = ["the", "of", "Paris", "café"]
    vectors = rng.standard_normal((4, 6)).astype(np.float32)
    model_dir = write_artifact(tmp_path / "plain", words, vectors, counts=[4, 3, 2, 1])
    out = export_fasttext_bin(model_dir, tmp_path / "plain.bin")
    loaded = load_facebook_model(str(out))
    assert (loaded.wv.bucket, loaded.wv.max_n) == (0, 0)
    for index, word in enumerate(words):
        np.testing.assert_array_equal(loaded.wv[word], vectors[index])
    with pytest.raises(KeyError):
        loaded.wv["Lyon"]  # no subwords: no vector for a word outside the vocabulary
    again = load_artifact(import_fasttext_bin(out, tmp_path / "again", progress=False))
    assert again.words == words and again.subwords is None
    np.testing.assert_array_equal(again.vectors, vectors)


def test_refusals_leave_the_destination_alone(tmp_path: Path) -> None:
    model_dir = write_artifact(tmp_path / "nul", ["ok", "bad\x00word"], np.ones((2, 3), np.float32))
    target = tmp_path / "out.bin"
    with pytest.raises(ArtifactError, match=r"word 2 .* holds a NUL byte; a fastText \.bin cannot hold it"):
        export_fasttext_bin(model_dir, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nul"]
    target.write_bytes(b"keep")
    good = write_artifact(tmp_path / "good", ["ok"], np.ones((1, 3), np.float32))
    with pytest.raises(ArtifactError, match="already exists"):
        export_fasttext_bin(good, target)
    assert target.read_bytes() == b"keep"
    export_fasttext_bin(good, target, overwrite=True)
    assert load_facebook_model(str(target)).wv["ok"].tolist() == [1.0, 1.0, 1.0]
