"""Keras `TextVectorization` over a model's vocabulary: text -> ids, multi-hot, counts, tf-idf.

The layer's vocabulary is the model's words in frequency order (row r of the model), after
Keras' special tokens, exactly as `TextVectorization(vocabulary=words)` would build it:

- `output_mode="int"`: id 0 is the pad "" and id 1 the unknown token "[UNK]"; row r is id r + 2.
- other modes: there is no pad; id 0 is "[UNK]"; row r is id r + 1.

`max_tokens` counts the special tokens, so the layer holds `max_tokens - 2` words in int mode and
`max_tokens - 1` in the others (Keras: "the effective number of tokens is max_tokens - 1 - (1 if
output_mode == 'int' else 0)"); words beyond that are unknown. `output_sequence_length` pads with
0 or truncates at the end; without it, int outputs are padded to the batch's longest text (Keras'
dense output) unless `ragged`. Bag modes are one row of width `vocabulary_size` per text, or
`max_tokens` with `pad_to_max_tokens`; unknown tokens count at id 0.

tf-idf: Keras multiplies counts by `idf = log(1 + N / (1 + df))`, df a word's document frequency
in the adapted data. A model records no document frequencies, so firth applies the same formula
to what it has: df = the word's corpus count and N = the corpus' total count. A model without
counts (an imported GloVe) gets counts from Zipf's law on its frequency rank: count_r = V / r for V
words (the rarest seen once), N their sum. "[UNK]" gets the mean weight of the layer's
words, as Keras gives it when it adapts; the columns past the vocabulary (pad_to_max_tokens) 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from firth_core.errors import VectorizationError

OutputMode = Literal["int", "multi_hot", "count", "tf_idf"]
PAD_TOKEN = ""
UNK_TOKEN = "[UNK]"
PAD_ID = 0


def special_tokens(mode: OutputMode) -> tuple[str, ...]:
    return (PAD_TOKEN, UNK_TOKEN) if mode == "int" else (UNK_TOKEN,)


@dataclass(frozen=True)
class Layer:
    """The layer's shape over a vocabulary of `vocab_size` rows."""

    vocab_size: int
    mode: OutputMode = "int"
    max_tokens: int | None = None
    pad_to_max_tokens: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 2:
            raise VectorizationError(
                f"max_tokens must be at least 2 (it counts the specials), got {self.max_tokens}"
            )
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise VectorizationError("pad_to_max_tokens needs max_tokens")
        if self.pad_to_max_tokens and self.mode == "int":
            raise VectorizationError("pad_to_max_tokens applies to multi_hot, count and tf_idf only")

    @property
    def offset(self) -> int:
        """The id of row 0: the number of special tokens before the words."""
        return len(special_tokens(self.mode))

    @property
    def unk_id(self) -> int:
        return self.offset - 1

    @property
    def words(self) -> int:
        """How many of the model's rows the layer holds (the most frequent ones)."""
        if self.max_tokens is None:
            return self.vocab_size
        return min(self.vocab_size, self.max_tokens - self.offset)

    @property
    def vocabulary_size(self) -> int:
        """Keras' vocabulary_size(): the specials plus the words."""
        return self.offset + self.words

    @property
    def depth(self) -> int:
        """The width of a bag-mode row."""
        if self.pad_to_max_tokens:
            assert self.max_tokens is not None
            return self.max_tokens
        return self.vocabulary_size

    def ids(self, rows: np.ndarray) -> np.ndarray:
        """Vocabulary rows (-1: unknown) -> the layer's ids; rows past `words` are unknown too."""
        rows = np.asarray(rows, dtype=np.int64)
        known = (rows >= 0) & (rows < self.words)
        return np.where(known, rows + self.offset, self.unk_id)


def encode_int(
    layer: Layer, rows: Sequence[np.ndarray], output_sequence_length: int | None = None, ragged: bool = False
) -> list[list[int]]:
    """Ids per text, padded with 0 or truncated at the end to `output_sequence_length` (or padded to
    the longest text when it is None and not `ragged`)."""
    if layer.mode != "int":
        raise VectorizationError("encode_int needs output_mode 'int'")
    ids = [layer.ids(r)[:output_sequence_length] for r in rows]  # [:None] keeps all
    if ragged:
        return [i.tolist() for i in ids]
    length = output_sequence_length
    if length is None:
        length = max((len(i) for i in ids), default=0)
    out = np.full((len(ids), length), PAD_ID, dtype=np.int64)
    for n, i in enumerate(ids):
        out[n, : len(i)] = i
    return out.tolist()


def zipf_counts(vocab_size: int) -> np.ndarray:
    """Counts by Zipf's law (exponent 1) for a model that records none: count_r = V / r, so the
    rarest of V words is seen once (the scale matters: Keras' formula adds 1 to a count)."""
    return vocab_size / np.arange(1, vocab_size + 1, dtype=np.float64)


def idf_from_counts(counts: np.ndarray | None, vocab_size: int) -> np.ndarray:
    """Keras' log(1 + N / (1 + df)) per row, df = the row's count, N = the total count."""
    if counts is None:
        counts = zipf_counts(vocab_size)
    counts = np.asarray(counts, dtype=np.float64)
    return np.log1p(float(counts.sum()) / (1.0 + counts))


def idf_weights(layer: Layer, word_idf: np.ndarray) -> np.ndarray:
    """One weight per id (length `depth`) from the words' weights: "[UNK]" gets their mean (Keras'
    choice), columns past the vocabulary 0."""
    words = np.asarray(word_idf, dtype=np.float64)[: layer.words]
    weights = np.zeros(layer.depth, dtype=np.float64)
    weights[layer.offset : layer.offset + layer.words] = words
    weights[layer.unk_id] = float(words.mean()) if words.size else 0.0
    return weights


def encode_bag(layer: Layer, rows: Sequence[np.ndarray], word_idf: np.ndarray | None = None) -> np.ndarray:
    """multi_hot, count or tf_idf rows (float32, texts x depth), unknown tokens at id 0.
    tf_idf needs `word_idf`, one weight per vocabulary row (idf_from_counts)."""
    if layer.mode == "int":
        raise VectorizationError("encode_bag needs output_mode multi_hot, count or tf_idf")
    out = np.zeros((len(rows), layer.depth), dtype=np.float32)
    for n, r in enumerate(rows):
        ids = layer.ids(r)
        if ids.size:
            out[n] = np.bincount(ids, minlength=layer.depth)[: layer.depth]
    if layer.mode == "multi_hot":
        np.minimum(out, 1.0, out=out)
    elif layer.mode == "tf_idf":
        if word_idf is None:
            raise VectorizationError("tf_idf needs idf weights")
        out *= idf_weights(layer, word_idf).astype(np.float32)
    return out


def vocabulary(words: Sequence[str], layer: Layer) -> list[str]:
    """Keras' get_vocabulary(): the specials, then the layer's words."""
    return [*special_tokens(layer.mode), *words[: layer.words]]
