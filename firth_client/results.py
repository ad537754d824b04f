"""What the client returns: frozen dataclasses and numpy arrays, never raw JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# the result types, re-exported by firth_client
__all__ = [
    "AnalogyResult",
    "Classification",
    "EmbeddingMatrix",
    "Embeddings",
    "Encoding",
    "Evaluation",
    "Health",
    "ModelInfo",
    "Neighbor",
    "NeighborQuery",
    "ProblemType",
    "ProjectedPoint",
    "Projection",
    "Readiness",
    "ReloadResult",
    "Similarity",
    "Vectors",
    "VocabularyEntry",
    "VocabularyPage",
]

Method = Literal["3cosadd", "3cosmul"]
OovPolicy = Literal["error", "skip", "null"]
Pooling = Literal["mean", "sif"]
TextOov = Literal["error", "null"]
# A query term as gensim takes it: a word, a raw vector, or either with an explicit weight.
Term = str | Sequence[float] | np.ndarray | tuple[str | Sequence[float] | np.ndarray, float]
# `positive`/`negative`: one term (a single word or 1-d array) or a sequence of terms.
Terms = Term | Sequence[Term] | None


@dataclass(frozen=True)
class Neighbor:
    word: str
    similarity: float


@dataclass(frozen=True)
class Similarity:
    a: str
    b: str
    similarity: float


@dataclass(frozen=True)
class AnalogyResult:
    """a is to b as c is to `answer` (b - a + c); `neighbors` holds the top-n candidates."""

    model: str
    a: str
    b: str
    c: str
    answer: str | None
    index: str
    neighbors: tuple[Neighbor, ...]


@dataclass(frozen=True, eq=False)
class Vectors:
    """Vectors of many words, one row per returned word, in request order.

    `words[i]` is the vocabulary word row i used (after the model's standardisation) and
    `inputs[i]` the word as given; with oov="null" a missing word has `words[i] = None` and a
    row of NaN.
    """

    model: str
    dim: int
    inputs: tuple[str, ...]
    words: tuple[str | None, ...]
    array: np.ndarray = field(repr=False)
    missing: tuple[str, ...]

    def __getitem__(self, word: str) -> np.ndarray:
        for i, (given, used) in enumerate(zip(self.inputs, self.words, strict=True)):
            if word in (given, used) and used is not None:
                return self.array[i]
        raise KeyError(word)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Input word -> vector, leaving out missing words."""
        return {
            given: self.array[i]
            for i, (given, used) in enumerate(zip(self.inputs, self.words, strict=True))
            if used is not None
        }


@dataclass(frozen=True)
class NeighborQuery:
    """One query of `most_similar_batch`, with `most_similar`'s arguments."""

    positive: Terms = ()
    negative: Terms = ()
    topn: int = 10
    method: Method = "3cosadd"
    restrict_vocab: int | None = None
    exact: bool = False


@dataclass(frozen=True)
class Evaluation:
    """gensim-compatible figures: score/correct/incorrect/oov/sections for analogies,
    pearson/spearman/oov_ratio for pairs, and the seconds taken."""

    model: str
    benchmark: str
    kind: str
    result: Mapping[str, Any]


@dataclass(frozen=True)
class ProjectedPoint:
    """A projected word: its role (input, query, neighbor, neighbor2, a, b, c, answer, candidate),
    the word it is a neighbour or answer of, and its cosine to that word."""

    word: str
    role: str
    parent: str | None
    similarity: float | None


@dataclass(frozen=True, eq=False)
class Projection:
    """Words projected to 2 or 3 dimensions: `coordinates[i]` is the position of `points[i]`."""

    model: str
    projection: str
    dimensions: int
    seed: int
    perplexity: float | None
    explained_variance: tuple[float, ...] | None
    index: str | None
    answer: str | None
    neighbors: tuple[Neighbor, ...]
    arrows: tuple[tuple[str, str], ...]
    points: tuple[ProjectedPoint, ...]
    coordinates: np.ndarray = field(repr=False)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(p.word for p in self.points)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    default: bool
    dim: int
    vocab_size: int
    index_kinds: tuple[str, ...]
    hnsw_status: str
    sha256: str
    standardize: str
    meta: Mapping[str, Any] = field(repr=False)  # the artifact's meta.json: long
    evaluation: Mapping[str, Any] | None = field(repr=False)
    load_error: str | None = None  # the last reload of this model failed; this version serves on
    unavailable: str | None = None  # its vectors file changed in place: refused until a good reload


@dataclass(frozen=True)
class ReloadResult:
    """What POST /admin/reload did in the worker that answered (the others reload on their own
    when `others_reloading`)."""

    worker: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    reloaded: tuple[str, ...]
    failed: Mapping[str, str]
    unchanged: tuple[str, ...]
    others_reloading: bool


@dataclass(frozen=True)
class Health:
    status: str


@dataclass(frozen=True)
class Readiness:
    status: str
    models: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class ProblemType:
    type: str
    status: int
    title: str


def neighbors_of(rows: Sequence[Mapping[str, Any]]) -> tuple[Neighbor, ...]:
    return tuple(Neighbor(str(r["word"]), float(r["similarity"])) for r in rows)


@dataclass(frozen=True, eq=False)
class Encoding:
    """Texts as Keras' TextVectorization encodes them over the model's vocabulary.

    `ids`: int64 (texts x length) for output_mode 'int' (0 pad, 1 [UNK], then the words), a list of
    1-d arrays when ragged; float32 (texts x vocabulary_size) for multi_hot, count and tf_idf."""

    model: str
    output_mode: str
    vocabulary_size: int
    ids: np.ndarray | list[np.ndarray]
    tokens: tuple[tuple[str, ...], ...]  # each text's standardised tokens
    oov: tuple[tuple[str, ...], ...]  # each text's tokens mapped to [UNK], once each


@dataclass(frozen=True)
class VocabularyEntry:
    word: str
    id: int  # in output_mode 'int'
    rank: int  # 1 = the most frequent word
    count: int | None  # None when the model records no counts


@dataclass(frozen=True)
class VocabularyPage:
    model: str
    total: int  # words matching the prefix (all words without one)
    offset: int
    limit: int
    prefix: str | None
    words: tuple[VocabularyEntry, ...]


@dataclass(frozen=True, eq=False)
class EmbeddingMatrix:
    """Row i is word i's vector (float32); "", "[UNK]" and words not found are zero rows.

    With the .npy transfer `missing` holds the first missing words only (a response header has
    limited room); `missing_count` is always whole."""

    model: str
    matrix: np.ndarray
    words: tuple[str, ...] | None  # None for a .npy answer to max_tokens (the vocabulary pages name them)
    missing: tuple[str, ...]
    missing_count: int


@dataclass(frozen=True)
class Embeddings:
    """Sentence vectors of texts, one row per text in request order (POST /embed).

    `tokens[i]` are text i's standardised tokens and `oov[i]` those the vocabulary lacks; with
    oov="null" a text with no known token has a row of NaN.
    """

    model: str
    dim: int
    array: np.ndarray = field(repr=False)
    tokens: tuple[tuple[str, ...], ...]
    oov: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Classification:
    """One text's labels from a classifier model (POST /classify), most probable first.

    `labels` are (label, probability) pairs: a softmax over all labels, or each label's own
    sigmoid for a one-vs-all model; `tokens` are the text's standardised tokens, `oov` the ones
    the model's vocabulary lacks.
    """

    labels: tuple[tuple[str, float], ...]
    tokens: tuple[str, ...]
    oov: tuple[str, ...]

    @property
    def label(self) -> str | None:
        """The most probable label (None when the threshold left none)."""
        return self.labels[0][0] if self.labels else None
