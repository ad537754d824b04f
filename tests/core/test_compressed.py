"""firth_core.compressed: compression told by the first bytes, content decompressed, hashes of the stored bytes."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from firth_core.compressed import detect_compression, open_stored
from firth_core.errors import InputFormatError

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
