"""Small vector files in the GloVe and word2vec formats, written here by hand, and checks of the
model an importer made of them (shared by test_importers.py and test_compressed.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from firth_core.artifact import load_artifact

WORDS = ["the", ",", "of", "Paris", "café", "naïve", "x-ray", "2024"]


def matrix(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _text_line(word: str, row: np.ndarray) -> str:
    return word + " " + " ".join(str(v) for v in row)  # numpy's shortest round-tripping digits


def write_glove(path: Path, words: list[str], vectors: np.ndarray) -> Path:
    path.write_text("".join(_text_line(w, r) + "\n" for w, r in zip(words, vectors, strict=True)), "utf-8")
    return path


def write_w2v_text(path: Path, words: list[str], vectors: np.ndarray, *, trailing: str = "") -> Path:
    lines = [f"{len(words)} {vectors.shape[1]}\n"]
    lines += [_text_line(w, r) + trailing + "\n" for w, r in zip(words, vectors, strict=True)]
    path.write_text("".join(lines), "utf-8")
    return path


def write_w2v_binary(path: Path, words: list[str], vectors: np.ndarray, *, newline: bool = True) -> Path:
    data = f"{len(words)} {vectors.shape[1]}\n".encode()
    for word, row in zip(words, vectors, strict=True):
        data += word.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"")
    path.write_bytes(data)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_model(model_dir: Path, words: list[str], vectors: np.ndarray) -> None:
    model = load_artifact(model_dir)
    assert model.words == words
    np.testing.assert_array_equal(model.vectors, vectors)
    assert model.counts is None
