"""gensim's query rules, in one place, with the search plugged in (gensim's `indexer=`).

A neighbour query is built here and only its search is handed to an `Indexer`, as gensim's
`KeyedVectors.most_similar(..., indexer=...)` hands the mean vector to `AnnoyIndexer.most_similar`.
The rules, each one on purpose:
- a query is the weighted mean of *unit* word vectors (raw vectors as given), then unit-normalised;
  a raw vector alone (say, a sentence's vector) is a query with nothing to exclude;
- the query's own words are left out of the results: over-fetch `k + len(words)`, then drop them
  (and faiss's `-1` padding); a subword model's word outside the vocabulary (its vector built from
  n-grams, `KeyedVectors.resolve`) is in no index, so there is nothing to leave out for it, as in
  gensim's FastTextKeyedVectors;
- `restrict_vocab=N` searches only the N most frequent words (rows are frequency-sorted); an
  indexer that cannot search a prefix (HNSW) gives way to the exact one, as does any query while
  the approximate index is still being built;
- an approximate answer shorter than it should be (HNSW may return fewer than asked) is answered
  again exactly;
- 3CosMul shifts cosines to [0, 1] and divides by the negatives' product + 1e-6; it scores every
  word, so it never goes through an indexer.

The batched form is the primitive (`most_similar_batch`); a single query is a batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from firth_core.cancellation import checkpoint
from firth_core.errors import EmptyQuery, InvalidQuery, InvalidVector

if TYPE_CHECKING:
    from firth_core.keyed_vectors import KeyedVectors

# A query term: a word or a raw vector, with its weight (+1 positive, -1 negative by default).
TermInput = str | np.ndarray
Method = Literal["3cosadd", "3cosmul"]
Hit = tuple[int, float]  # (row, similarity)
COSMUL_EPSILON = 1e-6  # gensim's guard against division by zero in 3CosMul
COSMUL_BLOCK_BYTES = 32 * 1024 * 1024  # scratch for one block of 3CosMul cosines
_EXACT_CHUNK_SCORES = 1 << 24  # scores held at once by the numpy exact search (64 MiB of float32)


class Indexer(Protocol):
    """The search half of a query: the k rows with the largest inner product with each unit query."""

    kind: str  # "exact" or an approximate index's name; reported with each answer
    size: int  # rows it searches
    prefix_search: bool  # whether `restrict` (search only the first N rows) is supported

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, d) unit queries -> (n, k') scores and row ids, best first, k' <= k; an id of -1
        marks a slot with no row. `restrict` = search only the first N rows. `ranks` = each
        query's frequency rank (`Query.rank`), which an approximate index may use to search the
        neighbourhoods of rare words harder; an exact search ignores it."""
        ...


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (gensim's matutils.argsort, reverse=True)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k >= scores.shape[0]:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class ExactSearch:
    """Brute force with numpy: every row scored, as gensim's most_similar does without an indexer."""

    kind = "exact"
    prefix_search = True

    def __init__(self, unit: np.ndarray) -> None:
        self._unit = unit
        self.size = int(unit.shape[0])

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = self._unit[:restrict] if restrict else self._unit
        k = min(k, rows.shape[0])
        scores = np.empty((queries.shape[0], k), dtype=np.float32)
        ids = np.empty((queries.shape[0], k), dtype=np.int64)
        step = max(1, _EXACT_CHUNK_SCORES // max(1, rows.shape[0]))
        for start in range(0, queries.shape[0], step):
            checkpoint()  # a batch's search stops here when its client has gone or its deadline passed
            chunk = queries[start : start + step]
            # one query as a matrix-vector product, the same arithmetic as gensim's `unit @ mean`
            block = (rows @ chunk[0])[None, :] if chunk.shape[0] == 1 else chunk @ rows.T
            for i, row_scores in enumerate(block, start=start):
                ids[i] = top_k(row_scores, k)
                scores[i] = row_scores[ids[i]]
        return scores, ids


# -- building a query -------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A resolved query: one unit vector to search with, the row ids to leave out, and its
    frequency rank: the row of its rarest word (rows are frequency-sorted), or the vocabulary's
    size when a raw vector is part of it (nothing says it lies among frequent words)."""

    vector: np.ndarray
    exclude: tuple[int, ...]
    rank: int


def build_query(
    kv: KeyedVectors,
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
    mean = np.zeros(kv.dim, dtype=np.float32)
    total_weight = 0.0
    exclude: list[int] = []
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        for term, weight in zip(terms, weights, strict=True):
            if isinstance(term, str):
                word = kv.resolve(term)
                if (
                    word.row is not None
                ):  # a word built from n-grams is not in the index: nothing to leave out
                    exclude.append(word.row)
                mean += np.float32(weight) * word.unit
            else:
                mean += np.float32(weight) * kv.check_vector(term)
            total_weight += abs(weight)
        if total_weight > 0:
            mean /= np.float32(total_weight)
    if not np.isfinite(mean).all():
        raise InvalidVector("the query's weighted terms overflow float32")
    norm = float(np.linalg.norm(mean.astype(np.float64)))
    if norm == 0.0:
        raise InvalidVector("the query's terms cancel out to a zero vector")
    # a raw vector or a word outside the vocabulary: nothing says the query lies among frequent words
    rank = max(exclude) if len(exclude) == len(terms) else len(kv)
    return Query((mean / norm).astype(np.float32), tuple(dict.fromkeys(exclude)), rank)


def word_means(unit: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """The queries of a batch of word-only questions at once: row i is the unit mean of
    +unit[positive[i]] and -unit[negative[i]] (positives first, as `build_query` adds them).
    `positive` is (n, p) and `negative` (n, q) row ids; the result is (n, d) float32."""
    mean = np.zeros((positive.shape[0], unit.shape[1]), dtype=np.float32)
    for column in positive.T:
        mean += unit[column]
    for column in negative.T:
        mean -= unit[column]
    mean /= np.float32(positive.shape[1] + negative.shape[1])
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    return mean


# -- leaving the query's words out -------------------------------------------------------------


def drop_excluded(scores: np.ndarray, ids: np.ndarray, exclude: Sequence[int], k: int) -> list[Hit]:
    """The first k (row, score) of one ranked answer that are not the query's own words (nor
    faiss's -1 padding). The search must have over-fetched k + len(exclude)."""
    excluded = set(exclude)
    out: list[Hit] = []
    for score, row in zip(scores.tolist(), ids.tolist(), strict=True):
        if row < 0 or row in excluded:
            continue
        out.append((row, score))
        if len(out) == k:
            break
    return out


def ranked(scores: np.ndarray, exclude: Sequence[int], k: int) -> list[Hit]:
    """The k best of a score for every row (3CosMul), leaving out the query's own words."""
    best = top_k(scores, k + len(exclude))
    return drop_excluded(scores[best], best, exclude, k)


# -- choosing the index ------------------------------------------------------------------------


def effective_restrict(restrict_vocab: int | None, size: int) -> int | None:
    """restrict_vocab as a search limit: None when it covers the whole vocabulary (or is 0, as
    gensim's `restrict_vocab or len`)."""
    if not restrict_vocab or restrict_vocab >= size:
        return None
    return restrict_vocab


def choose_indexer(
    exact: Indexer, approximate: Indexer | None, want_exact: bool, restrict: int | None
) -> Indexer:
    """The approximate index when it is built and the query allows it; else the exact search."""
    if want_exact or approximate is None or (restrict is not None and not approximate.prefix_search):
        return exact
    return approximate


# -- answering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeighbourQuery:
    """One most_similar request: the terms, how many neighbours, and how to search."""

    positive: Sequence[TermInput]
    negative: Sequence[TermInput] = ()
    positive_weights: Sequence[float] | None = None
    negative_weights: Sequence[float] | None = None
    k: int = 10
    method: Method = "3cosadd"
    restrict_vocab: int | None = None
    exact: bool = False


@dataclass(frozen=True)
class Neighbours:
    hits: list[Hit]  # (row, similarity), best first
    index: str  # the kind of index that answered


def cosmul_scores(
    kv: KeyedVectors,
    positive: Sequence[TermInput],
    negative: Sequence[TermInput] = (),
    restrict_vocab: int | None = None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """3CosMul scores of every word (Levy & Goldberg 2014, eq. 4, cosines shifted to [0, 1])."""
    if not positive:
        raise EmptyQuery("a query needs at least one positive word or vector")
    inputs = list(positive) + list(negative)
    words = {i: kv.resolve(t) for i, t in enumerate(inputs) if isinstance(t, str)}
    exclude = [w.row for w in words.values() if w.row is not None]

    def as_term(i: int, term: TermInput) -> np.ndarray:
        # gensim: words as unit vectors (a subword model's OOV words from n-grams), raw vectors as given
        return words[i].unit if i in words else kv.check_vector(term)  # type: ignore[arg-type]

    end = restrict_vocab or len(kv)
    terms = np.stack([as_term(i, t) for i, t in enumerate(inputs)], axis=1)
    # a block of rows at a time, so the (rows x terms) cosines stay within COSMUL_BLOCK_BYTES
    # however many terms there are (a whole 400k-word vocabulary x 200 terms was 600 MB)
    step = max(1024, COSMUL_BLOCK_BYTES // (8 * terms.shape[1]))
    scores = np.empty(end, dtype=np.result_type(kv.vectors, terms, kv.norms))
    for start in range(0, end, step):
        checkpoint()
        stop = min(start + step, end)
        # raw vectors . term / norm, in gensim's order of operations: with a near-zero
        # denominator 3CosMul amplifies rounding, so computing it the same way keeps gensim's answers
        cosines = (1.0 + (kv.vectors[start:stop] @ terms) / kv.norms[start:stop, None]) / 2.0
        numerator = np.prod(cosines[:, : len(positive)], axis=1)
        denominator = np.prod(cosines[:, len(positive) :], axis=1) + COSMUL_EPSILON
        scores[start:stop] = numerator / denominator
    return scores, tuple(dict.fromkeys(exclude))


def nearest(
    queries: Sequence[Query], ks: Sequence[int], indexer: Indexer, exact: Indexer, restrict: int | None
) -> list[Neighbours]:
    """One batched search of unit queries through `indexer`, then gensim's exclusion rule; a query
    the approximate index answers short is searched again by `exact`."""
    matrix = np.stack([q.vector for q in queries])
    fetch = max(k + len(q.exclude) for q, k in zip(queries, ks, strict=True))
    ranks = np.array([q.rank for q in queries], dtype=np.int64)
    scores, ids = indexer.search(matrix, fetch, restrict, ranks)
    out: list[Neighbours] = []
    for row, (query, k) in enumerate(zip(queries, ks, strict=True)):
        hits = drop_excluded(scores[row], ids[row], query.exclude, k)
        wanted = min(k, (restrict or indexer.size) - len(query.exclude))
        if len(hits) < wanted and indexer is not exact:
            s, r = exact.search(query.vector[None, :], k + len(query.exclude), restrict)
            out.append(Neighbours(drop_excluded(s[0], r[0], query.exclude, k), exact.kind))
        else:
            out.append(Neighbours(hits, indexer.kind))
    return out


def most_similar_batch(
    kv: KeyedVectors, queries: Sequence[NeighbourQuery], exact: Indexer, approximate: Indexer | None = None
) -> list[Neighbours]:
    """Answer a batch: 3CosAdd through one search per index (and restrict_vocab), 3CosMul by a scan."""
    built: list[Query | None] = []
    for q in queries:
        if q.k < 1:
            raise InvalidQuery("k must be at least 1")
        if q.method == "3cosadd":
            built.append(build_query(kv, q.positive, q.negative, q.positive_weights, q.negative_weights))
        elif q.positive_weights or q.negative_weights:
            raise InvalidQuery("weights apply to 3cosadd only; 3cosmul weighs every term equally")
        else:
            built.append(None)

    answers: list[Neighbours | None] = [None] * len(queries)
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    indexers: dict[int, Indexer] = {}
    for i, (q, query) in enumerate(zip(queries, built, strict=True)):
        restrict = effective_restrict(q.restrict_vocab, len(kv))
        if query is None:
            scores, exclude = cosmul_scores(kv, q.positive, q.negative, restrict)
            answers[i] = Neighbours(ranked(scores, exclude, q.k), exact.kind)
            continue
        indexer = choose_indexer(exact, approximate, q.exact, restrict)
        indexers[id(indexer)] = indexer
        groups[(id(indexer), restrict)].append(i)

    for (indexer_id, restrict), members in groups.items():
        found = nearest(
            [built[i] for i in members],  # type: ignore[misc]
            [queries[i].k for i in members],
            indexers[indexer_id],
            exact,
            restrict,
        )
        for i, answer in zip(members, found, strict=True):
            answers[i] = answer
    return [a for a in answers if a is not None]
