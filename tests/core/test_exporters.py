"""The word2vec exporter, with gensim as the oracle reader and our importer as the way back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from firth_core.artifact import load_artifact, write_artifact
from firth_core.errors import ArtifactError
from firth_core.exporters import export_word2vec
from firth_core.importers import import_word2vec

WORDS = ["the", ",", "Paris", "café", "naïve", "東京", "x-ray", *(f"w{i}" for i in range(100))]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    vectors = np.random.default_rng(0).standard_normal((len(WORDS), 13)).astype(np.float32)
    vectors[0, 0] = np.float32(1e-30)  # tiny and huge magnitudes must survive the text format too
    vectors[1, 1] = np.float32(3.4e38)
    return write_artifact(tmp_path / "models" / "m", WORDS, vectors)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_gensim_reads_the_export_exactly(tmp_path: Path, model: Path, binary: bool) -> None:
    out = export_word2vec(model, tmp_path / "out" / "vectors", binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(out), binary=binary)
    source = load_artifact(model)
    assert list(kv.index_to_key) == source.words
    np.testing.assert_array_equal(kv.vectors, source.vectors)
    assert sorted(p.name for p in out.parent.iterdir()) == ["vectors"]  # no temp file left


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_export_then_import_is_identity(tmp_path: Path, model: Path, binary: bool) -> None:
    out = export_word2vec(model, tmp_path / "vectors.w2v", binary=binary)
    back = load_artifact(import_word2vec(out, tmp_path / "back", progress=False))
    source = load_artifact(model)
    assert back.words == source.words
    np.testing.assert_array_equal(back.vectors, source.vectors)
    assert back.meta["source"]["format"] == ("word2vec-binary" if binary else "word2vec-text")


def test_text_keeps_short_decimals_short(tmp_path: Path) -> None:
    decimals = [["0.418", "0.24968", "-0.41242"], ["1", "-0.5", "0.0001"]]
    vectors = np.array(decimals, dtype=np.float32)
    src = write_artifact(tmp_path / "m", ["the", ","], vectors)
    lines = export_word2vec(src, tmp_path / "v.txt").read_text("utf-8").splitlines()
    assert lines[0] == "2 3"
    assert [line.split(" ")[1:] for line in lines[1:]] == [[f"{float(x):g}" for x in row] for row in decimals]


def test_binary_layout_is_the_c_tools(tmp_path: Path) -> None:
    vectors = np.array([[1.5, -2.0], [0.25, 8.0]], dtype=np.float32)
    src = write_artifact(tmp_path / "m", ["a", "bé"], vectors)
    data = export_word2vec(src, tmp_path / "v.bin", binary=True).read_bytes()
    expected = b"2 2\n" + b"a " + vectors[0].astype("<f4").tobytes() + b"\n"
    expected += "bé ".encode() + vectors[1].astype("<f4").tobytes() + b"\n"
    assert data == expected


def test_existing_file_is_replaced_only_when_asked(tmp_path: Path, model: Path) -> None:
    out = tmp_path / "v.txt"
    out.write_text("old\n")
    with pytest.raises(ArtifactError, match="already exists"):
        export_word2vec(model, out)
    assert out.read_text() == "old\n"
    export_word2vec(model, out, overwrite=True)
    assert out.read_text("utf-8").splitlines()[0] == f"{len(WORDS)} 13"


def test_word_with_space_is_refused_and_nothing_written(tmp_path: Path) -> None:
    vectors = np.ones((2, 3), dtype=np.float32)
    src = write_artifact(tmp_path / "m", ["a", ". . ."], vectors)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ArtifactError, match=r"word 2 \('\. \. \.'\) has a space"):
        export_word2vec(src, out_dir / "v.txt")
    assert list(out_dir.iterdir()) == []


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a model directory"):
        export_word2vec(tmp_path / "missing", tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()


def test_output_path_that_is_a_directory(tmp_path: Path, model: Path) -> None:
    with pytest.raises(ArtifactError, match="is a directory"):
        export_word2vec(model, tmp_path)
