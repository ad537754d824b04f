"""The app factory and its lifespan (no settings or models at import time)."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse

from firth_service.admission import Admission, AdmissionLimit
from firth_service.auth import install_access_control, install_cors
from firth_service.direct_routes import DirectGets
from firth_service.drain_cuts import DrainCuts
from firth_service.errors import install_error_handlers
from firth_service.middleware import BodySizeLimit
from firth_service.observability import install_observability
from firth_service.registry import ModelRegistry, load_registry, start_hnsw_builds
from firth_service.responses import FastJSONResponse
from firth_service.routes import admin, encode, openai, project, queries, system, text
from firth_service.settings import MAX_BODY_BYTES, Settings

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
EXPLORER_ASSETS = Path(__file__).parent / "static" / "explorer"
DESCRIPTION = """
Word embeddings over HTTP with gensim's semantics: vector lookup, cosine similarity, nearest
neighbours (3CosAdd / 3CosMul, exact or HNSW), analogies, doesnt-match and gensim-compatible
evaluation. `default` names the first configured model.

Errors are RFC 9457 `application/problem+json` (see `GET /problems`). Limits: k <= 1000,
batches <= 1000 items, words <= 256 characters, request bodies <= 8 MiB.

Cost budget per request (422 `/problems/over-budget` beyond it, checked before any work): at most
100 terms per query (positive + negative), 100,000 neighbours (batch x k), an answer of 16 MiB
(estimated from the request: a .npy matrix exactly, rows x dimension x 4 bytes; JSON at its longest
numbers, the tokens and words it lists, neighbours at the model's longest word);
scratch memory stays within 100 MiB by chunking the work; a request still computing after 30 s is
stopped (503 `/problems/deadline-exceeded`), and one whose client went away stops at once.

Overload: each worker takes a bounded number of requests in flight, and fewer heavy ones
(evaluate, t-SNE, batches of more than 32 queries, texts of more than 100,000 characters in all,
answers of more than 1,000,000 numbers from /encode or /embedding-matrix); beyond that the answer
is an immediate 429 `/problems/too-many-requests` with `Retry-After`.
"""
log = logging.getLogger("firth.app")


def create_app(settings: Settings | None = None, registry: ModelRegistry | None = None) -> FastAPI:
    """Build the app. Pass a registry to serve already-loaded models (tests, the CLI preflight)."""
    settings = settings or Settings()  # the FIRTH_* environment, read now

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "registry", None) is None:
            app.state.registry = await run_in_threadpool(load_registry, settings)
        if settings.index == "hnsw" and settings.build_hnsw:
            start_hnsw_builds(app.state.registry, settings)
        yield

    app = FastAPI(
        title="firth",
        version=importlib.metadata.version("firth"),  # pyproject.toml's, as installed
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        default_response_class=FastJSONResponse,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.draining = False  # set on SIGTERM (service/workers.py): /readyz answers 503
    install_error_handlers(app)
    app.add_middleware(DirectGets, fastapi_app=app)  # innermost: the hot GETs without FastAPI's router
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    install_access_control(app, settings)  # API keys, the OpenAPI security scheme
    # the in-flight cap outside the key check: both refusals cost microseconds, and a request past
    # the cap is refused before anything else runs for it (probes and /metrics are never capped)
    app.state.admission = Admission(settings.max_concurrent_requests, settings.max_concurrent_heavy)
    app.add_middleware(AdmissionLimit, admission=app.state.admission)  # before the body is read
    install_cors(app, settings)  # outside both, so a 429 or 401 carries the CORS headers a page needs
    # inside the access log, so a request cut at the drain's deadline is counted as the 503 it got
    app.add_middleware(DrainCuts, state=app.state, routes=lambda: app.routes)
    install_observability(app)  # outermost: times and counts every answer, serves /metrics
    app.include_router(system.router)
    app.include_router(queries.router)
    app.include_router(project.router)
    app.include_router(encode.router)
    app.include_router(openai.router)
    app.include_router(text.router)
    app.include_router(admin.router)
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static/explorer", StaticFiles(directory=EXPLORER_ASSETS), name="explorer-assets")

    @app.get("/", include_in_schema=False)
    async def explorer() -> FileResponse:
        return FileResponse(EXPLORER_ASSETS / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="firth — Swagger UI",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="firth — ReDoc",
            redoc_js_url="/static/docs/redoc.standalone.js",
            redoc_favicon_url="/static/docs/favicon.png",
            with_google_fonts=False,
        )

    return app
