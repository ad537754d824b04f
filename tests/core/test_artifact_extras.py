"""Extra matrices in a model directory: a subword model's n-gram rows, an output layer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import NGRAMS_FILE, OUTPUT_FILE, load_artifact, write_artifact
from firth_core.errors import ArtifactError
from firth_core.subwords import SubwordSpec

WORDS = ["the", "king", "queen"]


def _vectors(rows: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


def test_extras_round_trip_memory_mapped_with_checksums(tmp_path: Path) -> None:
    spec = SubwordSpec(3, 5, 7)
    ngrams, output = _vectors(7, seed=1), _vectors(3, seed=2)
    write_artifact(
        tmp_path / "m",
        WORDS,
        _vectors(3),
        meta={"subwords": spec.to_meta()},
        extras={NGRAMS_FILE: ngrams, OUTPUT_FILE: output},
    )
    art = load_artifact(tmp_path / "m")
    assert art.subwords == spec
    assert isinstance(art.ngrams, np.memmap) and np.array_equal(art.ngrams, ngrams)
    assert art.output is not None and np.array_equal(art.output, output)
    assert set(art.meta["files"]) == {"vectors.npy", "vocab.txt", NGRAMS_FILE, OUTPUT_FILE}


def test_plain_model_has_no_extras(tmp_path: Path) -> None:
    write_artifact(tmp_path / "m", WORDS, _vectors(3))
    art = load_artifact(tmp_path / "m")
    assert art.ngrams is None and art.output is None and art.subwords is None


def test_a_changed_extra_fails_its_checksum(tmp_path: Path) -> None:
    write_artifact(tmp_path / "m", WORDS, _vectors(3), extras={OUTPUT_FILE: _vectors(3)})
    path = tmp_path / "m" / OUTPUT_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"output\.npy: sha256 does not match"):
        load_artifact(tmp_path / "m")


@pytest.mark.parametrize(
    ("extras", "fragment"),
    [
        ({"ngrams.txt": _vectors(2)}, "must be a .npy file"),
        ({NGRAMS_FILE: _vectors(2, dim=3)}, "expected a non-empty n x 4 matrix"),
        ({OUTPUT_FILE: np.full((2, 4), np.nan, np.float32)}, "NaN or Inf"),
        ({"../escape.npy": _vectors(2)}, "escape.npy"),
    ],
)
def test_writer_refuses_bad_extras_and_leaves_nothing(
    tmp_path: Path, extras: dict[str, np.ndarray], fragment: str
) -> None:
    with pytest.raises(ArtifactError, match=fragment):
        write_artifact(tmp_path / "m", WORDS, _vectors(3), extras=extras)
    assert list(tmp_path.iterdir()) == []


def test_subwords_without_matching_ngram_rows_is_refused(tmp_path: Path) -> None:
    write_artifact(
        tmp_path / "m",
        WORDS,
        _vectors(3),
        meta={"subwords": SubwordSpec(3, 5, 9).to_meta()},
        extras={NGRAMS_FILE: _vectors(7)},
    )
    with pytest.raises(ArtifactError, match=r"ngrams\.npy: 7 rows, meta.json's subwords say 9"):
        load_artifact(tmp_path / "m")


def test_unusable_subword_meta_is_one_error(tmp_path: Path) -> None:
    write_artifact(tmp_path / "m", WORDS, _vectors(3), extras={NGRAMS_FILE: _vectors(7)})
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["subwords"] = {"minn": 6, "maxn": 3, "bucket": 7, "hash": "fasttext-fnv1a32"}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="greater than --maxn"):
        load_artifact(tmp_path / "m")
