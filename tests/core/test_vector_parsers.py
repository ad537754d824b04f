"""firth_core.vector_parsers on bytes and streams made here: no files, no logging, no progress bars."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import numpy as np
import pytest

from firth_core.errors import InputFormatError
from firth_core.vector_parsers import ParsedVectors, parse_fasttext_vec, parse_glove_text, parse_word2vec

WORDS = ["the", "Of", "of", "café"]
VECTORS = np.arange(12, dtype=np.float32).reshape(4, 3) - 5.5


def _text(header: bool) -> bytes:
    lines = [f"{len(WORDS)} 3\n"] if header else []
    lines += [w + " " + " ".join(str(v) for v in row) + "\n" for w, row in zip(WORDS, VECTORS, strict=True)]
    return "".join(lines).encode()


def _binary() -> bytes:
    body = b"".join(
        w.encode() + b" " + r.astype("<f4").tobytes() for w, r in zip(WORDS, VECTORS, strict=True)
    )
    return f"{len(WORDS)} 3\n".encode() + body


@pytest.mark.parametrize(
    ("parse", "data", "fmt"),
    [
        (parse_glove_text, _text(header=False), "glove-text"),
        (parse_word2vec, _text(header=True), "word2vec-text"),
        (parse_word2vec, _binary(), "word2vec-binary"),  # told apart by the first entry's bytes
        (parse_fasttext_vec, _text(header=True), "fasttext-vec"),
    ],
)
def test_bytes_and_streams_parse_alike(
    parse: Callable[..., ParsedVectors], data: bytes, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        from_bytes = parse(data, "mem")
        from_stream = parse(io.BytesIO(data), "mem")
    for parsed in (from_bytes, from_stream):
        assert parsed.format == fmt
        assert parsed.words == WORDS
        np.testing.assert_array_equal(parsed.vectors, VECTORS)
        assert parsed.counts() == {"skipped_zero_rows": 0}
    assert caplog.records == []  # parsing logs nothing; the importers do


def test_zero_rows_and_standardisation_are_counted_not_logged() -> None:
    data = _text(header=False).replace(b"the -5.5 -4.5 -3.5", b"the 0 0 0")
    parsed = parse_glove_text(data, "mem", standardize="lower")
    assert parsed.words == ["of", "café"]  # "of" merges into the earlier "Of"
    assert (parsed.skipped_zero, parsed.first_zero) == (1, "'the' at line 1")
    assert parsed.counts() == {
        "skipped_zero_rows": 1,
        "skipped_empty_after_standardize": 0,
        "skipped_duplicates_after_standardize": 1,
    }


def test_errors_name_the_label_and_the_offset() -> None:
    with pytest.raises(InputFormatError, match=r"^mem: line 3: value 2 \('x'\) is not a number$"):
        parse_fasttext_vec(b"2 3\na 1 2 3\nb 1 x 3\n", "mem")
    cut = _binary()[:-5]
    with pytest.raises(InputFormatError, match=r"^mem: entry 4 \(byte (\d+)\): truncated") as info:
        parse_word2vec(cut, "mem", binary=True)
    offset = int(str(info.value).split("(byte ")[1].split(")")[0])
    assert cut[offset:].startswith("café ".encode())
    with pytest.raises(InputFormatError, match=r"^mem: no vectors to import \(2 all-zero rows skipped\)$"):
        parse_glove_text(b"a 0 0\nb 0 0\n", "mem")
    with pytest.raises(ValueError, match="positive"):
        parse_glove_text(b"a 1 2\n", "mem", limit=0)
