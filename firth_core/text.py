"""Text to vocabulary rows: the one pipeline every text endpoint shares.

standardise (the model's recorded standardiser, the trainer's own function) -> split on
whitespace (as trainer/corpus.py splits a training line) -> look each token up in the vocabulary.
Unknown tokens stay in `tokens` with row -1 and are listed once each in `oov`, so a caller can show
why a word did not count. Nothing here computes vectors: pooling lives in firth_core/pooling.py,
ids for Keras-style encoding build on `rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from firth_core.keyed_vectors import KeyedVectors
from firth_core.standardize import get_standardizer

UNKNOWN_ROW = -1  # the row of a token the vocabulary does not hold


@dataclass(frozen=True)
class TokenizedText:
    """One text after the pipeline."""

    tokens: list[str]  # the standardised tokens, in order, known or not
    rows: np.ndarray  # int64, one per token: its vocabulary row, or UNKNOWN_ROW
    oov: list[str]  # the unknown tokens, each once, in order of first appearance

    @property
    def known_rows(self) -> np.ndarray:
        """The rows of the known tokens, in order, repeats kept (a repeated word counts twice)."""
        return self.rows[self.rows != UNKNOWN_ROW]

    @property
    def known_tokens(self) -> list[str]:
        return [t for t, r in zip(self.tokens, self.rows.tolist(), strict=True) if r != UNKNOWN_ROW]

    @property
    def is_empty(self) -> bool:
        """No token of the text is in the vocabulary (or the text has no token at all)."""
        return not bool((self.rows != UNKNOWN_ROW).any())


class TextPipeline:
    """A model's standardiser and vocabulary, applied to whole texts."""

    def __init__(self, standardize: str, key_to_index: Mapping[str, int]) -> None:
        self.standardize_name = standardize
        self._standardize: Callable[[str], str] = get_standardizer(standardize)
        self._index = key_to_index

    @classmethod
    def for_model(cls, kv: KeyedVectors) -> TextPipeline:
        return cls(kv.standardize_name, kv.key_to_index)

    def split(self, text: str) -> list[str]:
        """Standardise, then split on whitespace. The standardisers never touch whitespace, so this
        equals splitting first and standardising each word (trainer/corpus.py relies on the same)."""
        return self._standardize(text).split()

    def tokenize(self, text: str) -> TokenizedText:
        tokens = self.split(text)
        rows = list(map(self._index.get, tokens, repeat(UNKNOWN_ROW)))
        oov: list[str] = []
        if UNKNOWN_ROW in rows:  # the common case, every token known, skips this pass
            oov = list(dict.fromkeys(t for t, r in zip(tokens, rows, strict=True) if r == UNKNOWN_ROW))
        return TokenizedText(tokens, np.array(rows, dtype=np.int64), oov)

    def tokenize_many(self, texts: Iterable[str]) -> list[TokenizedText]:
        return [self.tokenize(text) for text in texts]
