"""In-memory word vectors with gensim's `KeyedVectors` semantics, exact (brute-force numpy).

This is the serving half of a model, apart from any training state (as gensim separates
`KeyedVectors` from `Word2Vec`): words, vectors, lookups and the similarity measures that need
the whole matrix. Neighbour queries follow gensim's rules in `firth_core.query`, searched exactly
unless an `indexer=` is given (gensim's hook); tests use this class as the exact oracle.

A subword (fastText) model also gives a vector to a word outside its vocabulary, built from its
character n-grams as gensim's `FastTextKeyedVectors.get_vector` builds it. `resolve` is the one
place a word becomes a vector: every query (and the service's every endpoint) goes through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from firth_core.artifact import Artifact
from firth_core.errors import DimensionMismatch, EmptyQuery, InvalidVector, UnknownWord
from firth_core.query import ExactSearch, Indexer, NeighbourQuery, TermInput, most_similar_batch
from firth_core.spelling import SpellingIndex
from firth_core.standardize import get_standardizer
from firth_core.subwords import SubwordSpec, oov_vector, oov_vectors

SUGGESTION_WORDS = 100_000  # unknown words get close spellings among this many most frequent words


@dataclass(frozen=True)
class Resolved:
    """A word as a query uses it: its vocabulary row and vector, or, outside the vocabulary of a
    subword model, the vector of its character n-grams (`row` None, `oov` true)."""

    input: str  # the word as given
    word: str  # the vocabulary word it resolved to; outside it, the standardised input
    row: int | None
    vector: np.ndarray  # raw, as gensim's get_vector
    unit: np.ndarray  # unit length, as gensim's get_vector(norm=True)

    @property
    def oov(self) -> bool:
        return self.row is None


def unit_rows(vectors: np.ndarray, norms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(unit vectors, norms) of a matrix's rows, as KeyedVectors keeps them (float32)."""
    if norms is None:
        norms = np.linalg.norm(np.asarray(vectors, dtype=np.float32), axis=1)
    unit = np.ascontiguousarray(vectors / norms[:, None], dtype=np.float32)
    return unit, norms


def _as_terms(terms: Sequence[TermInput] | str) -> Sequence[TermInput]:
    """gensim's `most_similar("word")`: a lone string is one word (never its characters, which a
    subword model would otherwise take as words of their own)."""
    return [terms] if isinstance(terms, str) else terms


