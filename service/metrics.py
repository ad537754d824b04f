"""Prometheus metrics for one app: requests, latency, queries by index kind, and the models served.

Each app owns a `CollectorRegistry` (several apps in one test process do not collide). With
PROMETHEUS_MULTIPROC_DIR set (multi-worker uvicorn), prometheus_client keeps the values in files
in that directory and a scrape sums every worker's; without it, each process reports its own.
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from firth_service.registry import ModelRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# 0.5 ms .. 30 s: single queries answer in well under a millisecond, an evaluation in seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# The app whose request is being served; lets routes count queries without holding the request.
current_metrics: ContextVar[Metrics | None] = ContextVar("firth_metrics", default=None)


class _Answered(Protocol):
    index: str  # "exact" or "hnsw": the index that answered (engine.NeighbourResult)


class ModelInfoCollector:
    """`firth_model_info{model, sha256, index, hnsw_status, vocab_size, dim, default}` = 1, read
    from the registry at scrape time, so an HNSW index swapped in later shows up."""

    def __init__(self, source: Callable[[], ModelRegistry | None]) -> None:
        self._source = source

    def _family(self) -> InfoMetricFamily:
        return InfoMetricFamily(
            "firth_model", "Models served; index is what approximate queries use now", labels=["model"]
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        registry = self._source()
        if registry is None:  # models still loading
            yield family
            return
        for model in registry.all():
            family.add_metric(
                [model.name],
                {
                    "sha256": model.sha256,
                    "index": model.index_for(exact=False, restrict_vocab=None).kind,
                    "hnsw_status": model.hnsw_status,
                    "vocab_size": str(len(model.kv)),
                    "dim": str(model.kv.dim),
                    "default": str(model.name == registry.default_name).lower(),
                },
            )
        yield family


class WorkerRestartsCollector:
    """`firth_worker_restarts_total`: workers the supervisor replaced after they ended unasked.
    The supervisor keeps the count in memory shared with every worker, so each scrape reads the
    one current value, with or without PROMETHEUS_MULTIPROC_DIR (whose files would sum it)."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def _family(self, value: int | None) -> CounterMetricFamily:
        return CounterMetricFamily(
            "firth_worker_restarts",
            "Workers that ended without being asked (a signal, a crash, an exit) and were replaced",
            value=value,
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family(None)]

    def collect(self) -> Iterator[Metric]:
        yield self._family(self._count())


class Metrics:
    def __init__(self, source: Callable[[], ModelRegistry | None]) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.requests = Counter(
            "firth_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "firth_http_request_duration_seconds",
            "Time from request start to the last response byte, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queries = Counter(
            "firth_queries",
            "Neighbour and analogy queries by model and the index that answered (exact or hnsw)",
            ["model", "index"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "firth_rejected",
            "Requests answered 429 at once: over the cap on requests or on heavy requests in flight",
            ["limit"],
            registry=self.registry,
        )
        self.cancelled = Counter(
            "firth_cancelled",
            "Computations stopped before they finished: the client went away or the deadline passed",
            ["reason"],
            registry=self.registry,
        )
        self.heavy_in_flight = Gauge(
            "firth_heavy_in_flight",
            "Heavy requests (evaluate, t-SNE, large batches) computing now, summed over workers",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.model_info = ModelInfoCollector(source)
        self.registry.register(self.model_info)
        self.shared: list[ModelInfoCollector | WorkerRestartsCollector] = [self.model_info]
        if not self.multiprocess:  # per-process figures; meaningless summed over workers
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        # labels() takes a lock and builds a key each call; the children are cached per label set,
        # whose number is bounded (routes x methods x statuses).
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_queries(self, model: str, results: Iterable[_Answered]) -> None:
        for kind, n in Tally(r.index for r in results).items():
            self.queries.labels(model, kind).inc(n)

    def add_worker_restarts(self, count: Callable[[], int]) -> None:
        collector = WorkerRestartsCollector(count)
        self.registry.register(collector)
        self.shared.append(collector)

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        scrape = CollectorRegistry()
        MultiProcessCollector(scrape)
        for collector in self.shared:  # read at scrape time, not from the per-process files
            scrape.register(collector)
        return generate_latest(scrape)


def record_queries(model: str, results: Iterable[_Answered]) -> None:
    """Count answered neighbour/analogy queries by index kind (a no-op outside a request)."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.count_queries(model, results)


def record_rejected(limit: str) -> None:
    """Count a 429 ("requests" or "heavy"); a no-op outside a request."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.rejected.labels(limit).inc()


def record_heavy(delta: int) -> None:
    """A heavy request started (+1) or finished (-1); a no-op outside a request."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.heavy_in_flight.inc(delta)


def record_cancelled(reason: str) -> None:
    """Count a stopped computation ("disconnect" or "deadline"); a no-op outside a request."""
    metrics = current_metrics.get()
    if metrics is not None:
        metrics.cancelled.labels(reason).inc()


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def clear_multiprocess_dir() -> None:
    """Remove the previous run's value files (prometheus_client's rule: wipe the directory
    between runs), before any worker starts. A no-op without PROMETHEUS_MULTIPROC_DIR."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
