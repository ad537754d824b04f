"""AsyncFirthClient: the asyncio/trio client. It only sends: every method is ClientBase's,
awaited."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from firth_client._base import ClientBase
from firth_client._calls import Call
from firth_client._retry import Attempts

T = TypeVar("T")
_sleep = anyio.sleep  # a module attribute, so tests can record the waits


class AsyncFirthClient(ClientBase[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    __doc__ = f"{ClientBase.__doc__}\n    Use it as an async context manager (or call `aclose()`).\n"

    def _open(self, options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFirthClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        attempts = Attempts(self.retry_policy, call)
        while (delay := attempts.wait_after(await self._send(call))) is not None:
            await _sleep(delay)
        return attempts.result()

    async def _send(self, call: Call[Any]) -> httpx.Response | httpx.TransportError:
        try:
            return await self._http.request(call.method, call.path, params=call.params, json=call.json)
        except httpx.TransportError as exc:
            return exc  # Attempts retries it or raises it
