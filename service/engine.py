"""What the endpoints compute, apart from HTTP: batched queries against a LoadedModel.

Every operation takes a batch. Neighbour queries follow gensim's rules in `firth_core.query`
(one search per index kind, the query's own words left out); the engine adds which index the
model offers and which vocabulary word each input resolved to.

Every word goes through `KeyedVectors.resolve`: a subword model answers for a word outside its
vocabulary with the vector of its n-grams, and each result lists such words in `oov` (the routes
mark them `"oov": true`). A model without subwords answers 404 for them, as always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from firth_core.errors import EmptyQuery, UnknownWord
from firth_core.keyed_vectors import Resolved
from firth_core.query import Method, NeighbourQuery, TermInput, most_similar_batch
from firth_service.registry import LoadedModel

OovPolicy = Literal["error", "skip", "null"]


@dataclass
class NeighbourResult:
    positive: list[str | None]  # the vocabulary word each input resolved to (None for a vector)
    negative: list[str | None]
    neighbors: list[tuple[str, float]] = field(default_factory=list)
    index: str = "exact"
    oov: list[str] = field(default_factory=list)  # query words built from n-grams (subword models)


def oov_words(resolved: Sequence[Resolved | None]) -> list[str]:
    """The words built from n-grams, each once, in order."""
    return list(dict.fromkeys(r.word for r in resolved if r is not None and r.oov))


def _resolved_terms(model: LoadedModel, terms: Sequence[TermInput]) -> list[Resolved | None]:
    return [model.kv.resolve(t) if isinstance(t, str) else None for t in terms]


def neighbours(model: LoadedModel, queries: Sequence[NeighbourQuery]) -> list[NeighbourResult]:
    """Answer a batch: 3CosAdd through the model's index (exact while HNSW builds), 3CosMul by a scan."""
    results = []
    for q in queries:
        positive, negative = _resolved_terms(model, q.positive), _resolved_terms(model, q.negative)
        results.append(
            NeighbourResult(
                [r.word if r else None for r in positive],
                [r.word if r else None for r in negative],
                oov=oov_words(positive + negative),
            )
        )
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
    oov: bool = False  # built from n-grams: the word is outside the vocabulary


def lookup_vectors(
    model: LoadedModel, words: Sequence[str], oov: OovPolicy
) -> tuple[list[VectorLookup], list[str]]:
    """Vectors for words; words without one raise (error), are left out (skip) or get None (null)."""
    kv = model.kv
    found: list[VectorLookup] = []
    missing: list[str] = []
    for word in words:
        try:
            resolved = kv.resolve(word)
        except UnknownWord:
            if oov == "error":
                raise
            missing.append(word)
            if oov == "null":
                found.append(VectorLookup(word, None, None))
            continue
        found.append(VectorLookup(word, resolved.word, resolved.vector, resolved.oov))
    return found, missing


@dataclass(frozen=True)
class Words:
    """Words resolved for a cosine computation: what each resolved to, their unit vectors, and
    which were built from n-grams."""

    used: list[str]
    unit: np.ndarray
    oov: list[str]


def resolve_words(model: LoadedModel, words: Sequence[str]) -> Words:
    kv = model.kv
    rows = [kv.lookup(w) for w in words]
    if None not in rows:  # every word in the vocabulary: one gather (the common case)
        known = [r for r in rows if r is not None]
        return Words([kv.words[r] for r in known], kv.unit[known], [])
    resolved = [kv.resolve(w) for w in words]
    return Words([r.word for r in resolved], np.stack([r.unit for r in resolved]), oov_words(resolved))


def similarity_pairs(
    model: LoadedModel, pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, str, float, list[str]]]:
    """(a, b, cosine, the pair's words built from n-grams) for each pair."""
    if not pairs:
        raise EmptyQuery("give at least one pair")
    both = resolve_words(model, [w for pair in pairs for w in pair])  # a1, b1, a2, b2 ...
    sims = np.einsum("ij,ij->i", both.unit[0::2], both.unit[1::2])
    oov = set(both.oov)
    return [
        (a, b, float(s), [w for w in dict.fromkeys((a, b)) if w in oov])
        for a, b, s in zip(both.used[0::2], both.used[1::2], sims, strict=True)
    ]


def n_similarity(
    model: LoadedModel, words_a: Sequence[str], words_b: Sequence[str]
) -> tuple[list[str], list[str], float, list[str]]:
    """gensim's n_similarity, with the word each input resolved to and those built from n-grams."""
    kv = model.kv
    similarity = kv.n_similarity(words_a, words_b)
    resolved = [kv.resolve(w) for w in [*words_a, *words_b]]
    used = [r.word for r in resolved]
    return used[: len(words_a)], used[len(words_a) :], similarity, oov_words(resolved)


def doesnt_match(
    model: LoadedModel, words: Sequence[str]
) -> tuple[list[str], list[tuple[float, str]], list[str]]:
    """The words as resolved, ranked by cosine to their mean, the odd one out last; and those
    built from n-grams."""
    resolved = [model.kv.resolve(w) for w in words]
    used = [r.word for r in resolved]
    return used, model.kv.rank_by_centrality(used), oov_words(resolved)


def similarity_matrix(
    model: LoadedModel, words_a: Sequence[str], words_b: Sequence[str]
) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    if not words_a or not words_b:
        raise EmptyQuery("both word lists must be non-empty")
    a, b = resolve_words(model, words_a), resolve_words(model, words_b)
    return a.used, b.used, a.unit @ b.unit.T, list(dict.fromkeys(a.oov + b.oov))
