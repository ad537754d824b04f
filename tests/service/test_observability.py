"""/metrics, request ids and JSON access logs, on the real app in-process (and once as a real
multi-worker server process, for the logging config and multiprocess metrics)."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from bench.server_process import free_port, wait_ready
from firth_service.app import create_app
from firth_service.index import HnswSpec, build_hnsw
from firth_service.logging_setup import JsonFormatter, logging_config
from firth_service.registry import LoadedModel, ModelRegistry, load_model
from firth_service.settings import MAX_BODY_BYTES
from tests.conftest import REPO, exact_settings

pytestmark = pytest.mark.anyio
NEIGHBORS = "/v1/models/{model}/neighbors"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape_text(text: str) -> Samples:
    """Every sample as (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return scrape_text(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture(scope="module")
def models(tiny_model_dir: Path, random_model_dir: Path) -> list[LoadedModel]:
    """The tiny model (exact only) and the random one with an HNSW index built in memory, swapped
    in as the background build would."""
    settings = exact_settings()
    tiny, random = load_model(tiny_model_dir, settings), load_model(random_model_dir, settings)
    hnsw = build_hnsw(random.kv.unit, HnswSpec(16, 40), ef_search=64, progress=False)
    return [tiny, dataclasses.replace(random, hnsw=hnsw, hnsw_status="ready")]


@pytest.fixture
def app(models: list[LoadedModel]) -> FastAPI:
    """A fresh app: its own registry of models and its own metrics."""
    app = create_app(exact_settings(), ModelRegistry(models))

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)  # an unhandled error: the 500 path
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the firth loggers write while the test runs, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("firth")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)


