"""Parsers of pretrained vectors in GloVe, word2vec and fastText formats: bytes in, words and vectors out.

Pure parsing: a parser reads a binary stream (or bytes) and returns the words and a float32 matrix,
with no files, logging or progress bars (firth_core/importers.py adds those). Each streams its
input (one line, or one binary entry, at a time into a grown buffer), keeps the file's row order
(frequency order for all these formats) and refuses a malformed entry with one InputFormatError
naming the input's label and the line, entry or byte offset.

Limits, so that /dev/zero or a binary file fails at once instead of filling the memory: a text
line is at most MAX_LINE_BYTES long and holds no NUL byte, a dimension is at most MAX_DIM, and
the buffer is checked against the memory available (firth_core/resources.py, ResourceLimit)
before it is allocated or grown.

Formats, as the reference tools write them:

- GloVe text: no header; `word v1 ... vd` per line. GloVe 840B has words that contain spaces
  (". . ."), so the last `d` fields are the vector and everything before them is the word.
- word2vec text / fastText `.vec`: a header line `count dim`, then `word v1 ... vd` per line
  (the C tool leaves a trailing space). Fields are split on single spaces.
- word2vec binary: the same header line, then per entry `word<space>` and `dim` little-endian
  float32, optionally followed by a newline (the C tool writes one, gensim does not).

All-zero rows (fastText has a few) are skipped, because cosine similarity is undefined for them,
and counted in the result.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from firth_core.errors import InputFormatError
from firth_core.fasttext_bin import MAGIC
from firth_core.resources import available_memory, require_memory
from firth_core.standardize import get_standardizer

_HEADER = re.compile(r"^\s*(\d+)\s+(\d+)\s*$")
# Bytes that can appear in a text vector line after the word; raw float32 data almost never
# stays inside this set for a whole line, which is how binary files are told apart.
_TEXT_VALUE_BYTES = frozenset(b"0123456789.-+eE \t\r\naAnNiIfFtTyY")
_BINARY_CHUNK = 1 << 20
_MAX_WORD_BYTES = 1 << 16
_FALLBACK_ROWS = 1 << 16
MAX_LINE_BYTES = 16 << 20  # a text vector line longer than this is refused (no line breaks: not text)
MAX_DIM = 1_000_000  # a header or first line claiming more dimensions is refused (4 MB a row)


@dataclass(frozen=True)
class ParsedVectors:
    """What a parser read: the kept words and their vectors, in the input's order, and the counts
    of the rows it skipped."""

    format: str  # glove-text, word2vec-text, word2vec-binary or fasttext-vec
    words: list[str]
    vectors: np.ndarray
    skipped_zero: int
    first_zero: str | None  # where the first all-zero row was, e.g. "'x' at line 4"
    skipped_empty: int | None  # words standardisation left empty (None without standardisation)
    skipped_merged: int | None  # later spellings standardisation merged into an earlier word

    def counts(self) -> dict[str, Any]:
        """The skipped-row counts as meta.json records them."""
        out: dict[str, Any] = {"skipped_zero_rows": self.skipped_zero}
        if self.skipped_empty is not None:
            out["skipped_empty_after_standardize"] = self.skipped_empty
            out["skipped_duplicates_after_standardize"] = self.skipped_merged
        return out


def check_options(limit: int | None, standardize: str) -> None:
    """Refuse a limit below 1 (ValueError) or an unknown standardiser, before any input is read."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit}")
    get_standardizer(standardize)


