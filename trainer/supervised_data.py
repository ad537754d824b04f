"""Labelled text in fastText's format -> vocabulary, labels and every example's input rows.

One example a line: `__label__NAME` tokens (one or more) and the text, standardised and split as
every trainer does (firth_core/labelled_text.py). Blank lines are skipped. A line with no label,
or with labels but no word once standardised, stops the run with the file and line number
(fastText skips such lines silently; a training file that holds them is most likely not what
the user meant). Words are counted, kept from `min_count` on (at most `max_vocab`) and sorted by
count as in the other trainers; labels are sorted by count; `</s>` (fastText's end-of-line word)
is a word of every example.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from firth_core.errors import InputFormatError
from firth_core.labelled_text import EOS, LABEL_PREFIX, split_labels, word_hashes
from firth_core.standardize import get_standardizer
from firth_trainer.corpus import STDIN, CorpusStats, corpus_files, iter_file_pieces
from firth_trainer.supervised_kernels import assemble_rows

MAX_LINE_CHARS = 1 << 24  # one example of more than 16 M characters is not a text to classify


@dataclass
class LabelledLine:
    where: str  # "FILE: line N", for messages
    labels: list[str]
    tokens: list[str]


def whole_lines(name: str, stats: CorpusStats) -> Iterator[tuple[str, int]]:
    """A corpus file's lines, each whole, with its number (the last may lack a line break)."""
    shown = "standard input" if name == STDIN else name
    pieces: list[str] = []
    size, last = 0, 0
    for piece, ends_line, line_no in iter_file_pieces(name, stats):
        pieces.append(piece)
        size += len(piece)
        last = line_no
        if size > MAX_LINE_CHARS:
            raise InputFormatError(f"{shown}: line {line_no} is longer than {MAX_LINE_CHARS:,} characters")
        if ends_line:
            yield "".join(pieces), line_no
            pieces, size = [], 0
    if pieces:
        yield "".join(pieces), last


def iter_labelled_lines(
    source: str | os.PathLike[str],
    standardize: str,
    stats: CorpusStats | None = None,
) -> Iterator[LabelledLine]:
    """Each non-blank line's labels (prefix removed, each once) and standardised tokens."""
    stats = stats if stats is not None else CorpusStats()
    std = get_standardizer(standardize)
    for name in corpus_files(source):
        shown = "standard input" if name == STDIN else name
        for line, line_no in whole_lines(name, stats):
            if not line.strip():
                continue
            labels, text = split_labels(line)
            tokens = std(text).split()
            where = f"{shown}: line {line_no}"
            if not labels:
                raise InputFormatError(
                    f"{where} has no label (fastText's format: {LABEL_PREFIX}NAME, then the text)"
                )
            if labels and not tokens:
                raise InputFormatError(f"{where} has labels but no text")
            if any(not label for label in labels):
                raise InputFormatError(f"{where} has an empty label ({LABEL_PREFIX} with no name)")
            stats.sentences += 1
            stats.tokens += len(tokens)
            yield LabelledLine(where, list(dict.fromkeys(labels)), tokens)


@dataclass
class LabelledCorpus:
    words: list[str]  # the vocabulary, most frequent first (`</s>` among them)
    counts: np.ndarray
    labels: list[str]  # most frequent first
    label_counts: np.ndarray
    rows: np.ndarray  # int64 input rows of every example, back to back (words, then n-gram buckets)
    offsets: np.ndarray  # int64, examples + 1
    example_labels: np.ndarray  # int32
    label_offsets: np.ndarray  # int64, examples + 1
    stats: CorpusStats
    # The word n-gram buckets the examples reach, sorted: `rows` numbers them n_words + position
    # in this list, so training holds only these rows (a few hundred thousand of 2 million).
    buckets_used: np.ndarray

    @property
    def n_examples(self) -> int:
        return int(self.offsets.shape[0] - 1)


def read_labelled(
    source: str | os.PathLike[str],
    standardize: str,
    min_count: int,
    max_vocab: int | None,
    word_ngrams: int,
    bucket: int,
) -> LabelledCorpus:
    stats = CorpusStats()
    index: dict[str, int] = {EOS: 0}
    setdefault = index.setdefault
    label_index: dict[str, int] = {}
    tokens = array("i")
    token_offsets = array("q", [0])
    labels = array("i")
    label_offsets = array("q", [0])
    for line in iter_labelled_lines(source, standardize, stats):
        tokens.extend([setdefault(t, len(index)) for t in line.tokens])
        token_offsets.append(len(tokens))
        labels.extend([label_index.setdefault(name, len(label_index)) for name in line.labels])
        label_offsets.append(len(labels))
    n_examples = len(token_offsets) - 1
    if n_examples == 0:
        raise InputFormatError(
            f"{source}: holds no examples (fastText's format: {LABEL_PREFIX}NAME text ...)"
        )
    ids = np.frombuffer(tokens, dtype=np.int32)
    counts = np.bincount(ids, minlength=len(index)).astype(np.int64)
    counts[0] = n_examples  # `</s>` ends every example
    # Most frequent first; ties keep first appearance (a stable sort), as trainer/vocab.py does.
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count]
    if max_vocab is not None:
        order = order[:max_vocab]
    if not (order == 0).any():  # `</s>` always stays: it is every example's bias row
        order = np.concatenate([[0], order])[: max_vocab or None]
    final = np.full(len(index), -1, dtype=np.int64)
    final[order] = np.arange(len(order))
    all_words = list(index)
    hashes = word_hashes(all_words) if word_ngrams > 1 else np.zeros(len(index), dtype=np.int32)
    rows, offsets = assemble_rows(
        ids,
        np.frombuffer(token_offsets, dtype=np.int64),
        final,
        hashes,
        int(final[0]),
        np.int32(hashes[0]),
        word_ngrams,
        max(bucket, 1),
        len(order),
    )
    grams = rows >= len(order)
    buckets_used, dense = np.unique(rows[grams] - len(order), return_inverse=True)
    rows[grams] = len(order) + dense
    raw_labels = np.frombuffer(labels, dtype=np.int32)
    label_counts = np.bincount(raw_labels, minlength=len(label_index)).astype(np.int64)
    label_order = np.argsort(-label_counts, kind="stable")
    label_final = np.empty(len(label_index), dtype=np.int32)
    label_final[label_order] = np.arange(len(label_index), dtype=np.int32)
    label_names = list(label_index)
    return LabelledCorpus(
        words=[all_words[i] for i in order.tolist()],
        counts=counts[order],
        labels=[label_names[i] for i in label_order.tolist()],
        label_counts=label_counts[label_order],
        rows=rows,
        offsets=offsets,
        example_labels=label_final[raw_labels],
        label_offsets=np.frombuffer(label_offsets, dtype=np.int64).copy(),
        stats=stats,
        buckets_used=buckets_used.astype(np.int64),
    )
