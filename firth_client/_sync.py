# Made from firth_client/_async.py by scripts/unasync.py: edit that file, then run the script.
"""FirthClient: the blocking client. Methods build a Call (firth_client._calls) and send it."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import numpy as np

from firth_client import _calls
from firth_client._base import DEFAULT_TIMEOUT, DEFAULT_URL, ClientBase
from firth_client.results import (
    AnalogyResult,
    Evaluation,
    Health,
    Method,
    ModelInfo,
    Neighbor,
    NeighborQuery,
    OovPolicy,
    ProblemType,
    Projection,
    Readiness,
    Similarity,
    Terms,
    Vectors,
)

T = TypeVar("T")
_sleep = time.sleep  # a module attribute, so tests can record the waits


class FirthClient(ClientBase):
    """A client of the firth service with gensim's method names, over one connection pool.

    Use it as a context manager (or call `close()`). Results are frozen dataclasses and numpy
    arrays; errors are `firth_client.errors.FirthAPIError` subclasses. `api_key` is sent as
    `Authorization: Bearer KEY` (a server with FIRTH_API_KEYS answers UnauthorizedError without it). Idempotent calls are
    retried on 429/503 with exponential backoff, honouring Retry-After.
    """

    def __init__(
        self,
        base_url: str | httpx.URL = DEFAULT_URL,
        *,
        model: str = "default",
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.2,
        backoff_cap: float = 5.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            model=model,
            api_key=api_key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            backoff_cap=backoff_cap,
            headers=headers,
        )
        self._http = httpx.Client(transport=transport, **self._http_options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FirthClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, call: _calls.Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.path, params=call.params, json=call.json)
            except httpx.TransportError as exc:
                delay = self.retry_policy.after_error(call.idempotent, exc, attempt)
                if delay is None:
                    raise
            else:
                delay = self.retry_policy.after_response(call.idempotent, response, attempt)
                if delay is None:
                    return _calls.finish(call, response)
            _sleep(delay)
            attempt += 1

    # -- system and models ------------------------------------------------------------------------

    def health(self) -> Health:
        """GET /healthz: the process is alive. Probes are never retried."""
        return self._run(_calls.health())

    def ready(self) -> Readiness:
        """GET /readyz: models loaded and answering; ServiceUnavailableError when not (yet)."""
        return self._run(_calls.ready())

    def metrics(self) -> str:
        """GET /metrics: Prometheus text exposition."""
        return self._run(_calls.metrics())

    def problems(self) -> list[ProblemType]:
        """GET /problems: every error type the service answers with."""
        return self._run(_calls.problems())

    def models(self) -> list[ModelInfo]:
        return self._run(_calls.models())

    def model_info(self, model: str | None = None) -> ModelInfo:
        """One model's description (this client's model unless named)."""
        return self._run(_calls.model_info(model or self.model))

    # -- vectors and similarity ---------------------------------------------------------------------

    def vector(self, word: str) -> np.ndarray:
        """The word's raw vector (float32), like gensim's `kv[word]`; UnknownWordError if missing."""
        return self._run(_calls.vector(self.model, word))

    def vectors(self, words: Sequence[str], oov: OovPolicy = "error") -> Vectors:
        """Vectors of many words; oov: 'error' raises, 'skip' leaves them out, 'null' gives NaN rows."""
        return self._run(_calls.vectors(self.model, words, oov))

    def similarity(self, a: str, b: str) -> float:
        return self._run(_calls.similarity(self.model, a, b))

    def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[Similarity]:
        return self._run(_calls.similarities(self.model, pairs))

    def similarity_matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """matrix[i, j] = cosine(a[i], b[j])."""
        return self._run(_calls.similarity_matrix(self.model, a, b))

    def n_similarity(self, a: Sequence[str], b: Sequence[str]) -> float:
        """Cosine of the two word sets' mean vectors (gensim's n_similarity)."""
        return self._run(_calls.n_similarity(self.model, a, b))

    # -- neighbours and analogies -------------------------------------------------------------------

    def similar_by_word(
        self,
        word: str,
        topn: int = 10,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        return self._run(_calls.similar_by_word(self.model, word, topn, method, restrict_vocab, exact))

    def most_similar(
        self,
        positive: Terms = None,
        negative: Terms = None,
        topn: int = 10,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        """gensim's most_similar. Terms are words, vectors, or (word or vector, weight) pairs."""
        return self._run(
            _calls.most_similar(self.model, positive, negative, topn, method, restrict_vocab, exact)
        )

    def most_similar_cosmul(
        self,
        positive: Terms = None,
        negative: Terms = None,
        topn: int = 10,
        *,
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        return self._run(
            _calls.most_similar(self.model, positive, negative, topn, "3cosmul", restrict_vocab, exact)
        )

    def similar_by_vector(
        self, vector: Any, topn: int = 10, *, restrict_vocab: int | None = None, exact: bool = False
    ) -> list[Neighbor]:
        return self._run(
            _calls.most_similar(self.model, [vector], None, topn, "3cosadd", restrict_vocab, exact)
        )

    def most_similar_batch(self, queries: Sequence[NeighborQuery]) -> list[list[Neighbor]]:
        return self._run(_calls.most_similar_batch(self.model, queries))

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        topn: int = 10,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> AnalogyResult:
        """a is to b as c is to ? (b - a + c): analogy("man", "king", "woman").answer == "queen"."""
        return self._run(_calls.analogy(self.model, a, b, c, topn, method, restrict_vocab, exact))

    def analogies(
        self,
        questions: Sequence[tuple[str, str, str]],
        topn: int = 1,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[AnalogyResult]:
        return self._run(_calls.analogies(self.model, questions, topn, method, restrict_vocab, exact))

    def doesnt_match(self, words: Sequence[str]) -> str:
        return self._run(_calls.doesnt_match(self.model, words))

    def rank_by_centrality(self, words: Sequence[str]) -> list[Neighbor]:
        """Words by cosine to their mean, most central first (the ranking behind doesnt_match)."""
        return self._run(_calls.rank_by_centrality(self.model, words))

    # -- evaluation and projection ------------------------------------------------------------------

    def evaluate(
        self,
        benchmark: str | None = None,
        *,
        items: Sequence[str] | None = None,
        kind: str | None = None,
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> Evaluation:
        """A bundled benchmark (questions-words, wordsim353, simlex999), or `items` lines of
        `kind` 'analogies' or 'pairs', scored with gensim's accounting."""
        return self._run(
            _calls.evaluate(
                self.model, benchmark, items, kind, restrict_vocab, case_insensitive, dummy4unknown
            )
        )

    def project(
        self,
        words: Sequence[str] | None = None,
        *,
        word: str | None = None,
        analogy: tuple[str, str, str] | None = None,
        k: int = 10,
        depth: int = 1,
        method: Method = "3cosadd",
        exact: bool = False,
        projection: str = "pca",
        dimensions: int = 2,
        seed: int = 0,
        perplexity: float | None = None,
    ) -> Projection:
        """2-D/3-D coordinates (PCA or t-SNE) of `words`, of `word` and its k neighbours (depth 2:
        theirs too), or of an analogy (a, b, c) and its k best answers."""
        return self._run(
            _calls.project(
                self.model,
                words,
                word,
                analogy,
                k,
                depth,
                method,
                exact,
                projection,
                dimensions,
                seed,
                perplexity,
            )
        )
