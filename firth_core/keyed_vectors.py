"""In-memory word vectors with gensim's `KeyedVectors` semantics, exact (brute-force numpy).

This is the serving half of a model, apart from any training state (as gensim separates
`KeyedVectors` from `Word2Vec`). The service answers through a FAISS index for speed and uses
this class for the parts that need the whole matrix (3CosMul, similarity, doesnt_match); tests
use it as the exact oracle.

gensim rules kept here, each one on purpose:
- a query is the weighted mean of *unit* word vectors (raw vectors as given), then unit-normalised;
- query words are excluded from results: over-fetch `topn + len(inputs)`, then drop them;
- `restrict_vocab=N` searches only the N most frequent words (rows are frequency-sorted);
- 3CosMul shifts cosines to [0, 1] and divides by the negatives' product + 1e-6.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from firth_core.artifact import Artifact
from firth_core.cancellation import checkpoint
from firth_core.errors import DimensionMismatch, EmptyQuery, InvalidQuery, InvalidVector, UnknownWord
from firth_core.standardize import get_standardizer

# A query term: a word or a raw vector, with its weight (+1 positive, -1 negative by default).
TermInput = str | np.ndarray
COSMUL_EPSILON = 1e-6  # gensim's guard against division by zero in 3CosMul
COSMUL_BLOCK_BYTES = 32 * 1024 * 1024  # scratch for one block of 3CosMul cosines


@dataclass(frozen=True)
class Query:
    """A resolved query: one unit vector to search with, and the row ids to leave out."""

    vector: np.ndarray
    exclude: tuple[int, ...]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (gensim's matutils.argsort, reverse=True)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k >= scores.shape[0]:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class KeyedVectors:
    """Words, their vectors, and gensim's similarity queries over them. Immutable once built."""

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        counts: np.ndarray | None = None,
        standardize: str = "none",
    ) -> None:
        if len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words for {vectors.shape[0]} vectors")
        self.words: tuple[str, ...] = tuple(words)
        self.key_to_index: dict[str, int] = {word: i for i, word in enumerate(self.words)}
        self.vectors = vectors
        self.counts = counts
        self.standardize_name = standardize
        self._standardize: Callable[[str], str] = get_standardizer(standardize)
        self.norms = np.linalg.norm(np.asarray(vectors, dtype=np.float32), axis=1)
        self.unit = np.ascontiguousarray(vectors / self.norms[:, None], dtype=np.float32)
        self.unit.setflags(write=False)

    @classmethod
    def from_artifact(cls, artifact: Artifact) -> KeyedVectors:
        return cls(artifact.words, artifact.vectors, artifact.counts, artifact.standardize)

    # -- words ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.words)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __contains__(self, word: str) -> bool:
        return self.lookup(word) is not None

    def lookup(self, word: str) -> int | None:
        """Row of `word`: the exact key first, else the model's standardisation of it."""
        index = self.key_to_index.get(word)
        if index is None:
            index = self.key_to_index.get(self._standardize(word))
        return index

    def index(self, word: str) -> int:
        index = self.lookup(word)
        if index is None:
            raise UnknownWord(word, self.suggest(word))
        return index

    @cached_property
    def _suggestion_pool(self) -> dict[str, list[str]]:
        # Close spellings are sought among the 100k most frequent words with the same first
        # letter: difflib over 400k words would take seconds on an error path.
        pool: dict[str, list[str]] = {}
        for word in self.words[:100_000]:
            pool.setdefault(word[:1].lower(), []).append(word)
        return pool

    def suggest(self, word: str, n: int = 5) -> list[str]:
        key = self._standardize(word) or word
        candidates = self._suggestion_pool.get(key[:1].lower(), [])
        return difflib.get_close_matches(key, candidates, n=n, cutoff=0.6)

    def vector(self, word: str) -> np.ndarray:
        return np.asarray(self.vectors[self.index(word)])

    # -- queries -----------------------------------------------------------------------------

    def check_vector(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32)
        if vector.ndim != 1 or vector.shape[0] != self.dim:
            raise DimensionMismatch(self.dim, int(vector.shape[-1]) if vector.ndim else 0)
        if not np.isfinite(vector).all():
            raise InvalidVector("vector holds NaN or Inf")
        if not vector.any():
            raise InvalidVector("vector is all zeros (cosine is undefined)")
        return vector

    def build_query(
        self,
        positive: Sequence[TermInput] = (),
        negative: Sequence[TermInput] = (),
        positive_weights: Sequence[float] | None = None,
        negative_weights: Sequence[float] | None = None,
    ) -> Query:
        """gensim's most_similar query: weighted mean of unit word vectors, unit-normalised."""
        terms = list(positive) + list(negative)
        if not terms:  # gensim accepts negative-only queries: the words farthest from them
            raise EmptyQuery("a query needs at least one word or vector")
        weights = list(positive_weights or [1.0] * len(positive)) + list(
            negative_weights or [-1.0] * len(negative)
        )
        if len(weights) != len(terms):
            raise InvalidQuery("give one weight for each word or vector")
        mean = np.zeros(self.dim, dtype=np.float32)
        total_weight = 0.0
        exclude: list[int] = []
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
            for term, weight in zip(terms, weights, strict=True):
                if isinstance(term, str):
                    row = self.index(term)
                    exclude.append(row)
                    mean += np.float32(weight) * self.unit[row]
                else:
                    mean += np.float32(weight) * self.check_vector(term)
                total_weight += abs(weight)
            if total_weight > 0:
                mean /= np.float32(total_weight)
        if not np.isfinite(mean).all():
            raise InvalidVector("the query's weighted terms overflow float32")
        norm = float(np.linalg.norm(mean.astype(np.float64)))
        if norm == 0.0:
            raise InvalidVector("the query's terms cancel out to a zero vector")
        return Query(vector=(mean / norm).astype(np.float32), exclude=tuple(dict.fromkeys(exclude)))

    def ranked(self, scores: np.ndarray, exclude: Sequence[int], topn: int) -> list[tuple[str, float]]:
        """The topn best-scoring words, leaving out the `exclude` rows (the query's own words)."""
        best = top_k(scores, topn + len(exclude))
        excluded = set(exclude)
        result = [(self.words[i], float(scores[i])) for i in best if int(i) not in excluded]
        return result[:topn]

    def most_similar(
        self,
        positive: Sequence[TermInput] = (),
        negative: Sequence[TermInput] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
        positive_weights: Sequence[float] | None = None,
        negative_weights: Sequence[float] | None = None,
    ) -> list[tuple[str, float]]:
        """3CosAdd: words whose vectors are closest to the weighted mean of the inputs."""
        if topn < 1:
            return []
        query = self.build_query(positive, negative, positive_weights, negative_weights)
        end = restrict_vocab or len(self)
        scores = self.unit[:end] @ query.vector
        return self.ranked(scores, query.exclude, topn)

    def similar_by_vector(
        self, vector: np.ndarray, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def cosmul_scores(
        self,
        positive: Sequence[TermInput],
        negative: Sequence[TermInput] = (),
        restrict_vocab: int | None = None,
    ) -> tuple[np.ndarray, tuple[int, ...]]:
        """3CosMul scores of every word (Levy & Goldberg 2014, eq. 4, cosines shifted to [0, 1])."""
        if not positive:
            raise EmptyQuery("a query needs at least one positive word or vector")
        exclude = [self.index(t) for t in list(positive) + list(negative) if isinstance(t, str)]

        def as_term(term: TermInput) -> np.ndarray:
            # gensim: words as unit vectors, raw vectors as given
            return self.unit[self.index(term)] if isinstance(term, str) else self.check_vector(term)

        end = restrict_vocab or len(self)
        terms = np.stack([as_term(t) for t in list(positive) + list(negative)], axis=1)
        # a block of rows at a time, so the (rows x terms) cosines stay within COSMUL_BLOCK_BYTES
        # however many terms there are (a whole 400k-word vocabulary x 200 terms was 600 MB)
        step = max(1024, COSMUL_BLOCK_BYTES // (8 * terms.shape[1]))
        scores = np.empty(end, dtype=np.result_type(self.vectors, terms, self.norms))
        for start in range(0, end, step):
            checkpoint()
            stop = min(start + step, end)
            # raw vectors . term / norm, in gensim's order of operations: with a near-zero
            # denominator 3CosMul amplifies rounding, so computing it the same way keeps gensim's answers
            cosines = (1.0 + (self.vectors[start:stop] @ terms) / self.norms[start:stop, None]) / 2.0
            numerator = np.prod(cosines[:, : len(positive)], axis=1)
            denominator = np.prod(cosines[:, len(positive) :], axis=1) + COSMUL_EPSILON
            scores[start:stop] = numerator / denominator
        return scores, tuple(dict.fromkeys(exclude))

    def most_similar_cosmul(
        self,
        positive: Sequence[TermInput] = (),
        negative: Sequence[TermInput] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        if topn < 1:
            return []
        scores, exclude = self.cosmul_scores(positive, negative, restrict_vocab)
        return self.ranked(scores, exclude, topn)

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self.index(a)] @ self.unit[self.index(b)])

    def n_similarity(self, words_a: Sequence[str], words_b: Sequence[str]) -> float:
        """Cosine between the means of the two sets' raw vectors (gensim's n_similarity)."""
        if not words_a or not words_b:
            raise EmptyQuery("both word lists must be non-empty")
        mean_a = np.mean([self.vector(w) for w in words_a], axis=0)
        mean_b = np.mean([self.vector(w) for w in words_b], axis=0)
        norm = float(np.linalg.norm(mean_a) * np.linalg.norm(mean_b))
        if norm == 0.0:
            raise InvalidVector("a word set's mean vector is zero")
        return float(mean_a @ mean_b / norm)

    def rank_by_centrality(self, words: Sequence[str]) -> list[tuple[float, str]]:
        """Words sorted by cosine to the unit mean of their unit vectors, most central first."""
        if not words:
            raise EmptyQuery("give at least one word")
        rows = [self.index(w) for w in words]
        vectors = self.unit[rows]
        mean = vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            raise InvalidVector("the words' mean vector is zero")
        dists = vectors @ (mean / norm)
        return sorted(zip((float(d) for d in dists), words, strict=True), reverse=True)

    def doesnt_match(self, words: Sequence[str]) -> str:
        return self.rank_by_centrality(words)[-1][1]