class KeyedVectors:
    """Words, their vectors, and gensim's similarity queries over them. Immutable once built.

    `unit` and `norms` may be given precomputed (the service memory-maps them from a saved file);
    `ngrams` and `subwords` make it a subword model (gensim's FastTextKeyedVectors)."""

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        counts: np.ndarray | None = None,
        standardize: str = "none",
        *,
        unit: np.ndarray | None = None,
        norms: np.ndarray | None = None,
        ngrams: np.ndarray | None = None,
        subwords: SubwordSpec | None = None,
    ) -> None:
        if len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words for {vectors.shape[0]} vectors")
        if (ngrams is None) != (subwords is None):
            raise ValueError("a subword model needs both its n-gram rows and its SubwordSpec")
        self.words: tuple[str, ...] = tuple(words)
        self.key_to_index: dict[str, int] = dict(zip(self.words, range(len(self.words)), strict=True))
        self.vectors = vectors
        self.counts = counts
        self.standardize_name = standardize
        self._standardize: Callable[[str], str] = get_standardizer(standardize)
        if unit is None or norms is None:
            unit, norms = unit_rows(vectors, norms)
        self.norms = norms
        self.unit = unit
        if self.unit.flags.writeable:
            self.unit.setflags(write=False)
        self.exact_search = ExactSearch(self.unit)
        self.ngrams = ngrams
        self.subwords = subwords if subwords is not None and subwords.enabled else None

    @classmethod
    def from_artifact(
        cls, artifact: Artifact, unit: np.ndarray | None = None, norms: np.ndarray | None = None
    ) -> KeyedVectors:
        subwords = artifact.subwords
        return cls(
            artifact.words,
            artifact.vectors,
            artifact.counts,
            artifact.standardize,
            unit=unit,
            norms=norms,
            ngrams=artifact.ngrams if subwords is not None else None,
            subwords=subwords,
        )

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
    def longest_word_bytes(self) -> int:
        """UTF-8 bytes of the longest word (how long a word can make an answer that lists words)."""
        return max((len(word.encode("utf-8", "surrogatepass")) for word in self.words), default=0)

    @cached_property
    def spelling(self) -> SpellingIndex:
        """The close-spelling index over the SUGGESTION_WORDS most frequent words, built on first
        use (about a second for 100,000 words; the service builds it while loading a model)."""
        return SpellingIndex(self.words[:SUGGESTION_WORDS])

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Up to n close spellings of an unknown word, nearest and most frequent first (< 1 ms)."""
        return self.spelling.suggest(self._standardize(word) or word, n)

    def canonical(self, word: str) -> str:
        """The word `word` resolves to: itself or its standardised form in the vocabulary, or
        (a subword model) its standardised form outside it."""
        return self.resolve(word).word

    def vector(self, word: str) -> np.ndarray:
        return self.resolve(word).vector

    # -- subwords ----------------------------------------------------------------------------

    def oov_key(self, word: str) -> str:
        """The string whose n-grams make an unknown word's vector: its standardised form (the
        form training saw), or the word itself when standardising leaves nothing."""
        return self._standardize(word) or word

    def resolve(self, word: str) -> Resolved:
        """The one way from a word to a vector: its vocabulary row (the exact key, else its
        standardisation); outside the vocabulary of a subword model, its n-grams' mean (gensim's
        FastTextKeyedVectors.get_vector); else UnknownWord with close spellings. A word none of
        whose n-grams exist (or whose n-grams sum to zero) is unknown too."""
        row = self.lookup(word)
        if row is not None:
            return Resolved(word, self.words[row], row, np.asarray(self.vectors[row]), self.unit[row])
        if self.subwords is not None and self.ngrams is not None:
            key = self.oov_key(word)
            vector = oov_vector(self.ngrams, key, self.subwords)
            if vector is not None:
                norm = np.float32(np.linalg.norm(vector))
                if norm > 0 and np.isfinite(norm):
                    return Resolved(word, key, None, vector, vector / norm)
        raise UnknownWord(word, self.suggest(word))

    def subword_vectors(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw n-gram vectors of many words outside the vocabulary at once (their `oov_key`s),
        and a mask of those that have one; (0, d) and an empty mask for a model without subwords."""
        if self.subwords is None or self.ngrams is None or not words:
            return np.zeros((0, self.dim), np.float32), np.zeros(0, dtype=bool)
        vectors, found = oov_vectors(self.ngrams, [self.oov_key(w) for w in words], self.subwords)
        return vectors, found & vectors.any(axis=1)

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

    def most_similar(
        self,
        positive: Sequence[TermInput] = (),
        negative: Sequence[TermInput] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
        positive_weights: Sequence[float] | None = None,
        negative_weights: Sequence[float] | None = None,
        indexer: Indexer | None = None,
    ) -> list[tuple[str, float]]:
        """3CosAdd: words whose vectors are closest to the weighted mean of the inputs, searched
        by `indexer` when given (exactly when it cannot answer, as for restrict_vocab). A lone word
        may be given as a string, as gensim allows."""
        positive, negative = _as_terms(positive), _as_terms(negative)
        query = NeighbourQuery(
            positive, negative, positive_weights, negative_weights, topn, "3cosadd", restrict_vocab
        )
        return self._answer(query, indexer)

    def similar_by_vector(
        self,
        vector: np.ndarray,
        topn: int = 10,
        restrict_vocab: int | None = None,
        indexer: Indexer | None = None,
    ) -> list[tuple[str, float]]:
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab, indexer=indexer)

    def most_similar_cosmul(
        self,
        positive: Sequence[TermInput] = (),
        negative: Sequence[TermInput] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosMul over every word (Levy & Goldberg 2014)."""
        positive, negative = _as_terms(positive), _as_terms(negative)
        return self._answer(
            NeighbourQuery(positive, negative, k=topn, method="3cosmul", restrict_vocab=restrict_vocab)
        )

    def _answer(self, query: NeighbourQuery, indexer: Indexer | None = None) -> list[tuple[str, float]]:
        if query.k < 1:  # gensim returns an empty list for topn=0
            return []
        (answer,) = most_similar_batch(self, [query], self.exact_search, indexer)
        return [(self.words[row], score) for row, score in answer.hits]

    def similarity(self, a: str, b: str) -> float:
        return float(self.resolve(a).unit @ self.resolve(b).unit)

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
        vectors = np.stack([self.resolve(w).unit for w in words])
        mean = vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            raise InvalidVector("the words' mean vector is zero")
        dists = vectors @ (mean / norm)
        return sorted(zip((float(d) for d in dists), words, strict=True), reverse=True)

    def doesnt_match(self, words: Sequence[str]) -> str:
        return self.rank_by_centrality(words)[-1][1]
