"""The embedding matrix for a task's vocabulary: row i is word i's vector, the pad "" and the
unknown token "[UNK]" zero rows (Keras' TextVectorization puts them at ids 0 and 1), as is every
word the model does not know. Load it into an Embedding layer, frozen or not. A subword (fastText)
model gives a word outside its vocabulary the vector of its character n-grams (listed in `subword`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from firth_core.keyed_vectors import KeyedVectors
from firth_core.text_vectorization import PAD_TOKEN, UNK_TOKEN

SPECIAL_TOKENS = frozenset({PAD_TOKEN, UNK_TOKEN})


@dataclass(frozen=True)
class EmbeddingMatrix:
    words: list[str]
    matrix: np.ndarray  # float32, len(words) x dim
    missing: list[str]  # words given that have no vector (zero rows), in order, once each
    subword: list[str] = field(default_factory=list)  # words outside the vocabulary given n-gram vectors


def matrix_for_vocabulary(kv: KeyedVectors, words: Sequence[str], normalize: bool = False) -> EmbeddingMatrix:
    """Word rows found as the model finds query words (the exact key, else its standardisation)."""
    source = kv.unit if normalize else kv.vectors
    matrix = np.zeros((len(words), kv.dim), dtype=np.float32)
    missing: dict[str, list[int]] = {}  # word -> its positions
    for i, word in enumerate(words):
        if word in SPECIAL_TOKENS:
            continue
        row = kv.lookup(word)
        if row is None:
            missing.setdefault(word, []).append(i)
        else:
            matrix[i] = source[row]
    unknown = list(missing)
    vectors, found = kv.subword_vectors(unknown)  # nothing for a model without subwords
    subword: list[str] = []
    for word, vector, has in zip(unknown, vectors, found, strict=False):
        if has:
            matrix[missing.pop(word)] = vector / np.linalg.norm(vector) if normalize else vector
            subword.append(word)
    return EmbeddingMatrix(list(words), matrix, list(missing), subword)


def matrix_for_max_tokens(kv: KeyedVectors, max_tokens: int, normalize: bool = False) -> EmbeddingMatrix:
    """The matrix for firth's own encode ids: "", "[UNK]", then the max_tokens - 2 most frequent words."""
    n = min(len(kv), max_tokens - 2)
    source = kv.unit if normalize else kv.vectors
    matrix = np.zeros((n + 2, kv.dim), dtype=np.float32)
    matrix[2:] = source[:n]
    return EmbeddingMatrix([PAD_TOKEN, UNK_TOKEN, *kv.words[:n]], matrix, [])
