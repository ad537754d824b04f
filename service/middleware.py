"""Pure ASGI middleware for request bodies, answered before the body is read: the size limit
(413) and the media type (415: every body this API takes is JSON)."""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import BodyTooLarge, UnsupportedMediaType, problem_for

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(media_type: bytes) -> bool:
    essence = media_type.split(b";", 1)[0].strip().lower()
    return essence == b"application/json" or essence.endswith(b"+json")


class JsonBodiesOnly:
    """A POST, PUT or PATCH whose Content-Type is not JSON (or missing) gets a 415 naming the fix.
    FastAPI would ignore such a body and answer 422 "field required", which sends users hunting
    for a missing field (curl's -d alone sends application/x-www-form-urlencoded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            media_type = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), None)
            if media_type is None or not _is_json(media_type):
                exc = UnsupportedMediaType(None if media_type is None else media_type.decode("latin-1"))
                await problem_for(exc, scope.get("path", ""))(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    response = problem_for(BodyTooLarge(self.max_bytes), scope.get("path", ""))
                    await response(scope, receive, send)
                    return
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # chunked bodies carry no content-length
                    exceeded = True
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:  # the app's own answer to a cut-off body is replaced by the 413
                await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if exceeded:
            await problem_for(BodyTooLarge(self.max_bytes), scope.get("path", ""))(scope, receive, send)
