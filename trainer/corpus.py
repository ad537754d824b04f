"""Corpus readers: text files (plain, gzip, bzip2, xz), a directory of them, or `-` for stdin.

One sentence a line, streamed line by line and never loaded whole. Every line is standardised
with the model's standardiser (the one the service applies to queries), split on whitespace,
and cut into pieces of at most MAX_SENTENCE_TOKENS tokens (word2vec.c and gensim do the same).

`encode_corpus` makes the single pass over the text that training needs: it assigns each new
word a provisional id in order of first appearance and writes the ids, with -1 after every
sentence, to an int32 file on disk; it also hashes every input file. The vocabulary step
(trainer/vocab.py) then remaps the provisional ids to frequency-sorted ids.
"""

from __future__ import annotations

import io
import os
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from firth_core.compressed import open_stored
from firth_core.errors import InputFormatError
from firth_core.standardize import get_standardizer

# The token-id stream's format, shared by vocab.py, glove_cooccur.py and word2vec_kernels.py:
MAX_SENTENCE_TOKENS = 10_000  # gensim's and word2vec.c's limit on one sentence; longer lines are cut
MAX_PIECE_CHARS = 1 << 20  # lines are read in pieces of at most this many characters
MAX_WORD_CHARS = 100_000  # a longer run without whitespace is not a word: the file is refused
SENTENCE_END = -1  # marks the end of a sentence in the token-id stream
STDIN = "-"
_FLUSH_TOKENS = 1 << 22  # ids buffered in memory before they are appended to the file (16 MB)


@dataclass
class CorpusStats:
    """What the corpus was: recorded in the model's meta.json."""

    files: list[dict[str, object]] = field(default_factory=list)  # path, bytes, sha256
    lines: int = 0  # lines read (before cutting long ones)
    sentences: int = 0  # non-empty sentences after cutting long lines
    tokens: int = 0  # tokens after standardisation, before vocabulary pruning

    def as_meta(self) -> dict[str, object]:
        return {"files": self.files, "lines": self.lines, "sentences": self.sentences, "tokens": self.tokens}


def corpus_files(source: str | os.PathLike[str]) -> list[str]:
    """The files a corpus argument names: itself, every file under a directory (sorted), or `-`."""
    if str(source) == STDIN:
        return [STDIN]
    path = Path(source)
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise InputFormatError(f"corpus {path}: the directory holds no files")
        return files
    if not path.exists():
        raise InputFormatError(f"corpus {path}: no such file or directory")
    return [str(path)]  # a file, or a stream such as <(zcat big.gz) or /dev/stdin


def iter_file_pieces(name: str, stats: CorpusStats) -> Iterator[tuple[str, bool, int]]:
    """Yield one corpus file's lines as (text, ends_line, line number) pieces of at most MAX_PIECE_CHARS
    characters, hashing the file and failing with one clear message. A line is never held whole,
    so a file without line breaks (/dev/zero, a one-line corpus like text8) costs bounded memory."""
    raw: IO[bytes] = sys.stdin.buffer if name == STDIN else open(name, "rb")  # noqa: SIM115
    shown = "standard input" if name == STDIN else name
    line_no = 0
    try:
        with open_stored(raw, "" if name == STDIN else name, f"corpus {shown}") as stored:
            text = io.TextIOWrapper(stored.content, encoding="utf-8", errors="strict", newline=None)
            open_line = False
            while piece := text.readline(MAX_PIECE_CHARS):
                if "\x00" in piece:
                    raise InputFormatError(
                        f"corpus {shown}: line {line_no + 1} holds NUL bytes (binary file?)"
                    )
                open_line = not piece.endswith("\n")
                yield piece, not open_line, line_no + 1
                line_no += not open_line
            line_no += open_line  # a last line without a line break
            sha256 = stored.sha256()
    except UnicodeDecodeError:
        raise InputFormatError(
            f"corpus {shown}: line {line_no + 1} is not UTF-8 text (binary file or wrong encoding?)"
        ) from None
    finally:
        if name != STDIN:
            raw.close()
    stats.files.append({"path": shown, "bytes": stored.hasher.size, "sha256": sha256})
    stats.lines += line_no


