# firth_client/_sync.py is made from this file by scripts/unasync.py: edit this one, then run that.
"""AsyncFirthClient: the asyncio/trio client. Methods build a Call (firth_client._calls) and send it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx
import numpy as np

from firth_client import _calls
from firth_client._base import DEFAULT_TIMEOUT, DEFAULT_URL, ClientBase
from firth_client.results import (
    AnalogyResult,
    Classification,
    EmbeddingMatrix,
    Embeddings,
    Encoding,
    Evaluation,
    Health,
    Method,
    ModelInfo,
    Neighbor,
    NeighborQuery,
    OovPolicy,
    Pooling,
    ProblemType,
    Projection,
    Readiness,
    ReloadResult,
    Similarity,
    Terms,
    TextOov,
    Vectors,
    VocabularyPage,
)

T = TypeVar("T")
_sleep = anyio.sleep  # a module attribute, so tests can record the waits


class AsyncFirthClient(ClientBase):
    """A client of the firth service with gensim's method names, over one connection pool.

    Use it as an async context manager (or call `aclose()`). Results are frozen dataclasses and numpy
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(transport=transport, **self._http_options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFirthClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, call: _calls.Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params, json=call.json
                )
            except httpx.TransportError as exc:
                delay = self.retry_policy.after_error(call.idempotent, exc, attempt)
                if delay is None:
                    raise
            else:
                delay = self.retry_policy.after_response(call.idempotent, response, attempt)
                if delay is None:
                    return _calls.finish(call, response)
            await _sleep(delay)
            attempt += 1

    # -- system and models ------------------------------------------------------------------------

    async def health(self) -> Health:
        """GET /healthz: the process is alive. Probes are never retried."""
        return await self._run(_calls.health())

    async def ready(self) -> Readiness:
        """GET /readyz: models loaded and answering; ServiceUnavailableError when not (yet)."""
        return await self._run(_calls.ready())

    async def metrics(self) -> str:
        """GET /metrics: Prometheus text exposition."""
        return await self._run(_calls.metrics())

    async def problems(self) -> list[ProblemType]:
        """GET /problems: every error type the service answers with."""
        return await self._run(_calls.problems())

    async def models(self) -> list[ModelInfo]:
        return await self._run(_calls.models())

    async def model_info(self, model: str | None = None) -> ModelInfo:
        """One model's description (this client's model unless named)."""
        return await self._run(_calls.model_info(model or self.model))

    async def reload_models(self) -> ReloadResult:
        """POST /admin/reload: re-read the models directory in every worker (needs the admin key
        when the server sets one)."""
        return await self._run(_calls.reload_models())

    # -- vectors and similarity ---------------------------------------------------------------------

    async def vector(self, word: str) -> np.ndarray:
        """The word's raw vector (float32), like gensim's `kv[word]`; UnknownWordError if missing."""
        return await self._run(_calls.vector(self.model, word))

    async def vectors(self, words: Sequence[str], oov: OovPolicy = "error") -> Vectors:
        """Vectors of many words; oov: 'error' raises, 'skip' leaves them out, 'null' gives NaN rows."""
        return await self._run(_calls.vectors(self.model, words, oov))

    async def similarity(self, a: str, b: str) -> float:
        return await self._run(_calls.similarity(self.model, a, b))

    async def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[Similarity]:
        return await self._run(_calls.similarities(self.model, pairs))

    async def similarity_matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """matrix[i, j] = cosine(a[i], b[j])."""
        return await self._run(_calls.similarity_matrix(self.model, a, b))

    async def n_similarity(self, a: Sequence[str], b: Sequence[str]) -> float:
        """Cosine of the two word sets' mean vectors (gensim's n_similarity)."""
        return await self._run(_calls.n_similarity(self.model, a, b))

    # -- neighbours and analogies -------------------------------------------------------------------

    async def similar_by_word(
        self,
        word: str,
        topn: int = 10,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        return await self._run(_calls.similar_by_word(self.model, word, topn, method, restrict_vocab, exact))

    async def most_similar(
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
        return await self._run(
            _calls.most_similar(self.model, positive, negative, topn, method, restrict_vocab, exact)
        )

    async def most_similar_cosmul(
        self,
        positive: Terms = None,
        negative: Terms = None,
        topn: int = 10,
        *,
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        return await self._run(
            _calls.most_similar(self.model, positive, negative, topn, "3cosmul", restrict_vocab, exact)
        )

    async def similar_by_vector(
        self, vector: Any, topn: int = 10, *, restrict_vocab: int | None = None, exact: bool = False
    ) -> list[Neighbor]:
        return await self._run(
            _calls.most_similar(self.model, [vector], None, topn, "3cosadd", restrict_vocab, exact)
        )

    async def most_similar_batch(self, queries: Sequence[NeighborQuery]) -> list[list[Neighbor]]:
        return await self._run(_calls.most_similar_batch(self.model, queries))

    async def analogy(
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
        return await self._run(_calls.analogy(self.model, a, b, c, topn, method, restrict_vocab, exact))

    async def analogies(
        self,
        questions: Sequence[tuple[str, str, str]],
        topn: int = 1,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[AnalogyResult]:
        return await self._run(_calls.analogies(self.model, questions, topn, method, restrict_vocab, exact))

    async def doesnt_match(self, words: Sequence[str]) -> str:
        return await self._run(_calls.doesnt_match(self.model, words))

    async def rank_by_centrality(self, words: Sequence[str]) -> list[Neighbor]:
        """Words by cosine to their mean, most central first (the ranking behind doesnt_match)."""
        return await self._run(_calls.rank_by_centrality(self.model, words))

    # -- texts -------------------------------------------------------------------------------------

    async def embed(
        self,
        texts: Sequence[str],
        *,
        pooling: Pooling = "mean",
        pre_normalize: bool = True,
        post_normalize: bool = False,
        sif_a: float = 1e-3,
        oov: TextOov = "error",
        encoding: str = "base64",
    ) -> Embeddings:
        """Sentence vectors (`.array`, float32, one row per text): 'mean' is gensim's
        get_mean_vector of the known tokens, 'sif' Arora et al.'s. oov 'null' gives a text with no
        known word a NaN row instead of a ValidationError (/problems/empty-text). The encoding
        changes only the transfer: base64 (the default) is faster, the vectors are the same."""
        return await self._run(
            _calls.embed(self.model, texts, pooling, pre_normalize, post_normalize, sif_a, oov, encoding)
        )

    async def classify(
        self, texts: Sequence[str], *, k: int = 1, threshold: float = 0.0
    ) -> list[Classification]:
        """Each text's k most probable labels with their probabilities, from a model trained with
        `firth train --algorithm supervised` (fastText's predict); labels below `threshold` are left
        out. A model that is not a classifier answers ValidationError (/problems/not-a-classifier)."""
        return await self._run(_calls.classify(self.model, texts, k, threshold))

    async def text_similarities(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        pooling: Pooling = "mean",
        pre_normalize: bool = True,
        sif_a: float = 1e-3,
        oov: TextOov = "error",
    ) -> list[float | None]:
        """Cosine of each pair of texts' sentence vectors (None for a text with no known word)."""
        return await self._run(
            _calls.text_similarities(self.model, pairs, pooling, pre_normalize, sif_a, oov)
        )

    async def text_similarity_matrix(
        self,
        a: Sequence[str],
        b: Sequence[str],
        *,
        pooling: Pooling = "mean",
        pre_normalize: bool = True,
        sif_a: float = 1e-3,
        oov: TextOov = "error",
    ) -> np.ndarray:
        """matrix[i, j] = cosine(texts a[i], b[j]); NaN where a text has no known word."""
        return await self._run(
            _calls.text_similarity_matrix(self.model, a, b, pooling, pre_normalize, sif_a, oov)
        )

    async def similar_by_text(
        self,
        text: str,
        topn: int = 10,
        *,
        method: Method = "3cosadd",
        restrict_vocab: int | None = None,
        exact: bool = False,
    ) -> list[Neighbor]:
        """A text's nearest words: most_similar(positive=its known tokens)."""
        return await self._run(_calls.similar_by_text(self.model, text, topn, method, restrict_vocab, exact))

    # -- evaluation and projection ------------------------------------------------------------------

    async def evaluate(
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
        return await self._run(
            _calls.evaluate(
                self.model, benchmark, items, kind, restrict_vocab, case_insensitive, dummy4unknown
            )
        )

    async def project(
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
        return await self._run(
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

    # -- text to ids and the embedding matrix -------------------------------------------------------

    async def encode(
        self,
        texts: Sequence[str],
        output_mode: str = "int",
        *,
        max_tokens: int | None = None,
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        ragged: bool = False,
    ) -> Encoding:
        """Keras TextVectorization over the model's vocabulary: ids (0 pad, 1 [UNK], then the words
        by frequency), or multi_hot / count / tf_idf rows."""
        return await self._run(
            _calls.encode(
                self.model, texts, output_mode, max_tokens, output_sequence_length, pad_to_max_tokens, ragged
            )
        )

    async def vocabulary(
        self, offset: int = 0, limit: int = 100, *, prefix: str | None = None
    ) -> VocabularyPage:
        """A page of the words in frequency order, with their ids, ranks and counts."""
        return await self._run(_calls.vocabulary(self.model, offset, limit, prefix))

    async def embedding_matrix(
        self,
        vocabulary: Sequence[str] | None = None,
        *,
        max_tokens: int | None = None,
        normalize: bool = False,
        format: str = "npy",
    ) -> EmbeddingMatrix:
        """The matrix for a task's vocabulary (e.g. TextVectorization.get_vocabulary()), or for
        firth's own ids up to max_tokens: row i = word i's vector, "", "[UNK]" and unknown words 0."""
        return await self._run(_calls.embedding_matrix(self.model, vocabulary, max_tokens, normalize, format))
