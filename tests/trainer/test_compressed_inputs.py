"""Compressed inputs through the `firth` command line: `firth import` and the corpus reader of `firth train`."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import load_artifact
from trainer.cli import main
from trainer.corpus import CorpusStats, iter_sentences

WORDS = ["the", "of", "Paris", "café", "x-ray"]


def _firth() -> Path:
    script = Path(sys.executable).parent / "firth"
    if not script.exists():
        pytest.skip("the firth console script is not installed next to this interpreter")
    return script


def _w2v_binary_gz(path: Path, vectors: np.ndarray) -> Path:
    body = b"".join(
        w.encode() + b" " + r.astype("<f4").tobytes() + b"\n" for w, r in zip(WORDS, vectors, strict=True)
    )
    path.write_bytes(gzip.compress(f"{len(WORDS)} {vectors.shape[1]}\n".encode() + body))
    return path


def test_console_script_imports_a_gzipped_word2vec_binary(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((len(WORDS), 300)).astype(np.float32)
    src = _w2v_binary_gz(tmp_path / "GoogleNews-vectors-negative300.bin.gz", vectors)
    out = tmp_path / "gnews"
    done = subprocess.run(
        [str(_firth()), "import", "word2vec", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"wrote {out}: 5 words x 300 dims")
    model = load_artifact(out)
    assert model.words == WORDS
    np.testing.assert_array_equal(model.vectors, vectors)
    assert model.meta["source"]["format"] == "word2vec-binary"
    assert model.meta["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()


def test_console_script_reports_a_truncated_gzip_in_one_line(tmp_path: Path) -> None:
    vectors = np.random.default_rng(1).standard_normal((len(WORDS), 300)).astype(np.float32)
    src = _w2v_binary_gz(tmp_path / "v.bin.gz", vectors)
    src.write_bytes(src.read_bytes()[:-100])
    done = subprocess.run(
        [str(_firth()), "import", "word2vec", str(src), "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"firth import: error: {src}: cannot be read, the gzip data is corrupt or truncated "
        "(Compressed file ended before the end-of-stream marker was reached)\n"
    )
    assert not (tmp_path / "m").exists()


def test_corpus_with_corrupt_deflate_data_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "c.txt.gz"
    corpus.write_bytes(gzip.compress(b"one two three\n" * 1000)[:10] + bytes(range(256)) * 16)
    assert main(["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"firth train: error: corpus {corpus}: cannot be read, the gzip data is corrupt or truncated (Error -3"
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_corpus_compression_is_told_by_its_first_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gzip.compress(b"one two\nthree four\n")
    misnamed = tmp_path / "corpus.txt"
    misnamed.write_bytes(data)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))  # `zcat` not needed
    for source in (misnamed, "-"):
        stats = CorpusStats()
        assert list(iter_sentences(source, "none", stats)) == [["one", "two"], ["three", "four"]]
        assert stats.files[0]["bytes"] == len(data)
        assert stats.files[0]["sha256"] == hashlib.sha256(data).hexdigest()