async def test_requests_counted_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for word in ("frog", "toad"):
        assert (await client.get("/v1/models/tiny/neighbors", params={"word": word})).status_code == 200
    assert (await client.get("/v1/models/tiny/neighbors", params={"word": "frog", "k": 0})).status_code == 422
    assert (await client.get("/v1/models/tiny/vectors/zebra")).status_code == 404
    assert (await client.get("/no/such/secretpath")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 200  # a plain Starlette route
    assert (await client.get("/static/docs/swagger-ui.css")).status_code == 200  # a mount
    after = await scrape(client)

    requests = "firth_http_requests_total"
    assert delta(before, after, requests, method="GET", route=NEIGHBORS, status="200") == 2
    assert delta(before, after, requests, method="GET", route=NEIGHBORS, status="422") == 1
    vectors = "/v1/models/{model}/vectors/{word}"
    assert delta(before, after, requests, method="GET", route=vectors, status="404") == 1
    assert delta(before, after, requests, method="GET", route="unmatched", status="404") == 1
    assert delta(before, after, requests, method="GET", route="/openapi.json", status="200") == 1
    assert delta(before, after, requests, method="GET", route="/static/docs/{path}", status="200") == 1
    # The first scrape itself is counted by the second.
    assert delta(before, after, requests, method="GET", route="/metrics", status="200") == 1

    count = "firth_http_request_duration_seconds_count"
    assert delta(before, after, count, method="GET", route=NEIGHBORS) == 3
    assert value(after, "firth_http_request_duration_seconds_sum", method="GET", route=NEIGHBORS) > 0
    inf_bucket = value(
        after, "firth_http_request_duration_seconds_bucket", method="GET", route=NEIGHBORS, le="+Inf"
    )
    assert inf_bucket == value(after, count, method="GET", route=NEIGHBORS)
    # Labels hold templates, never the user's words or raw paths.
    text = (await client.get("/metrics")).text
    assert "zebra" not in text and "secretpath" not in text and "frog" not in text


async def test_a_413_is_counted_under_the_route_it_was_sent_to(client: httpx.AsyncClient) -> None:
    """The body limit answers before routing; the count still names the route's template when
    the path is one (a declared length and a chunked body), and "unmatched" when it is none."""
    vectors = "/v1/models/{model}/vectors"
    big = b'{"words": ["' + b"a" * (MAX_BODY_BYTES + 10) + b'"]}'
    json_type = {"content-type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: the limit trips mid-body
        for _ in range(9):
            yield b" " * (1024 * 1024)

    before = await scrape(client)
    assert (await client.post("/v1/models/tiny/vectors", content=big, headers=json_type)).status_code == 413
    assert (
        await client.post("/v1/models/tiny/vectors", content=chunks(), headers=json_type)
    ).status_code == 413
    assert (await client.post("/no/such/secretpath", content=big, headers=json_type)).status_code == 413
    after = await scrape(client)

    requests = "firth_http_requests_total"
    assert delta(before, after, requests, method="POST", route=vectors, status="413") == 2
    assert delta(before, after, requests, method="POST", route="unmatched", status="413") == 1
    assert "secretpath" not in (await client.get("/metrics")).text


async def test_model_info_is_read_from_the_registry_at_scrape_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    registry: ModelRegistry = app.state.registry
    tiny, random = registry.get("tiny"), registry.get("random")
    samples = await scrape(client)
    tiny_info = {
        "model": "tiny",
        "sha256": tiny.sha256,
        "index": "exact",
        "hnsw_status": "disabled",
        "vocab_size": "13",
        "dim": "3",
        "default": "true",
    }
    assert value(samples, "firth_model_info", **tiny_info) == 1
    random_info = {
        "model": "random",
        "sha256": random.sha256,
        "index": "hnsw",
        "hnsw_status": "ready",
        "vocab_size": str(len(random.kv)),
        "dim": "16",
        "default": "false",
    }
    assert value(samples, "firth_model_info", **random_info) == 1

    # A swap (an HNSW build finishing, or failing) shows up in the next scrape.
    registry.update(
        random.name, lambda current: dataclasses.replace(current, hnsw=None, hnsw_status="failed")
    )
    samples = await scrape(client)
    swapped = {**random_info, "index": "exact", "hnsw_status": "failed"}
    assert value(samples, "firth_model_info", **swapped) == 1
    assert value(samples, "firth_model_info", **random_info) == 0


async def test_queries_counted_by_the_index_that_answered(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    answered: list[str] = []
    for exact in ("true", "false", "false"):
        response = await client.get(
            "/v1/models/random/neighbors", params={"word": "w0001", "k": 5, "exact": exact}
        )
        answered.append(response.json()["index"])
    batch = {"queries": [{"positive": [w]} for w in ("w0002", "w0003", "w0004")]}
    answered += [
        r["index"]
        for r in (await client.post("/v1/models/random/neighbors/batch", json=batch)).json()["results"]
    ]
    analogy = {"a": "w0005", "b": "w0006", "c": "w0007", "exact": "true"}
    answered.append((await client.get("/v1/models/random/analogy", params=analogy)).json()["index"])
    answered.append((await client.get("/v1/models/tiny/neighbors", params={"word": "frog"})).json()["index"])
    after = await scrape(client)

    # exact=true always answers exactly; the rest went to HNSW (a short HNSW list would fall back).
    assert answered[0] == "exact" and answered[6] == "exact" and answered[7] == "exact"
    assert answered[:7].count("hnsw") >= 4
    queries = "firth_queries_total"
    assert delta(before, after, queries, model="random", index="hnsw") == answered[:7].count("hnsw")
    assert delta(before, after, queries, model="random", index="exact") == answered[:7].count("exact")
    assert delta(before, after, queries, model="tiny", index="exact") == 1
    assert delta(before, after, queries, model="tiny", index="hnsw") == 0


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = "req-42.abc:DEF_9"
    response = await client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given

    generated = set()
    for bad in (None, "has spaces", "x" * 129, "semi;colon", ""):
        headers = {"X-Request-ID": bad} if bad is not None else {}
        response = await client.get("/healthz", headers=headers)
        request_id = response.headers["x-request-id"]
        assert request_id != bad and len(request_id) == 32 and int(request_id, 16) >= 0
        generated.add(request_id)
    assert len(generated) == 5
    # Error answers carry it too.
    response = await client.get(
        "/v1/models/nope/neighbors", params={"word": "a"}, headers={"X-Request-ID": "e1"}
    )
    assert response.status_code == 404 and response.headers["x-request-id"] == "e1"


async def test_access_log_is_json_with_the_fields_and_no_user_input(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    marker = "bodymarker7731"
    body = {"words": [marker, "cat"], "oov": "skip"}
    post = await client.post("/v1/models/tiny/vectors", json=body, headers={"X-Request-ID": "post-1"})
    get = await client.get("/v1/models/tiny/similarity", params={"a": marker, "b": "cat"})
    assert post.status_code == 200 and get.status_code == 404

    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [r for r in records if r["logger"] == "firth.access"]
    assert len(access) == 2
    assert set(access[0]) == {
        "ts",
        "level",
        "logger",
        "msg",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
    }
    assert access[0]["request_id"] == "post-1" and access[1]["request_id"] == get.headers["x-request-id"]
    assert (access[0]["method"], access[0]["route"], access[0]["status"]) == (
        "POST",
        "/v1/models/{model}/vectors",
        200,
    )
    assert (access[1]["route"], access[1]["status"], access[1]["level"]) == (
        "/v1/models/{model}/similarity",
        404,
        "INFO",
    )
    assert all(r["duration_ms"] > 0 for r in access)
    assert marker not in log_lines.getvalue()


async def test_unhandled_error_is_counted_and_logged_with_the_request_id(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    before = await scrape(client)
    response = await client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"  # the caller can quote it to the operator
    assert response.headers["content-type"] == "application/problem+json"
    after = await scrape(client)
    assert delta(before, after, "firth_http_requests_total", method="GET", route="/boom", status="500") == 1

    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = next(r for r in records if r["logger"] == "firth.access" and r["route"] == "/boom")
    assert access["status"] == 500 and access["level"] == "ERROR" and access["request_id"] == "boom-1"
    # The error handler's traceback line runs outside the middleware and still carries the id.
    error = next(r for r in records if r["logger"] == "firth.errors")
    assert error["request_id"] == "boom-1" and "RuntimeError: a bug" in error["exc"]


def test_metrics_registries_are_per_app(tiny_model_dir: Path) -> None:
    """Two apps in one process: separate registries, no duplicate-metric errors."""
    settings = exact_settings()
    registry = ModelRegistry([load_model(tiny_model_dir, settings)])
    first, second = create_app(settings, registry), create_app(settings, registry)
    assert first.state.metrics.registry is not second.state.metrics.registry
    assert "/metrics" not in first.openapi()["paths"]  # for Prometheus, not API clients


@pytest.mark.slow
def test_served_process_logs_json_and_sums_workers_metrics(tmp_path: Path, tiny_model_dir: Path) -> None:
    """`python -m firth_service --workers 2` with PROMETHEUS_MULTIPROC_DIR: every stderr line is JSON
    (uvicorn's too, in both workers), and /metrics counts every worker's requests."""
    port = free_port()
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"stale")  # a previous run's file: wiped at start
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "FIRTH_MODELS_DIR": str(tiny_model_dir.parent),
        "FIRTH_MODELS": "",
        "FIRTH_INDEX": "exact",
        "FIRTH_LOG_JSON": "1",
    }
    command = [sys.executable, "-m", "firth_service", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server)
        sent = 20
        for _ in range(sent):  # a new connection each time, so both workers take some
            response = httpx.get(f"{base}/v1/models/tiny/neighbors", params={"word": "frog", "k": 2})
            assert response.status_code == 200
        response = httpx.get(f"{base}/v1/models/tiny/vectors/cat", headers={"X-Request-ID": "from-test"})
        assert response.headers["x-request-id"] == "from-test"
        samples = scrape_text(httpx.get(f"{base}/metrics").text)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)

    requests = value(samples, "firth_http_requests_total", method="GET", route=NEIGHBORS, status="200")
    assert requests == sent
    assert value(samples, "firth_queries_total", model="tiny", index="exact") == sent
    assert not (multiproc / "counter_1.db").exists()

    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    started = [r for r in records if r["logger"] == "uvicorn.error" and "Started server process" in r["msg"]]
    assert len(started) == 2
    access = [r for r in records if r["logger"] == "firth.access"]
    assert any(
        r["request_id"] == "from-test" and r["route"] == "/v1/models/{model}/vectors/{word}" for r in access
    )
    assert not any("frog" in json.dumps(r) for r in records)


def test_text_formatter_keeps_the_fields() -> None:
    """FIRTH_LOG_JSON=0: readable lines, same fields; uvicorn's access logger stays quiet."""
    config = logging_config("warning", json=False)
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    formatter = logging.config.DictConfigurator(config).configure_custom(dict(config["formatters"]["firth"]))
    record = logging.LogRecord("firth.access", logging.INFO, __file__, 1, "request", None, None)
    record.__dict__.update(route="/healthz", status=200, request_id="r1")
    line = formatter.format(record)
    assert line.endswith("INFO firth.access: request request_id=r1 route=/healthz status=200")
