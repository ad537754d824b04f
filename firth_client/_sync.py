"""FirthClient: the blocking client. It only sends: every method is ClientBase's."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, TypeVar

import httpx

from firth_client._base import ClientBase
from firth_client._calls import Call
from firth_client._retry import Attempts

T = TypeVar("T")
_sleep = time.sleep  # a module attribute, so tests can record the waits


class FirthClient(ClientBase[httpx.Client, httpx.BaseTransport]):
    __doc__ = f"{ClientBase.__doc__}\n    Use it as a context manager (or call `close()`).\n"

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(**options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FirthClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        attempts = Attempts(self.retry_policy, call)
        while (delay := attempts.wait_after(self._send(call))) is not None:
            _sleep(delay)
        return attempts.result()

    def _send(self, call: Call[Any]) -> httpx.Response | httpx.TransportError:
        try:
            return self._http.request(call.method, call.path, params=call.params, json=call.json)
        except httpx.TransportError as exc:
            return exc  # Attempts retries it or raises it
