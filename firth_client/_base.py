"""What the sync and async clients hold in common: their options, their one httpx connection
pool, the retry policy, and every method (each defined once, by its operation function)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx

from firth_client import _evaluation, _neighbors, _system, _texts, _vectors, _vocabulary
from firth_client._method import ClientMethod
from firth_client._retry import RetryPolicy

__version__ = importlib.metadata.version("firth")  # the distribution the client ships in
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0  # seconds; a bundled evaluation on a 400k-word model takes a few

Pool = TypeVar("Pool", httpx.Client, httpx.AsyncClient)
Transport = TypeVar("Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)


class ClientBase(Generic[Pool, Transport]):
    """A client of the firth service with gensim's method names, over one connection pool.

    Results are frozen dataclasses and numpy arrays; errors are `firth_client.errors.FirthAPIError`
    subclasses. `api_key` is sent as `Authorization: Bearer KEY` (a server with FIRTH_API_KEYS
    answers UnauthorizedError without it). Idempotent calls are retried on 429/503 with
    exponential backoff, honouring Retry-After.
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
        transport: Transport | None = None,
    ) -> None:
        self.model = model  # the model every query asks; `default` is the service's first model
        self.retry_policy = RetryPolicy(retries=retries, backoff=backoff, backoff_cap=backoff_cap)
        self._base_url = base_url
        pool_headers = {
            "User-Agent": f"firth-client/{__version__}",
            "Accept": "application/json, application/problem+json",
            **(headers or {}),
        }
        if api_key is not None:
            # httpx shows an Authorization header as "[secure]" in its reprs; this class's own
            # repr names only the URL and the model, so the key reaches no log or traceback.
            pool_headers["Authorization"] = f"Bearer {api_key}"
        self._http: Pool = self._open(
            {"base_url": base_url, "timeout": timeout, "headers": pool_headers, "transport": transport}
        )

    def _open(self, options: dict[str, Any]) -> Pool:
        """The connection pool: httpx.Client or httpx.AsyncClient."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._base_url)!r}, model={self.model!r})"

    # -- system and models ------------------------------------------------------------------------
    health = ClientMethod(_system.health)
    ready = ClientMethod(_system.ready)
    metrics = ClientMethod(_system.metrics)
    problems = ClientMethod(_system.problems)
    models = ClientMethod(_system.models)
    model_info = ClientMethod(_system.model_info)
    reload_models = ClientMethod(_system.reload_models)
    # -- vectors and similarity -------------------------------------------------------------------
    vector = ClientMethod(_vectors.vector)
    vectors = ClientMethod(_vectors.vectors)
    similarity = ClientMethod(_vectors.similarity)
    similarities = ClientMethod(_vectors.similarities)
    similarity_matrix = ClientMethod(_vectors.similarity_matrix)
    n_similarity = ClientMethod(_vectors.n_similarity)
    # -- neighbours and analogies -----------------------------------------------------------------
    similar_by_word = ClientMethod(_neighbors.similar_by_word)
    most_similar = ClientMethod(_neighbors.most_similar)
    most_similar_cosmul = ClientMethod(_neighbors.most_similar_cosmul)
    similar_by_vector = ClientMethod(_neighbors.similar_by_vector)
    most_similar_batch = ClientMethod(_neighbors.most_similar_batch)
    analogy = ClientMethod(_neighbors.analogy)
    analogies = ClientMethod(_neighbors.analogies)
    doesnt_match = ClientMethod(_neighbors.doesnt_match)
    rank_by_centrality = ClientMethod(_neighbors.rank_by_centrality)
    # -- texts ------------------------------------------------------------------------------------
    embed = ClientMethod(_texts.embed)
    classify = ClientMethod(_texts.classify)
    text_similarities = ClientMethod(_texts.text_similarities)
    text_similarity_matrix = ClientMethod(_texts.text_similarity_matrix)
    similar_by_text = ClientMethod(_texts.similar_by_text)
    # -- evaluation and projection ----------------------------------------------------------------
    evaluate = ClientMethod(_evaluation.evaluate)
    project = ClientMethod(_evaluation.project)
    # -- text to ids and the embedding matrix -----------------------------------------------------
    encode = ClientMethod(_vocabulary.encode)
    vocabulary = ClientMethod(_vocabulary.vocabulary)
    embedding_matrix = ClientMethod(_vocabulary.embedding_matrix)
