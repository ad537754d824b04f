"""What the sync and async clients hold in common: the model they ask, the retry policy, and the
options of their one httpx connection pool."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

import httpx

from firth_client._retry import RetryPolicy

__version__ = importlib.metadata.version("firth")  # the distribution the client ships in
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0  # seconds; a bundled evaluation on a 400k-word model takes a few


class ClientBase:
    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        model: str,
        api_key: str | None,
        timeout: float | httpx.Timeout | None,
        retries: int,
        backoff: float,
        backoff_cap: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.model = model  # the model every query asks; `default` is the service's first model
        self.retry_policy = RetryPolicy(retries=retries, backoff=backoff, backoff_cap=backoff_cap)
        self._http_options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": timeout,
            "headers": {
                "User-Agent": f"firth-client/{__version__}",
                "Accept": "application/json, application/problem+json",
                **(headers or {}),
            },
        }
        if api_key is not None:
            # httpx shows an Authorization header as "[secure]" in its reprs; this class's own
            # repr names only the URL and the model, so the key reaches no log or traceback.
            self._http_options["headers"]["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._http_options['base_url'])!r}, model={self.model!r})"
