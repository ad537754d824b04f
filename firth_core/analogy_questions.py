"""An analogy benchmark ('questions-words' format) parsed once into arrays.

Lines are ': section' headers and 'a b c expected' questions; any other line is invalid (gensim
skips it without counting it as a question). The words are kept once each, as the file spells
them; a question is four indices into them, so mapping a benchmark onto a model's vocabulary
costs one lookup per distinct word (~900 in questions-words) instead of four per question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from firth_core.errors import InputFormatError


@dataclass(frozen=True)
class AnalogyQuestions:
    sections: tuple[str, ...]
    words: tuple[str, ...]  # each distinct word once, as the file spells it
    ids: np.ndarray  # (questions, 4) int64: a, b, c and the expected word, indices into `words`
    section_of: np.ndarray  # (questions,) int64: index into `sections`
    invalid: int  # lines that are neither a header nor a four-word question

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def parse_analogies(lines: Iterable[str]) -> AnalogyQuestions:
    """The questions of `lines`; a question before any ': section' header is an InputFormatError."""
    sections: list[str] = []
    word_ids: dict[str, int] = {}
    ids: list[int] = []
    section_of: list[int] = []
    invalid = 0
    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip("\n")
        if line.startswith(": "):
            sections.append(line.lstrip(": ").strip())
            continue
        if not sections:
            raise InputFormatError(f"line {line_no}: a question before any ': section' header")
        words = line.split()
        if len(words) != 4:
            invalid += 1
            continue
        ids.extend(word_ids.setdefault(word, len(word_ids)) for word in words)
        section_of.append(len(sections) - 1)
    return AnalogyQuestions(
        sections=tuple(sections),
        words=tuple(word_ids),
        ids=_read_only(np.array(ids, dtype=np.int64).reshape(-1, 4)),
        section_of=_read_only(np.array(section_of, dtype=np.int64)),
        invalid=invalid,
    )