def iter_sentences(
    source: str | os.PathLike[str], standardize: str, stats: CorpusStats | None = None
) -> Iterator[list[str]]:
    """Yield standardised sentences (lists of tokens, at most MAX_SENTENCE_TOKENS each): each line
    cut into pieces of MAX_SENTENCE_TOKENS tokens, the last piece shorter."""
    stats = stats if stats is not None else CorpusStats()
    std = get_standardizer(standardize)

    def cut(tokens: list[str], whole: bool) -> Iterator[list[str]]:
        # Full pieces of MAX_SENTENCE_TOKENS; with `whole` (the line ended) the rest too.
        while len(tokens) >= MAX_SENTENCE_TOKENS or (whole and tokens):
            piece = tokens[:MAX_SENTENCE_TOKENS]
            del tokens[:MAX_SENTENCE_TOKENS]
            stats.sentences += 1
            stats.tokens += len(piece)
            yield piece

    # The standardisers map characters one to one or drop them and never touch whitespace, so
    # standardising a piece of a line then splitting equals splitting then standardising each word.
    for name in corpus_files(source):
        tokens: list[str] = []
        partial = ""  # the end of a line's last piece, when it may be the start of a longer word
        for piece, ends_line, line_no in iter_file_pieces(name, stats):
            if ends_line and not partial and not tokens:  # a whole line (nearly always)
                words = std(piece).split()
                if len(words) <= MAX_SENTENCE_TOKENS:
                    if words:
                        stats.sentences += 1
                        stats.tokens += len(words)
                        yield words
                    continue
            text = partial + std(piece)
            tokens.extend(text.split())
            partial = ""
            if not ends_line and tokens and text and not text[-1].isspace():
                partial = tokens.pop()
                if len(partial) > MAX_WORD_CHARS:
                    raise InputFormatError(
                        f"corpus {'standard input' if name == STDIN else name}: line {line_no} "
                        f"holds a word of more than {MAX_WORD_CHARS:,} characters (binary data?)"
                    )
            yield from cut(tokens, ends_line)
        if partial:
            tokens.append(partial)
        yield from cut(tokens, True)


@dataclass
class EncodedCorpus:
    """The corpus as provisional ids: `words[i]` is the word with provisional id i."""

    words: list[str]
    ids_path: Path  # int32 ids, SENTENCE_END after every sentence
    length: int  # entries in ids_path (tokens + sentence ends)
    stats: CorpusStats

    def ids(self) -> np.ndarray:
        if self.length == 0:
            return np.zeros(0, dtype=np.int32)
        return np.memmap(self.ids_path, dtype=np.int32, mode="r", shape=(self.length,))


def encode_corpus(source: str | os.PathLike[str], standardize: str, workdir: Path) -> EncodedCorpus:
    """One streamed pass over the text: provisional ids to a file in `workdir`, plus statistics."""
    stats = CorpusStats()
    index: dict[str, int] = {}
    setdefault = index.setdefault
    buffer = array("i")
    length = 0
    ids_path = workdir / "provisional-ids.i32"
    with open(ids_path, "wb") as out:
        for sentence in iter_sentences(source, standardize, stats):
            if not sentence:
                continue
            # setdefault evaluates len(index) before inserting: a new word gets the next id.
            buffer.extend([setdefault(word, len(index)) for word in sentence])
            buffer.append(SENTENCE_END)
            if len(buffer) >= _FLUSH_TOKENS:
                buffer.tofile(out)
                length += len(buffer)
                buffer = array("i")
        buffer.tofile(out)
        length += len(buffer)
    shown = "standard input" if str(source) == STDIN else str(source)
    if stats.tokens == 0:
        raise InputFormatError(f"corpus {shown}: holds no words")
    return EncodedCorpus(words=list(index), ids_path=ids_path, length=length, stats=stats)
