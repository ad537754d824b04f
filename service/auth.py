"""Who may ask: optional API keys (`Authorization: Bearer KEY`) checked by a pure ASGI middleware.

- `FIRTH_API_KEYS` names a file of keys, one a line (blank lines and `#` comments ignored). When
  set, every request needs one of them, except the open paths: the probes, the error catalogue,
  the explorer page, its static assets and the API docs (Swagger UI, ReDoc, openapi.json).
- `FIRTH_ADMIN_KEY` names a file holding the admin key (the same format; several lines allow a
  rotation). When set, `/metrics` and `/admin/*` need it; an admin key is also good wherever an
  API key is. Without it `/admin/*` is refused (403) and `/metrics` is guarded like the API.

Keys are files, not values, so they never show in `ps`, `docker inspect` or the settings' errors.
Only their SHA-256 digests are kept, and a presented key is compared with every one of them with
`hmac.compare_digest` (equal-length digests, no early exit): the time taken does not tell how much
of a key was right, or which key matched. Nothing here logs a key, a digest or the header.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from firth_service.errors import AdminDisabled, Forbidden, MissingCredentials, WrongCredentials, problem_for
from firth_service.settings import Settings, env_name, flag_name

# RFC 6750 2.1's b64token: what a Bearer credential may hold. A line that is not one could never
# be sent as a key, so it is a mistake in the file ("name: key", quotes, a stray space).
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_KEYS_FILE_BYTES = 1024 * 1024  # a keys file is short; /dev/zero or a wrong path is not one
SCHEME_NAME = "bearerAuth"  # the OpenAPI security scheme's name

# Reachable without a key: the probes (load balancers, orchestrators), the error catalogue, and
# the explorer and API docs pages (static; the explorer's own API calls send a key).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/problems", "/", "/docs", "/redoc", "/openapi.json"})
OPEN_PREFIXES = ("/static/",)
ADMIN_PREFIX = "/admin"
METRICS_PATH = "/metrics"


class KeyFileError(Exception):
    """A keys file that cannot serve: missing, unreadable, empty or malformed (one line for the CLI)."""


def read_keys(path: Path, setting: str) -> tuple[str, ...]:
    """The keys in `path`. Errors name the setting and a line number, never the path (someone may
    have put a key where the path goes) nor a line's text."""
    where = f"{flag_name(setting)} / {env_name(setting)}"
    hint = "it names a file of keys, one a line"
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the start, a device never end
            raise KeyFileError(f"{where}: the keys file is not a regular file ({hint})")
        with path.open("rb") as handle:
            data = handle.read(MAX_KEYS_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"{where}: cannot read the keys file: {exc.strerror} ({hint})") from None
    if len(data) > MAX_KEYS_FILE_BYTES:
        raise KeyFileError(f"{where}: the keys file is larger than 1 MiB ({hint})")
    keys = []
    for number, raw in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()  # '#' is never part of a token: "KEY  # alice" is fine
        if not line:
            continue
        if not _TOKEN.fullmatch(line):
            raise KeyFileError(
                f"{where}: line {number} of the keys file is not a bearer token "
                "(letters, digits and -._~+/, then optional = padding)"
            )
        keys.append(line)
    if not keys:
        raise KeyFileError(
            f"{where}: the keys file holds no key ({hint}; blank lines and # comments ignored)"
        )
    return tuple(keys)


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


