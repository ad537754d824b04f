"""What the endpoints compute, apart from HTTP: batched queries against a LoadedModel.

Every operation takes a batch. Neighbour queries follow gensim's rules in `firth_core.query`
(one search per index kind, the query's own words left out); the engine adds which index the
model offers and which vocabulary word each input resolved to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from firth_core.errors import EmptyQuery, UnknownWord
from firth_core.query import Method, NeighbourQuery, TermInput, most_similar_batch
from firth_service.registry import LoadedModel

OovPolicy = Literal["error", "skip", "null"]


@dataclass
class NeighbourResult:
    positive: list[str | None]  # the vocabulary word each input resolved to (None for a vector)
    negative: list[str | None]
    neighbors: list[tuple[str, float]] = field(default_factory=list)
    index: str = "exact"


def used_words(model: LoadedModel, terms: Sequence[TermInput]) -> list[str | None]:
    """The vocabulary word each term resolves to; None for a raw vector."""
    return [model.kv.canonical(t) if isinstance(t, str) else None for t in terms]


def neighbours(model: LoadedModel, queries: Sequence[NeighbourQuery]) -> list[NeighbourResult]:
    """Answer a batch: 3CosAdd through the model's index (exact while HNSW builds), 3CosMul by a scan."""
    results = [NeighbourResult(used_words(model, q.positive), used_words(model, q.negative)) for q in queries]
    answers = most_similar_batch(model.kv, queries, model.exact, model.hnsw)
    words = model.kv.words
    for result, answer in zip(results, answers, strict=True):
        result.neighbors = [(words[row], score) for row, score in answer.hits]
        result.index = answer.index
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


def n_similarity(
    model: LoadedModel, words_a: Sequence[str], words_b: Sequence[str]
) -> tuple[list[str], list[str], float]:
    """gensim's n_similarity, with the vocabulary word each input resolved to."""
    kv = model.kv
    similarity = kv.n_similarity(words_a, words_b)
    return [kv.canonical(w) for w in words_a], [kv.canonical(w) for w in words_b], similarity


def doesnt_match(model: LoadedModel, words: Sequence[str]) -> tuple[list[str], list[tuple[float, str]]]:
    """The words as resolved, ranked by cosine to their mean, the odd one out last."""
    used = [model.kv.canonical(w) for w in words]
    return used, model.kv.rank_by_centrality(used)


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
