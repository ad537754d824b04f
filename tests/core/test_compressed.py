"""Compressed inputs, in one place: firth_core.compressed (compression told by the first bytes, content
decompressed, hashes of the stored bytes), the importers on compressed files, and compressed inputs
through the `firth` command line (`firth import` and the corpus reader of `firth train`)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tqdm import tqdm

from firth_core import importers
from firth_core.artifact import load_artifact
from firth_core.compressed import detect_compression, open_stored
from firth_core.errors import InputFormatError
from firth_core.importers import import_fasttext_vec, import_glove_text, import_word2vec
from firth_trainer.cli import main
from firth_trainer.corpus import CorpusStats, iter_sentences
from tests.core.vector_files import (
    WORDS,
    assert_model,
    matrix,
    sha256_of,
    write_glove,
    write_w2v_binary,
    write_w2v_text,
)

TEXT = b"".join(b"line %d of some text\n" % i for i in range(100_000))  # 2.3 MB, over the 1 MiB buffers
COMPRESS: dict[str | None, Callable[[bytes], bytes]] = {
    None: lambda data: data,
    "gzip": lambda data: gzip.compress(data, compresslevel=1),
    "bzip2": lambda data: bz2.compress(data, compresslevel=1),
    "xz": lambda data: lzma.compress(data, preset=1),
}


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (gzip.compress(b"x"), "vectors.txt", "gzip"),
        (bz2.compress(b"x"), "vectors", "bzip2"),
        (bz2.compress(b""), "vectors", "bzip2"),  # an empty stream has the end marker, not a block
        (lzma.compress(b"x"), "vectors.gz", "xz"),  # the bytes win over the suffix
        (b"BZh9 0.1 0.2\n", "vectors.txt", None),  # a word that starts like bzip2 is still text
        (b"the 0.1 0.2\n", "vectors.GZ", "gzip"),  # no signature: the suffix decides
        (b"the 0.1 0.2\n", "vectors.bz2", "bzip2"),
        (b"the 0.1 0.2\n", "corpus.xz", "xz"),
        (b"the 0.1 0.2\n", "vectors.txt", None),
        (b"", "", None),
    ],
)
def test_detect_compression(head: bytes, name: str, expected: str | None) -> None:
    assert detect_compression(head[:10], name) == expected


@pytest.mark.parametrize("compression", list(COMPRESS))
def test_reads_the_content_and_hashes_the_stored_bytes(compression: str | None) -> None:
    stored_bytes = COMPRESS[compression](TEXT)
    chunks: list[int] = []
    with open_stored(io.BytesIO(stored_bytes), "unnamed", "x", on_read=chunks.append) as stored:
        assert stored.compression == compression
        first = stored.content.readline()
        assert stored.content.peek(5000)[:20] == b"line 1 of some text\n"
        rest = stored.content.read(1_000_000)
        sha256 = stored.sha256()  # reads what the reader left unread
    assert first + rest == TEXT[: len(first) + len(rest)]
    assert sha256 == hashlib.sha256(stored_bytes).hexdigest()
    assert stored.hasher.size == sum(chunks) == len(stored_bytes)


def test_errors_inside_the_block_become_one_input_format_error() -> None:
    cut = gzip.compress(TEXT)[:5000]
    with (
        pytest.raises(InputFormatError) as info,
        open_stored(io.BytesIO(cut), "v.gz", "corpus v.gz") as stored,
    ):
        stored.content.read()
    assert str(info.value) == (
        "corpus v.gz: cannot be read, the gzip data is corrupt or truncated "
        "(Compressed file ended before the end-of-stream marker was reached)"
    )


def test_zip_and_zstd_are_refused_with_what_to_do(tmp_path: Path) -> None:
    """Stanford ships GloVe as .zip: say so instead of "line 1: not valid UTF-8"."""
    from firth_core.importers import import_glove_text

    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("glove.6B.50d.txt", "the 0.1 0.2\nof 0.3 0.4\n")
    zstd = tmp_path / "vectors.txt.zst"
    zstd.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 32)
    for path, expected in ((archive, "a zip archive"), (zstd, "zstd-compressed")):
        with pytest.raises(InputFormatError) as info:
            import_glove_text(path, tmp_path / f"m-{path.stem}", progress=False)
        assert str(info.value).startswith(f"{path}: {expected}")
        assert not (tmp_path / f"m-{path.stem}").exists()


# ---- compressed files: read as stored, hashed as stored ------------------------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda data: data,
    "gz": lambda data: gzip.compress(data, compresslevel=1),
    "bz2": lambda data: bz2.compress(data, compresslevel=1),
    "xz": lambda data: lzma.compress(data, preset=1),
}
WRITERS: dict[str, Callable[[Path, list[str], np.ndarray], Path]] = {
    "glove": write_glove,
    "w2v-text": write_w2v_text,
    "w2v-binary": write_w2v_binary,
    "fasttext": lambda path, words, vectors: write_w2v_text(path, words, vectors, trailing=" "),
}
FORMATS = {"glove": "glove-text", "w2v-text": "word2vec-text", "w2v-binary": "word2vec-binary"}


def _import(kind: str, src: Path, out: Path, **options: Any) -> Path:
    if kind == "glove":
        return import_glove_text(src, out, progress=False, **options)
    if kind == "fasttext":
        return import_fasttext_vec(src, out, progress=False, **options)
    return import_word2vec(src, out, progress=False, **options)  # binary or text told apart by peeking


def _compressed_copy(plain: Path, compression: str, name: str) -> Path:
    path = plain.with_name(name)
    path.write_bytes(COMPRESSORS[compression](plain.read_bytes()))
    return path


@pytest.fixture(scope="module")
def big() -> tuple[list[str], np.ndarray]:
    # Over 1 MiB even as binary, so reads cross the 1 MiB buffers of both the stored and the
    # decompressed streams.
    words = [*WORDS, *(f"w{i}" for i in range(3000))]
    return words, matrix(len(words), 96, seed=13)


@pytest.mark.parametrize("compression", list(COMPRESSORS))
@pytest.mark.parametrize("kind", list(WRITERS))
def test_compressed_files_import_like_plain_ones(
    tmp_path: Path, models: Path, big: tuple[list[str], np.ndarray], kind: str, compression: str
) -> None:
    words, vectors = big
    plain = WRITERS[kind](tmp_path / "vectors", words, vectors)
    src = _compressed_copy(plain, compression, f"vectors.{compression}")
    out = _import(kind, src, models / "m")
    assert_model(out, words, vectors)
    source = load_artifact(out).meta["source"]
    assert source["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()  # the bytes on disk
    assert source["format"] == FORMATS.get(kind, "fasttext-vec")
    if compression != "plain":
        assert source["sha256"] != sha256_of(plain)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_compressed_with_limit_hashes_the_whole_stored_file(tmp_path: Path, models: Path, kind: str) -> None:
    words = [f"w{i}" for i in range(40)]
    vectors = matrix(len(words), 4, seed=14)
    src = _compressed_copy(WRITERS[kind](tmp_path / "v", words, vectors), "gz", "v.gz")
    out = _import(kind, src, models / "m", limit=7)
    assert_model(out, words[:7], vectors[:7])
    assert load_artifact(out).meta["source"]["sha256"] == sha256_of(src)


def test_misnamed_gzip_is_told_by_its_first_bytes(tmp_path: Path, models: Path) -> None:
    vectors = matrix(len(WORDS), 5, seed=15)
    src = _compressed_copy(write_glove(tmp_path / "plain", WORDS, vectors), "gz", "glove.6B.50d.txt")
    out = import_glove_text(src, models / "m", progress=False)
    assert_model(out, WORDS, vectors)
    assert load_artifact(out).meta["source"]["sha256"] == sha256_of(src)


def test_text_that_starts_like_bzip2_is_read_as_text(tmp_path: Path, models: Path) -> None:
    words = ["BZh9", *WORDS]  # the bzip2 signature is "BZh" + level + a block marker, not just "BZh"
    vectors = matrix(len(words), 3, seed=16)
    out = import_glove_text(write_glove(tmp_path / "g.txt", words, vectors), models / "m", progress=False)
    assert_model(out, words, vectors)


CORRUPT = [
    # (file name, bytes from the good file's compressed bytes, expected message after "<path>: ")
    ("cut.bin.gz", lambda c: c[: len(c) // 2], "gzip data is corrupt or truncated (Compressed file ended"),
    ("cut.bin.bz2", lambda c: c[: len(c) // 2], "bzip2 data is corrupt or truncated (Compressed file ended"),
    ("cut.bin.xz", lambda c: c[: len(c) // 2], "xz data is corrupt or truncated (Compressed file ended"),
    ("junk.bin.gz", lambda c: b"\x1f\x8b" + bytes(range(256)) * 8, "gzip data is corrupt or truncated ("),
    (
        "junk-body.bin.gz",
        lambda c: c[:10] + bytes(range(256)) * 8,
        "gzip data is corrupt or truncated (Error -3",
    ),
    ("junk.bin.bz2", lambda c: c[:10] + bytes(range(256)) * 8, "bzip2 data is corrupt or truncated (Invalid"),
    ("junk.bin.xz", lambda c: c[:12] + bytes(range(256)) * 8, "xz data is corrupt or truncated (Corrupt"),
    ("plain.bin.gz", lambda c: b"2 3\na 0.5 -0.25 1\n", "gzip data is corrupt or truncated (Not a gzipped"),
]
CORRUPT_FROM = {".gz": "gz", ".bz2": "bz2", ".xz": "xz"}


@pytest.mark.parametrize(("name", "damage", "message"), CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_compressed_file_is_one_clear_error(
    tmp_path: Path, models: Path, name: str, damage: Callable[[bytes], bytes], message: str
) -> None:
    plain = write_w2v_binary(tmp_path / "good.bin", [f"w{i}" for i in range(500)], matrix(500, 64, seed=17))
    good = COMPRESSORS[CORRUPT_FROM[Path(name).suffix]](plain.read_bytes())
    src = tmp_path / name
    src.write_bytes(damage(good))
    with pytest.raises(InputFormatError) as info:
        import_word2vec(src, models / "m", progress=False)
    assert str(info.value).startswith(f"{src}: cannot be read, the {message}")
    assert "\n" not in str(info.value)
    assert list(models.iterdir()) == []


def test_progress_bar_counts_the_stored_bytes_to_the_end(
    tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ends: list[tuple[float, float | None]] = []

    class DrawnBar(tqdm):
        """The real bar, drawn into a string even without a terminal; remembers where it stopped."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": False, "file": io.StringIO()})

        def close(self) -> None:
            if not self.disable:
                ends.append((self.n, self.total))
            super().close()

    monkeypatch.setattr(importers, "tqdm", DrawnBar)
    words = [f"w{i}" for i in range(2000)]
    plain = write_glove(tmp_path / "g", words, matrix(len(words), 32, seed=18))
    src = _compressed_copy(plain, "gz", "g.txt.gz")
    import_glove_text(src, models / "m", limit=10)
    assert ends == [(src.stat().st_size, src.stat().st_size)]