@dataclass(frozen=True)
class AccessKeys:
    """The digests of the configured keys. Empty `api`: the API is open; empty `admin`: no admin."""

    api: tuple[bytes, ...] = ()
    admin: tuple[bytes, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessKeys:
        """Read both files (KeyFileError when either cannot serve)."""
        api = read_keys(settings.api_keys, "api_keys") if settings.api_keys else ()
        admin = read_keys(settings.admin_key, "admin_key") if settings.admin_key else ()
        return cls(
            api=tuple(_digest(k.encode()) for k in api), admin=tuple(_digest(k.encode()) for k in admin)
        )

    def describe(self) -> str:
        """For the start-up log: how many keys, never which."""
        api = f"{len(self.api)} API key(s)" if self.api else "API open (no FIRTH_API_KEYS)"
        admin = "admin key set" if self.admin else "/admin refused (no FIRTH_ADMIN_KEY)"
        return f"access: {api}; {admin}"


def _matches(token: bytes, digests: tuple[bytes, ...]) -> bool:
    presented = _digest(token)
    found = False
    for digest in digests:  # every digest, always: no early exit to time
        found |= hmac.compare_digest(presented, digest)
    return found


def bearer_token(scope: Scope) -> bytes | None:
    """The credential of an `Authorization: Bearer …` header; None without one (or another scheme)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            token = token.strip()
            return token if scheme.lower() == b"bearer" and token else None
    return None


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _is_admin(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def check_access(keys: AccessKeys, path: str, token: Callable[[], bytes | None]) -> Exception | None:
    """The refusal for a request to `path`, or None to let it through. `token()` gives the
    presented key; it is read only where one is needed, then compared with every key."""
    if _is_open(path):
        return None
    admin_only = _is_admin(path) or (path == METRICS_PATH and bool(keys.admin))
    if admin_only and not keys.admin:
        return AdminDisabled()
    if not admin_only and not keys.api:
        return None
    presented = token()
    if presented is None:
        return MissingCredentials(
            "this endpoint needs the admin key" if admin_only else "this server needs an API key"
        )
    is_admin = _matches(presented, keys.admin)
    is_api = _matches(presented, keys.api)
    if is_admin or (is_api and not admin_only):
        return None
    if is_api:
        return Forbidden("an API key is not enough here: this endpoint needs the admin key")
    return WrongCredentials()


class ApiKeyAuth:
    """Answers 401/403 problem+json before the app sees a request without the key its path needs.
    Routing has not run then, so the access log and metrics label a refusal's route "unmatched"
    (never the raw path, which may hold the user's words).

    Installed inside the CORS middleware, so a browser's preflight (OPTIONS, which carries no
    credentials) is answered by CORS and a 401 still carries the CORS headers the page needs."""

    def __init__(self, app: ASGIApp, keys: AccessKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            refusal = check_access(self.keys, path, lambda: bearer_token(scope))
            if refusal is not None:
                await problem_for(refusal, path)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _security_document(keys: AccessKeys) -> Callable[[dict[str, Any]], None]:
    def declare(document: dict[str, Any]) -> None:
        """The bearer scheme, required (keys on) or optional (`{}`: anonymous allowed, keys off);
        the open operations declare none, the others their 401 answer, /admin/* its 403 too."""
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {})[SCHEME_NAME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the server's FIRTH_API_KEYS file, sent as "
            "`Authorization: Bearer KEY`. Needed only when the server has keys configured.",
        }
        document["security"] = [{SCHEME_NAME: []}] if keys.api else [{SCHEME_NAME: []}, {}]
        unauthorized = {
            "description": "Missing or invalid API key (when the server has keys configured)",
            "headers": {
                "WWW-Authenticate": {
                    "description": 'Bearer realm="firth", with error="invalid_token" for a wrong key',
                    "schema": {"type": "string"},
                }
            },
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        forbidden = {
            "description": "The admin key is needed (an API key is not enough: `forbidden`), or the "
            "server has no FIRTH_ADMIN_KEY, so the admin endpoints are off (`admin-disabled`)",
            "content": unauthorized["content"],
        }
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                if _is_open(path):
                    operation["security"] = []
                else:
                    operation.setdefault("responses", {})["401"] = unauthorized
                if _is_admin(path):
                    operation["responses"]["403"] = forbidden

    return declare


def install_access_control(app: FastAPI, settings: Settings) -> AccessKeys:
    """API keys (when configured) and the security scheme in the OpenAPI document. Call after the
    app's other middleware and before the admission cap, install_cors and the observability
    middleware, so refusals are logged and counted like any other answer."""
    keys = AccessKeys.from_settings(settings)
    app.add_middleware(ApiKeyAuth, keys=keys)  # with no keys at all it still refuses /admin/*
    declare = _security_document(keys)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare(build())  # FastAPI builds and caches the document once; declared once, in place
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
    return keys


CORS_METHODS = ("GET", "HEAD", "POST")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
CORS_EXPOSE_HEADERS = ("Retry-After", "WWW-Authenticate", "X-Request-ID", "Content-Disposition")


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Starlette's CORS middleware when origins are given. Install it outside the admission cap
    and the key check, so their 429 and 401 carry the CORS headers too: without them a browser
    hides the status (and Retry-After) from the page. The HTTP layer's own 429
    (service/http_limits.py) adds the same headers itself."""
    if not settings.cors_origins:
        return
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=600,
    )
