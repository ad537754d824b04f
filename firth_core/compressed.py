"""Reading a file that may be compressed (gzip, bzip2, xz) while hashing it as stored.

Compression is told by the first bytes, so a mis-named file still works; a file without a known
signature is taken at its suffix (`.gz`, `.bz2`, `.xz`), so a file named `.gz` that is not gzip
fails with a clear error rather than being read as text. The sha256 and byte count are of the
bytes on disk, which is what a user can check with `sha256sum`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from firth_core.errors import InputFormatError

_BUFFER = 1 << 20
_SIGNATURE_BYTES = 10
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")  # after "BZh<level>": a compressed block, or the stream end
_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
# Recognised but not read: one line saying what to do beats "line 1: not valid UTF-8".
_UNSUPPORTED = {
    "zip": "a zip archive (as Stanford ships glove.*.zip): unzip it and give the .txt inside",
    "zstd": "zstd-compressed: decompress it first (zstd -d), or recompress it with gzip or xz",
}


class HashingReader(io.RawIOBase):
    """Passes bytes through while hashing and counting them; `on_read` hears each chunk's size."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], object] | None = None) -> None:
        self._raw = raw
        self._on_read = on_read
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.size += n
        if self._on_read is not None and n:
            self._on_read(n)
        return n


def _decompressor(compression: str, stored: io.BufferedReader[Any]) -> io.BufferedIOBase:
    # Closing one of these does not close `stored`.
    if compression == "gzip":
        return gzip.GzipFile(fileobj=stored, mode="rb")
    if compression == "bzip2":
        return bz2.BZ2File(stored, mode="rb")
    return lzma.LZMAFile(stored, mode="rb")


def detect_compression(head: bytes, name: str) -> str | None:
    """`gzip`, `bzip2`, `xz` or None (plain) from a file's first bytes, else from its name's suffix;
    `zip` and `zstd` are recognised only to be refused with a clear message."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in _BZIP2_BLOCKS:
        return "bzip2"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return _SUFFIXES.get(Path(name).suffix.lower())


class StoredFile:
    """A file's content, decompressed when needed, over a reader that hashes the stored bytes."""

    def __init__(self, raw: IO[bytes], name: str, on_read: Callable[[int], object] | None = None) -> None:
        self.hasher = HashingReader(raw, on_read)
        stored = io.BufferedReader(self.hasher, buffer_size=_BUFFER)
        self.compression = detect_compression(stored.peek(_SIGNATURE_BYTES)[:_SIGNATURE_BYTES], name)
        self.content: io.BufferedReader[Any] = stored
        if self.compression is not None and self.compression not in _UNSUPPORTED:
            # Buffered again so that the parsers can peek far enough into the decompressed bytes.
            decompressed = _decompressor(self.compression, stored)
            self.content = io.BufferedReader(decompressed, buffer_size=_BUFFER)

    def sha256(self) -> str:
        """The sha256 of the whole file as stored: reads whatever the parser left unread."""
        while self.hasher.read(_BUFFER):
            pass
        return self.hasher.digest.hexdigest()


def _read_error(label: str, compression: str | None, exc: BaseException) -> InputFormatError:
    if isinstance(exc, OSError) and exc.errno is not None:  # the disk or the pipe, not the data
        return InputFormatError(f"{label}: cannot be read ({exc.strerror or exc})")
    if compression is None:
        return InputFormatError(f"{label}: cannot be read ({exc})")
    return InputFormatError(
        f"{label}: cannot be read, the {compression} data is corrupt or truncated ({exc})"
    )


@contextmanager
def open_stored(
    raw: IO[bytes], name: str, label: str, on_read: Callable[[int], object] | None = None
) -> Iterator[StoredFile]:
    """Open `raw` (named `name`) as a StoredFile; a read or decompression error inside the block
    becomes one InputFormatError starting with `label`. The caller closes `raw`."""
    compression: str | None = None
    try:
        stored = StoredFile(raw, name, on_read)
        compression = stored.compression
        if compression in _UNSUPPORTED:
            raise InputFormatError(f"{label}: {_UNSUPPORTED[compression]}")
        with stored.content:
            yield stored
    except _READ_ERRORS as exc:
        raise _read_error(label, compression, exc) from None