# ---- compressed inputs through the `firth` command line: `firth import` and the corpus reader of `firth train`

FIVE_WORDS = ["the", "of", "Paris", "café", "x-ray"]


def _firth() -> Path:
    script = Path(sys.executable).parent / "firth"
    if not script.exists():
        pytest.skip("the firth console script is not installed next to this interpreter")
    return script


def _w2v_binary_gz(path: Path, vectors: np.ndarray) -> Path:
    body = b"".join(
        w.encode() + b" " + r.astype("<f4").tobytes() + b"\n"
        for w, r in zip(FIVE_WORDS, vectors, strict=True)
    )
    path.write_bytes(gzip.compress(f"{len(FIVE_WORDS)} {vectors.shape[1]}\n".encode() + body))
    return path


def test_console_script_imports_a_gzipped_word2vec_binary(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((len(FIVE_WORDS), 300)).astype(np.float32)
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
    assert model.words == FIVE_WORDS
    np.testing.assert_array_equal(model.vectors, vectors)
    assert model.meta["source"]["format"] == "word2vec-binary"
    assert model.meta["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()


def test_console_script_reports_a_truncated_gzip_in_one_line(tmp_path: Path) -> None:
    vectors = np.random.default_rng(1).standard_normal((len(FIVE_WORDS), 300)).astype(np.float32)
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