def _buffered(source: IO[bytes] | bytes) -> io.BufferedReader:
    """A reader that can peek (the binary-or-text test needs it)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BufferedReader(io.BytesIO(source))
    if isinstance(source, io.BufferedReader):
        return source
    return io.BufferedReader(source)  # type: ignore[arg-type]


_FASTTEXT_MAGIC = MAGIC.to_bytes(4, "little")


def _refuse_fasttext_model(label: str, handle: io.BufferedReader) -> None:
    """A fastText .bin model given to a vectors-file parser: say which importer reads it."""
    if handle.peek(4)[:4] == _FASTTEXT_MAGIC:
        raise InputFormatError(
            f"{label}: a fastText .bin model, not a vectors file: use `firth import fasttext-bin`"
        )


class _Collector:
    """Accumulates (word, vector) rows: growth, duplicates, zero rows, standardisation."""

    def __init__(self, label: str, dim: int, capacity: int, standardize: str, unit: str = "line") -> None:
        self.label = label
        self.dim = dim
        self.unit = unit
        # np.empty only reserves address space, so sizing for the expected row count costs nothing
        # until rows are written; never more than half the memory available (an absurd header
        # count), and an allocation that fails anyway falls back to growing.
        row_bytes = dim * 4
        require_memory(row_bytes, f"{label}: vectors of dimension {dim:,}")
        most = max(available_memory() // 2 // row_bytes, 1)
        try:
            self.buffer = np.empty((min(max(capacity, 1), most), dim), dtype=np.float32)
        except (MemoryError, ValueError):
            self.buffer = np.empty((min(_FALLBACK_ROWS, most), dim), dtype=np.float32)
        self.words: list[str] = []
        self.first_seen: dict[str, int] = {}  # raw word -> line (or entry) where it was first seen
        self.kept: set[str] = set()
        self.std: Callable[[str], str] | None = (
            None if standardize == "none" else get_standardizer(standardize)
        )
        self.entries = 0
        self.skipped_zero = 0
        self.first_zero: str | None = None
        self.skipped_empty = 0
        self.skipped_merged = 0

    def slot(self) -> np.ndarray:
        """The buffer row the next vector is written into (the buffer grows as needed)."""
        n = len(self.words)
        if n == self.buffer.shape[0]:
            extra = max(n // 2, 1024)
            require_memory(
                (n + extra) * self.dim * 4, f"{self.label}: {n + extra:,} vectors of dimension {self.dim:,}"
            )
            grown = np.empty((n + extra, self.dim), dtype=np.float32)
            grown[:n] = self.buffer
            self.buffer = grown
        return self.buffer[n]

    def error(self, number: int | str, reason: str) -> InputFormatError:
        where = number if isinstance(number, str) else f"{self.unit} {number}"
        return InputFormatError(f"{self.label}: {where}: {reason}")

    def commit(self, number: int, word: str, row: np.ndarray) -> None:
        """Validate the word and the vector just written into `slot()`; keep or skip the row."""
        self.entries += 1
        if not word:
            raise self.error(number, "the word is empty")
        if "\t" in word or "\r" in word or "\n" in word:
            raise self.error(number, f"the word {word!r} contains a tab or line break")
        first = self.first_seen.setdefault(word, number)
        if first != number:
            raise self.error(number, f"duplicate word {word!r} (first at {self.unit} {first})")
        finite = np.isfinite(row)
        if not finite.all():
            index = int(np.argmin(finite))
            raise self.error(
                number,
                f"value {index + 1} of {word!r} is {row[index]} (NaN, Inf and overflows are refused)",
            )
        if not row.any():
            self.skipped_zero += 1
            if self.first_zero is None:
                self.first_zero = f"{word!r} at {self.unit} {number}"
            return
        if self.std is not None:
            word = self.std(word)
            if not word:
                self.skipped_empty += 1
                return
            if word in self.kept:
                self.skipped_merged += 1  # a less frequent spelling of a word already kept
                return
            self.kept.add(word)
        self.words.append(word)

    def result(self, fmt: str) -> ParsedVectors:
        """The rows kept; an input that kept none is an error."""
        if not self.words:
            detail = f" ({self.skipped_zero} all-zero rows skipped)" if self.skipped_zero else ""
            raise InputFormatError(f"{self.label}: no vectors to import{detail}")
        standardized = self.std is not None
        return ParsedVectors(
            format=fmt,
            words=self.words,
            vectors=self.buffer[: len(self.words)],
            skipped_zero=self.skipped_zero,
            first_zero=self.first_zero,
            skipped_empty=self.skipped_empty if standardized else None,
            skipped_merged=self.skipped_merged if standardized else None,
        )


def _read_line(label: str, handle: IO[bytes], line_no: int) -> bytes:
    """One line of a text vectors file, at most MAX_LINE_BYTES long and free of NUL bytes, or raise:
    /dev/zero or a binary file must fail at once, not after filling the memory with one line."""
    raw = handle.readline(MAX_LINE_BYTES + 1)
    if b"\x00" in raw:
        raise InputFormatError(
            f"{label}: line {line_no} holds NUL bytes (binary data, not a text vectors file)"
        )
    if len(raw) > MAX_LINE_BYTES:
        raise InputFormatError(
            f"{label}: line {line_no} is longer than {MAX_LINE_BYTES >> 20} MiB (not a text vectors file?)"
        )
    return raw


def _lines(label: str, handle: IO[bytes], first_line_no: int) -> Iterator[bytes]:
    """The remaining lines of `handle`, numbered from `first_line_no`, each through _read_line."""
    line_no = first_line_no
    while raw := _read_line(label, handle, line_no):
        yield raw
        line_no += 1


def _check_dim(label: str, where: str, dim: int) -> None:
    if dim > MAX_DIM:
        raise InputFormatError(f"{label}: {where}: dimension {dim:,} is over firth's limit of {MAX_DIM:,}")


def _value_error(collector: _Collector, where: int, fields: list[str]) -> InputFormatError:
    """Name the first field that is not a number."""
    for index, field in enumerate(fields, start=1):
        try:
            float(field)
        except ValueError:
            return collector.error(where, f"value {index} ({field[:40]!r}) is not a number")
    return collector.error(where, "values could not be read as numbers")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_line(
    collector: _Collector, where: int, line: str, *, spaces_in_words: bool
) -> tuple[str, list[str]]:
    """Split a text line into the word and exactly `dim` value fields, or raise."""
    dim = collector.dim
    if not spaces_in_words:
        parts = line.split(" ")
        if len(parts) != dim + 1:
            raise collector.error(where, f"expected {dim} values, found {len(parts) - 1}")
        return parts[0], parts[1:]
    parts = line.rsplit(" ", dim)
    if len(parts) != dim + 1:
        raise collector.error(where, f"expected {dim} values, found {len(parts) - 1}")
    word = parts[0]
    if " " in word:
        # A word with spaces (GloVe 840B) -- unless its tail is numeric, i.e. the line has extra values.
        head = word.split(" ")
        extra = 0
        while extra < len(head) - 1 and _is_number(head[-1 - extra]):
            extra += 1
        if extra:
            raise collector.error(where, f"expected {dim} values, found {dim + extra}")
    return word, parts[1:]


def _read_text_body(
    lines: Iterable[bytes],
    collector: _Collector,
    *,
    first_line_no: int,
    limit: int | None,
    spaces_in_words: bool,
) -> int:
    """Parse text lines into `collector`; return the number of the last line read."""
    line_no = first_line_no - 1
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become Inf and are refused
        for raw in lines:
            line_no += 1
            try:
                line = raw.decode("utf-8").rstrip("\r\n ")
            except UnicodeDecodeError:
                raise collector.error(line_no, "not valid UTF-8") from None
            if not line:
                continue  # blank lines carry nothing
            word, fields = _split_line(collector, line_no, line, spaces_in_words=spaces_in_words)
            row = collector.slot()
            try:
                row[:] = fields
            except ValueError:
                raise _value_error(collector, line_no, fields) from None
            collector.commit(line_no, word, row)
            if limit is not None and collector.entries >= limit:
                break
    return line_no


def parse_glove_text(
    source: IO[bytes] | bytes,
    label: str,
    *,
    limit: int | None = None,
    standardize: str = "none",
    expected_bytes: int | None = None,
) -> ParsedVectors:
    """Parse GloVe text (no header; `word v1 ... vd`); the first line fixes `d`. Errors start with
    `label`; `expected_bytes` (the content's size, if known) only sizes the first buffer."""
    check_options(limit, standardize)
    handle = _buffered(source)
    _refuse_fasttext_model(label, handle)
    first = _read_line(label, handle, 1)
    line_no = 1
    while first and not first.strip():
        line_no += 1
        first = _read_line(label, handle, line_no)
    if not first:
        raise InputFormatError(f"{label}: empty file, no vectors to import")
    try:
        text = first.decode("utf-8").rstrip("\r\n ")
    except UnicodeDecodeError:
        raise InputFormatError(f"{label}: line {line_no}: not valid UTF-8") from None
    if _HEADER.match(text):
        raise InputFormatError(
            f"{label}: line {line_no}: {text!r} looks like a word2vec/fastText header; "
            "use `firth import word2vec` or `firth import fasttext`"
        )
    dim = len(text.split(" ")) - 1
    if dim < 1:
        raise InputFormatError(f"{label}: line {line_no}: expected a word followed by its values")
    _check_dim(label, f"line {line_no}", dim)
    # No header: estimate the row count from the content's size and the first line's length.
    estimate = _FALLBACK_ROWS if expected_bytes is None else int(expected_bytes / len(first) * 1.25) + 1024
    collector = _Collector(label, dim, min(limit or estimate, estimate), standardize)
    _read_text_body(
        itertools.chain([first], _lines(label, handle, line_no + 1)),
        collector,
        first_line_no=line_no,
        limit=limit,
        spaces_in_words=True,
    )
    return collector.result("glove-text")


def _read_header(label: str, handle: IO[bytes]) -> tuple[int, int, int]:
    """The `count dim` header line: (count, dim, the line's length in bytes)."""
    raw = _read_line(label, handle, 1)
    if not raw:
        raise InputFormatError(f"{label}: empty file, no vectors to import")
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        text = ""
    match = _HEADER.match(text)
    if not match:
        shown = text[:60] if text else raw[:60].decode("utf-8", "replace")
        raise InputFormatError(
            f"{label}: line 1: expected a header `count dim`, found {shown!r}"
            " (a GloVe file has no header: use `firth import glove`)"
        )
    count, dim = int(match.group(1)), int(match.group(2))
    if count < 1 or dim < 1:
        raise InputFormatError(
            f"{label}: line 1: header says {count} vectors of dimension {dim}, nothing to import"
        )
    _check_dim(label, "line 1", dim)
    return count, dim, len(raw)


def _looks_binary(handle: io.BufferedReader, dim: int) -> bool:
    """After the header: True when the first entry's value bytes are not text."""
    sample = handle.peek(dim * 4 + _MAX_WORD_BYTES)[: dim * 4 + _MAX_WORD_BYTES]
    sample = sample.lstrip(b"\n")
    space = sample.find(b" ")
    if space < 0:
        return False
    values = sample[space + 1 : space + 1 + dim * 4]
    end = values.find(b"\n")
    if end >= 0:
        values = values[:end]
    return not all(byte in _TEXT_VALUE_BYTES for byte in values)


def _read_binary_body(
    handle: IO[bytes],
    collector: _Collector,
    *,
    count: int,
    limit: int | None,
    offset: int,
) -> None:
    """Parse `count` binary entries (fewer with a limit) into `collector`; `offset` is the byte
    position of the first entry, for error messages."""
    width = collector.dim * 4
    data = b""
    pos = 0
    eof = False
    wanted = count if limit is None else min(count, limit)

    def fill(need: int) -> None:
        nonlocal data, pos, eof, offset
        while not eof and len(data) - pos < need:
            block = handle.read(max(_BINARY_CHUNK, need))
            if not block:
                eof = True
                break
            offset += pos
            data = data[pos:] + block
            pos = 0

    for entry in range(1, wanted + 1):
        fill(_MAX_WORD_BYTES + width + 2)
        while pos < len(data) and data[pos] == 0x0A:  # the C tool's newline after each vector
            pos += 1
        where = f"entry {entry} (byte {offset + pos})"
        if pos >= len(data):
            raise collector.error(where, f"file ends after {entry - 1} vectors, the header says {count}")
        space = data.find(b" ", pos, pos + _MAX_WORD_BYTES)
        if space < 0:
            raise collector.error(where, "no space after the word (truncated or not a word2vec binary file)")
        try:
            word = data[pos:space].decode("utf-8")
        except UnicodeDecodeError:
            raise collector.error(where, "the word is not valid UTF-8") from None
        start = space + 1
        if len(data) - start < width:
            raise collector.error(
                where, f"truncated: {word!r} needs {width} bytes of vector, {len(data) - start} remain"
            )
        row = collector.slot()
        row[:] = np.frombuffer(data, dtype="<f4", count=collector.dim, offset=start)
        collector.commit(entry, word, row)
        pos = start + width
    if limit is None or limit > count:
        fill(_MAX_WORD_BYTES)
        rest = data[pos:]
        if rest.strip(b"\n"):
            raise collector.error(
                f"byte {offset + pos}", f"data after the {count} vectors the header announces"
            )


def _check_text_tail(label: str, handle: IO[bytes], last_line: int, count: int) -> None:
    """After the announced vectors only blank lines may follow."""
    line_no = last_line
    for raw in _lines(label, handle, last_line + 1):
        line_no += 1
        if raw.strip():
            raise InputFormatError(
                f"{label}: line {line_no}: more vectors than the {count} the header announces"
            )


def parse_word2vec(
    source: IO[bytes] | bytes,
    label: str,
    *,
    binary: bool | None = None,
    limit: int | None = None,
    standardize: str = "none",
) -> ParsedVectors:
    """Parse word2vec text or binary (`binary=None` tells them apart from the first entry)."""
    return _parse_with_header(
        source, label, fmt="word2vec", binary=binary, limit=limit, standardize=standardize
    )


def parse_fasttext_vec(
    source: IO[bytes] | bytes, label: str, *, limit: int | None = None, standardize: str = "none"
) -> ParsedVectors:
    """Parse a fastText `.vec` file (word2vec text format with a `count dim` header)."""
    return _parse_with_header(
        source, label, fmt="fasttext-vec", binary=False, limit=limit, standardize=standardize
    )


def _parse_with_header(
    source: IO[bytes] | bytes,
    label: str,
    *,
    fmt: str,
    binary: bool | None,
    limit: int | None,
    standardize: str,
) -> ParsedVectors:
    check_options(limit, standardize)
    handle = _buffered(source)
    _refuse_fasttext_model(label, handle)
    count, dim, header_bytes = _read_header(label, handle)
    if binary is None:
        binary = _looks_binary(handle, dim)
    wanted = count if limit is None else min(count, limit)
    collector = _Collector(label, dim, wanted, standardize, unit="entry" if binary else "line")
    if binary:
        _read_binary_body(handle, collector, count=count, limit=limit, offset=header_bytes)
    else:
        last_line = _read_text_body(
            _lines(label, handle, 2),
            collector,
            first_line_no=2,
            limit=wanted,
            spaces_in_words=False,
        )
        if collector.entries < wanted:
            raise InputFormatError(
                f"{label}: line {last_line}: file ends after {collector.entries} vectors, "
                f"the header says {count}"
            )
        if limit is None or limit > count:
            _check_text_tail(label, handle, last_line, count)
    if fmt == "word2vec":
        fmt = "word2vec-binary" if binary else "word2vec-text"
    return collector.result(fmt)
