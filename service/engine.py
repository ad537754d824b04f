"""What the endpoints compute, apart from HTTP: batched queries against a LoadedModel.

Every operation takes a batch. Neighbour and analogy batches become one query matrix and one
index search (grouped by the index they may use), then gensim's rules: drop faiss's -1 labels
and the query's own words, over-fetching so the result still holds k words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from firth_core.errors import EmptyQuery, InvalidQuery, UnknownWord
from firth_core.keyed_vectors import Query, TermInput
from service.index import VectorIndex
from service.registry import LoadedModel

Method = Literal["3cosadd", "3cosmul"]
OovPolicy = Literal["error", "skip", "null"]


@dataclass(frozen=True)
class NeighbourQuery:
    positive: Sequence[TermInput]
    negative: Sequence[TermInput] = ()
    positive_weights: Sequence[float] | None = None
    negative_weights: Sequence[float] | None = None
    k: int = 10
    method: Method = "3cosadd"
    restrict_vocab: int | None = None
    exact: bool = False


@dataclass
class NeighbourResult:
    positive: list[str | None]  # the vocabulary word each input resolved to (None for a vector)
    negative: list[str | None]
    neighbors: list[tuple[str, float]] = field(default_factory=list)
    index: str = "exact"


def _used(model: LoadedModel, terms: Sequence[TermInput]) -> list[str | None]:
    return [model.kv.words[model.kv.index(t)] if isinstance(t, str) else None for t in terms]


def _restrict(model: LoadedModel, restrict_vocab: int | None) -> int | None:
    if restrict_vocab is None or restrict_vocab >= len(model.kv):
        return None
    return restrict_vocab


def _filter(
    model: LoadedModel, scores: np.ndarray, ids: np.ndarray, exclude: Sequence[int], k: int
) -> list[tuple[str, float]]:
    excluded = set(exclude)
    words = model.kv.words
    out: list[tuple[str, float]] = []
    for score, row in zip(scores.tolist(), ids.tolist(), strict=True):
        if row < 0 or row in excluded:
            continue
        out.append((words[row], score))
        if len(out) == k:
            break
    return out


def neighbours(model: LoadedModel, queries: Sequence[NeighbourQuery]) -> list[NeighbourResult]:
    """Answer a batch: 3CosAdd through the index (one search per index kind), 3CosMul by a scan."""
    kv = model.kv
    results: list[NeighbourResult] = []
    built: list[Query | None] = []
    for q in queries:
        if q.k < 1:
            raise InvalidQuery("k must be at least 1")
        results.append(NeighbourResult(_used(model, q.positive), _used(model, q.negative)))
        if q.method == "3cosadd":
            built.append(kv.build_query(q.positive, q.negative, q.positive_weights, q.negative_weights))
        else:
            if q.positive_weights or q.negative_weights:
                raise InvalidQuery("weights apply to 3cosadd only; 3cosmul weighs every term equally")
            built.append(None)

    groups: dict[tuple[VectorIndex, int | None], list[int]] = defaultdict(list)
    for i, (q, query) in enumerate(zip(queries, built, strict=True)):
        if query is None:
            scores, exclude = kv.cosmul_scores(q.positive, q.negative, _restrict(model, q.restrict_vocab))
            results[i].neighbors = kv.ranked(scores, exclude, q.k)
            results[i].index = "exact"
            continue
        restrict = _restrict(model, q.restrict_vocab)
        groups[(model.index_for(q.exact, restrict), restrict)].append(i)

    for (index, restrict), members in groups.items():
        matrix = np.stack([built[i].vector for i in members])  # type: ignore[union-attr]
        fetch = max(queries[i].k + len(built[i].exclude) for i in members)  # type: ignore[union-attr]
        scores, ids = index.search(matrix, fetch, restrict)
        for row, i in enumerate(members):
            query = built[i]
            assert query is not None
            found = _filter(model, scores[row], ids[row], query.exclude, queries[i].k)
            wanted = min(queries[i].k, (restrict or len(kv)) - len(query.exclude))
            if len(found) < wanted and index is not model.exact:
                # HNSW may return fewer than asked (-1 labels): answer this query exactly.
                s, r = model.exact.search(query.vector[None, :], queries[i].k + len(query.exclude), restrict)
                found, kind_used = _filter(model, s[0], r[0], query.exclude, queries[i].k), "exact"
            else:
                kind_used = index.kind
            results[i].neighbors = found
            results[i].index = kind_used
    return results


def analogies(
    model: LoadedModel,
    questions: Sequence[tuple[str, str, str]],
    k: int = 10,
    method: Method = "3cosadd",
    restrict_vocab: int | None = None,
    exact: bool = False,
) -> list[NeighbourResult]:
    """a is to b as c is to ?: neighbours of b - a + c (gensim positive=[b, c], negative=[a])."""
    queries = [
        NeighbourQuery(
            positive=[b, c], negative=[a], k=k, method=method, restrict_vocab=restrict_vocab, exact=exact
        )
        for a, b, c in questions
    ]
    return neighbours(model, queries)


@dataclass(frozen=True)
class VectorLookup:
    input: str
    word: str | None
    vector: np.ndarray | None


def lookup_vectors(
    model: LoadedModel, words: Sequence[str], oov: OovPolicy
) -> tuple[list[VectorLookup], list[str]]:
    """Vectors for words; missing words raise (error), are left out (skip) or get None (null)."""
    kv = model.kv
    found: list[VectorLookup] = []
    missing: list[str] = []
    for word in words:
        row = kv.lookup(word)
        if row is None:
            if oov == "error":
                raise UnknownWord(word, kv.suggest(word))
            missing.append(word)
            if oov == "null":
                found.append(VectorLookup(word, None, None))
            continue
        found.append(VectorLookup(word, kv.words[row], np.asarray(kv.vectors[row])))
    return found, missing


def similarity_pairs(model: LoadedModel, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str, float]]:
    kv = model.kv
    rows = [(kv.index(a), kv.index(b)) for a, b in pairs]
    if not rows:
        raise EmptyQuery("give at least one pair")
    left = kv.unit[[r[0] for r in rows]]
    right = kv.unit[[r[1] for r in rows]]
    sims = np.einsum("ij,ij->i", left, right)
    return [(kv.words[a], kv.words[b], float(s)) for (a, b), s in zip(rows, sims, strict=True)]


def similarity_matrix(
    model: LoadedModel, words_a: Sequence[str], words_b: Sequence[str]
) -> tuple[list[str], list[str], np.ndarray]:
    kv = model.kv
    if not words_a or not words_b:
        raise EmptyQuery("both word lists must be non-empty")
    rows_a = [kv.index(w) for w in words_a]
    rows_b = [kv.index(w) for w in words_b]
    matrix = kv.unit[rows_a] @ kv.unit[rows_b].T
    return [kv.words[r] for r in rows_a], [kv.words[r] for r in rows_b], matrix
