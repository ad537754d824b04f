"""Requests cut by the drain's deadline: one warning line each, and a 503 a load balancer retries.

At FIRTH_DRAIN_SECONDS the worker cancels what still runs (service/workers.py). uvicorn would log
each cancellation as "Exception in ASGI application" with a CancelledError traceback and answer a
plain-text 500. Instead this middleware logs `request cut by the drain after N s: METHOD ROUTE`
(the route template: raw paths carry the user's words) and, if no answer was begun, answers 503
problem+json `/problems/shutting-down` with `Retry-After: 1` and `Connection: close` (nginx's
`proxy_next_upstream http_503` sends it to another replica). The cancellation is then re-raised,
marked, and `DropDrainCutReports` keeps uvicorn's traceback of it out of the log. An answer
already begun (a slow reader of a large one) can only be cut off: the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from time import perf_counter

from starlette.datastructures import State
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firth_service.errors import CutByDrain, problem_for
from firth_service.observability import RouteTemplates

log = logging.getLogger("firth.drain")
CUT_NOTE = "firth: cut by the drain (logged)"  # marks a cancellation this middleware has reported


class DrainCuts:
    def __init__(self, app: ASGIApp, state: State, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self.state = state  # the app's: `draining` is set when the worker is told to stop
        self.route_template = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        answering = False

        async def watched_send(message: Message) -> None:
            nonlocal answering
            if message["type"] == "http.response.start":
                answering = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except asyncio.CancelledError as cancelled:
            if not self.state.draining:
                raise
            seconds = perf_counter() - started
            log.warning(
                "request cut by the drain after %.1f s: %s %s",
                seconds,
                scope["method"],
                self.route_template(scope, match_path=True),
            )
            if not answering:
                await problem_for(CutByDrain(seconds), scope.get("path", ""))(scope, receive, send)
            cancelled.add_note(CUT_NOTE)
            raise


class DropDrainCutReports(logging.Filter):
    """For uvicorn's logger: drop its "Exception in ASGI application" report of a cancellation
    DrainCuts has already logged as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, asyncio.CancelledError) and CUT_NOTE in getattr(exc, "__notes__", ()))
