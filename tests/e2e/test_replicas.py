"""Replicas behind a real load balancer: three real `firth-serve` processes behind Debian's nginx
running deploy/nginx/firth.conf (the file docker-compose.yml mounts), everything on 127.0.0.1.

Under a steady load of GET and POST queries from a thread pool, one replica is killed with
SIGKILL, and then all three are restarted one after another (SIGTERM, wait for the exit, start,
wait for /readyz and for nginx to send it traffic again): not one request may fail or answer
differently. nginx's own log must show that it did meet the dead or stopping replica and retried
elsewhere, so a run in which the kill went unnoticed cannot pass.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.server_process import ServerProcess, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from nginx_process import (
    FIRTH_CONF,
    NginxProcess,
    directive_seconds,
    fail_timeouts,
    in_flight_limits,
    nginx_available,
)
from overload_bench import WrkInBackground

from firth_service.http_limits import too_busy_response

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not nginx_available(), reason="needs Debian's nginx (apt-get install nginx; .ci/run does)"
    ),
]

REPLICAS = 3
LOAD_THREADS = 6
ORIGIN = "https://explorer.example"
M = "/v1/models/tiny"

# (method, path, JSON body): GETs, which nginx retries by itself, and read-only POSTs, which it
# retries only because firth.conf says `non_idempotent` for /v1/models/.
WRK_CONNECTIONS = 4  # wrk's GET load beside the clients (issue 13 §7: "under wrk load")
REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"{M}/neighbors?word=king&k=3", None),
    ("POST", f"{M}/vectors", {"words": ["frog", "toad"]}),
    ("GET", f"{M}/similarity?a=cat&b=dog", None),
    (
        "POST",
        f"{M}/neighbors/batch",
        {"queries": [{"positive": ["queen"], "k": 2}, {"positive": ["snake"], "k": 2}]},
    ),
    ("GET", f"{M}/analogy?a=man&b=king&c=woman", None),
]


@dataclass
class Outcome:
    at: float
    method: str
    path: str
    problem: str  # "" when the answer was 200 and the expected body


@dataclass
class Load:
    """LOAD_THREADS clients, each on its own keep-alive connection to nginx, cycling through
    REQUESTS until stopped; every answer is compared with the one a replica gave directly."""

    url: str
    expected: list[Any]
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self, offset: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = offset
            while not self.stopping.is_set():
                method, path, body = REQUESTS[i % len(REQUESTS)]
                try:
                    response = client.request(method, path, json=body)
                    problem = (
                        ""
                        if response.status_code == 200 and response.json() == self.expected[i % len(REQUESTS)]
                        else f"{response.status_code} {response.text[:300]}"
                    )
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                with self.lock:
                    self.outcomes.append(Outcome(time.monotonic(), method, path, problem))
                i += 1

    def __enter__(self) -> Load:
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(LOAD_THREADS)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def count(self, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.at >= since)

    def wait_for(self, requests: int, since: float, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while self.count(since) < requests:
            assert time.monotonic() < deadline, f"only {self.count(since)} requests in {within}s"
            time.sleep(0.05)

    def failures(self) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if o.problem]


@dataclass
class Cluster:
    replicas: list[ServerProcess]
    nginx: NginxProcess
    expected: list[Any]
    fail_timeout: float

    def load(self) -> Load:
        return Load(self.nginx.url, self.expected)

    def wrk(self) -> WrkInBackground:
        """wrk's GET load through nginx, until the `with` block ends."""
        paths = [path for method, path, _ in REQUESTS if method == "GET"]
        return WrkInBackground(self.nginx.url, paths, connections=WRK_CONNECTIONS)

    def attempts(self, since_line: int) -> list[list[tuple[int, str]]]:
        """For each request nginx logged after since_line: its tries as (replica port, status)."""
        tries = []
        for entry in self.nginx.log_entries()[since_line:]:
            addrs = [a.strip() for a in entry["upstream_addr"].split(",")]
            statuses = [s.strip() for s in entry["upstream_status"].split(",")]
            tries.append([(int(a.rsplit(":", 1)[1]), s) for a, s in zip(addrs, statuses, strict=True)])
        return tries

    def wait_until_served_by(self, replica: ServerProcess, since_line: int, within: float) -> None:
        """Until nginx has answered a request from this replica (it is back in rotation)."""
        deadline = time.monotonic() + within
        while not any(tries[-1] == (replica.port, "200") for tries in self.attempts(since_line)):
            assert time.monotonic() < deadline, f"nginx sent no request to :{replica.port} in {within}s"
            time.sleep(0.1)

    def restore(self) -> None:
        """Start any replica a test left dead."""
        for replica in self.replicas:
            if replica.process is None or replica.process.poll() is not None:
                replica.__enter__()


def replica(model_dir: Path) -> ServerProcess:
    # FIRTH_DRAIN_SECONDS bounds how long a stopping replica waits for in-flight requests (issue
    # 13 section 5); the load's requests take milliseconds, so 5 s keeps a rolling restart quick.
    env = {"FIRTH_MODELS": str(model_dir), "FIRTH_BUILD_HNSW": "0", "FIRTH_DRAIN_SECONDS": "5"}
    return ServerProcess("--workers", "1", "--index", "exact", env=env)


def direct_answers(url: str) -> list[Any]:
    answers = []
    for method, path, body in REQUESTS:
        response = httpx.request(method, f"{url}{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


@pytest.fixture(scope="module")
def cluster(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    replicas = [replica(tiny_model_dir) for _ in range(REPLICAS)]
    try:
        for r in replicas:
            r.__enter__()
        tmp = tmp_path_factory.mktemp("nginx")
        with NginxProcess(tmp, [r.port for r in replicas]) as nginx:
            fail_timeout = max(fail_timeouts(FIRTH_CONF.read_text()))
            yield Cluster(replicas, nginx, direct_answers(replicas[0].url), fail_timeout)
    finally:
        for r in replicas:
            r.__exit__(None, None, None)


def assert_wrk_lost_nothing(wrk: WrkInBackground, cluster: Cluster) -> None:
    """Every request wrk sent was answered 200: no other status, no socket error, no timeout."""
    assert wrk.run is not None
    run = wrk.run
    assert run.ok > 100, run
    assert (run.busy, run.other, run.socket_errors, run.timeouts) == (0, 0, 0, 0), (
        wrk.output + cluster.nginx.errors()
    )


def failure_report(load: Load, cluster: Cluster) -> str:
    lines = [f"{o.method} {o.path}: {o.problem}" for o in load.failures()[:10]]
    return "\n".join(
        [f"{len(load.failures())} of {load.count()} requests failed:", *lines, cluster.nginx.errors()]
    )


def test_every_replica_answers_through_nginx(cluster: Cluster) -> None:
    start = len(cluster.nginx.log_entries())
    with httpx.Client(base_url=cluster.nginx.url, timeout=30) as client:
        for _ in range(3 * REPLICAS):
            for (method, path, body), expected in zip(REQUESTS, cluster.expected, strict=True):
                response = client.request(method, path, json=body)
                assert response.status_code == 200 and response.json() == expected
    served = {tries[-1][0] for tries in cluster.attempts(start)}
    assert served == {r.port for r in cluster.replicas}  # round robin reaches all three


def test_nginx_passes_firths_own_limits_and_problems_through(cluster: Cluster) -> None:
    # firth's 8 MiB body limit answers first (nginx allows 9 MiB), as firth's problem+json
    big = b'{"words": ["' + b"a" * (8 * 1024 * 1024 + 100) + b'"]}'
    response = httpx.post(
        f"{cluster.nginx.url}{M}/vectors",
        content=big,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/body-too-large"
    unknown = httpx.get(f"{cluster.nginx.url}{M}/neighbors", params={"word": "kingg"}, timeout=30)
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/unknown-word"
    # the request id nginx makes reaches firth, which returns it
    entries_before = len(cluster.nginx.log_entries())
    answer = httpx.get(f"{cluster.nginx.url}/healthz", timeout=30)
    logged = cluster.nginx.log_entries()[entries_before:]
    assert [e["request_id"] for e in logged] == [answer.headers["x-request-id"]]


def test_killing_a_replica_under_load_loses_no_request(cluster: Cluster) -> None:
    victim = cluster.replicas[1]
    assert victim.process is not None
    try:
        with cluster.load() as load, cluster.wrk() as wrk:
            load.wait_for(200, since=0.0)
            log_line = len(cluster.nginx.log_entries())
            os.kill(victim.process.pid, signal.SIGKILL)  # as an OOM kill: no chance to close anything
            victim.process.wait()
            killed = time.monotonic()
            # past fail_timeout, so nginx tries the dead replica again at least once more
            load.wait_for(300, since=killed)
            while time.monotonic() < killed + cluster.fail_timeout + 1.5:
                time.sleep(0.1)
        assert not load.failures(), failure_report(load, cluster)
        assert_wrk_lost_nothing(wrk, cluster)
        tries = cluster.attempts(log_line)
        retried = [t for t in tries if len(t) > 1]
        assert any(t[0] == (victim.port, "502") for t in retried), "nginx never met the dead replica"
        assert all(t[-1][1] == "200" and t[-1][0] != victim.port for t in retried)
    finally:
        cluster.restore()


def test_rolling_restart_under_load_loses_no_request(cluster: Cluster) -> None:
    try:
        with cluster.load() as load, cluster.wrk() as wrk:
            load.wait_for(200, since=0.0)
            log_line = len(cluster.nginx.log_entries())
            for replica in cluster.replicas:
                replica.stop()  # SIGTERM, and wait for the process to exit
                assert replica.process is not None
                # uvicorn ends by re-raising the SIGTERM it handled (-15), after a clean shutdown
                assert replica.process.returncode in (0, -signal.SIGTERM), replica.output()
                restarted_at = len(cluster.nginx.log_entries())
                replica.__enter__()  # same port; returns once /readyz answers 200
                # the next replica goes down only once nginx has taken this one back
                cluster.wait_until_served_by(replica, restarted_at, within=cluster.fail_timeout + 10)
            load.wait_for(100, since=time.monotonic())
    finally:
        cluster.restore()
    assert not load.failures(), failure_report(load, cluster)
    assert_wrk_lost_nothing(wrk, cluster)
    assert load.count() >= 500
    tries = cluster.attempts(log_line)
    assert any(len(t) > 1 for t in tries), "nginx never met a stopped replica"


def test_nginx_closes_idle_replica_connections_before_firth_does(cluster: Cluster) -> None:
    """A keep-alive connection must never be reused by nginx in the instant the replica closes it
    (that race fails a POST nginx may not retry). Measured on a real replica: how long firth keeps
    an idle connection open."""
    replica = cluster.replicas[0]
    with socket.create_connection(("127.0.0.1", replica.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: firth\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        try:
            while sock.recv(65536):
                pass
        except TimeoutError:  # still open after 30 s: longer than any nginx setting below
            pass
        firth_idle_timeout = time.monotonic() - answered
    nginx_idle_timeout = directive_seconds(FIRTH_CONF.read_text(), "keepalive_timeout")
    assert nginx_idle_timeout < firth_idle_timeout - 0.5, (nginx_idle_timeout, firth_idle_timeout)


def test_nginx_answers_problem_json_when_no_replica_answers(tmp_path: Path) -> None:
    dead = [free_port() for _ in range(REPLICAS)]  # nothing listens there
    with NginxProcess(tmp_path, dead) as nginx:
        for method, path, body in REQUESTS[:2]:
            response = httpx.request(method, f"{nginx.url}{path}", json=body, timeout=30)
            assert response.status_code == 502
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 502
        # all three were tried (each nginx worker buffers its log lines: their order is not the requests')
        tried = [len(e["upstream_addr"].split(",")) for e in nginx.log_entries()]
        assert REPLICAS in tried, tried
        big = b"x" * (10 * 1024 * 1024)
        too_big = httpx.post(f"{nginx.url}{M}/vectors", content=big, timeout=30)
        assert too_big.status_code == 413
        assert too_big.json()["type"] == "/problems/body-too-large"


def hold_requests_in_flight(port: int, count: int) -> list[socket.socket]:
    """`count` query requests nginx has read the headers of and counts as in flight: their bodies
    never finish arriving, so they hold a place without reaching any replica.

    nginx frees a request's place when it finalizes the request, which can come an instant after a
    client has read the whole answer: a held request sent in that instant meets a full limit and is
    answered 429 at once (seen 1 time in 25 on this machine). Such a one is sent again."""
    held: list[socket.socket] = []
    deadline = time.monotonic() + 10
    while len(held) < count:
        assert time.monotonic() < deadline, "nginx kept answering the held requests"
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(
            f"POST {M}/vectors HTTP/1.1\r\nHost: firth\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{".encode()
        )
        time.sleep(0.2)  # nginx has read the headers, and answered them if it refused them
        sock.setblocking(False)
        try:
            answered = sock.recv(1)
        except BlockingIOError:  # nothing: the request is held
            sock.setblocking(True)
            held.append(sock)
            continue
        sock.close()
        assert answered, "nginx closed a held request's connection"
    return held


def test_nginx_sheds_beyond_its_in_flight_limit_as_firth_does(tiny_model_dir: Path, tmp_path: Path) -> None:
    limits = in_flight_limits(FIRTH_CONF.read_text())
    assert len(limits) == 2 and len(set(limits)) == 1  # /v1/models/ and /openai/, one limit
    # firth's own 429, written by its HTTP layer, to compare nginx's with
    own_head, own_body = too_busy_response(64, 1, close=False, openai=False).split(b"\r\n\r\n", 1)
    own_problem = json.loads(own_body)
    # the file with one origin listed for nginx's own answers, as FIRTH_CORS_ORIGINS would list it
    no_origins = 'map $http_origin $firth_cors_origin {\n    default "";\n'
    conf = FIRTH_CONF.read_text().replace(no_origins, f'{no_origins}    "{ORIGIN}" $http_origin;\n')
    assert conf != FIRTH_CONF.read_text()
    with (
        replica(tiny_model_dir) as server,
        NginxProcess(tmp_path, [server.port], in_flight=2, conf=conf) as nginx,
    ):
        neighbors = f"{nginx.url}{M}/neighbors?word=king&k=3"
        assert httpx.get(neighbors, timeout=30).status_code == 200
        held = hold_requests_in_flight(nginx.port, 2)
        try:
            deadline = time.monotonic() + 10
            while (shed := httpx.get(neighbors, timeout=30)).status_code == 200:
                assert time.monotonic() < deadline, "nginx never counted the held requests"
                time.sleep(0.05)
            assert shed.status_code == 429, shed.text
            assert shed.headers["content-type"] == "application/problem+json"
            assert shed.headers["retry-after"] == "1"
            problem = shed.json()
            for name in ("type", "title", "status", "retry_after"):
                assert problem[name] == own_problem[name], name
            assert b"retry-after: 1" in own_head
            openai = httpx.post(
                f"{nginx.url}/openai/v1/embeddings", json={"model": "tiny", "input": "king"}, timeout=30
            )
            assert openai.status_code == 429 and openai.headers["retry-after"] == "1"
            assert openai.json()["error"]["code"] == "rate_limit_exceeded"
            # the CORS headers a browser needs to see the 429, for a listed origin only
            assert "access-control-allow-origin" not in shed.headers
            seen = httpx.get(neighbors, headers={"Origin": ORIGIN}, timeout=30)
            assert seen.status_code == 429
            assert seen.headers["access-control-allow-origin"] == ORIGIN
            assert "Retry-After" in seen.headers["access-control-expose-headers"]
            assert seen.headers["vary"] == "Origin"
            stranger = httpx.get(neighbors, headers={"Origin": "https://x.example"}, timeout=30)
            assert stranger.status_code == 429
            assert not {"access-control-allow-origin", "access-control-expose-headers"} & set(
                stranger.headers
            )
            # a browser's preflight is passed to a replica, not counted or shed (firth.conf's @preflight)
            for url in (neighbors, f"{nginx.url}/openai/v1/embeddings"):
                preflight = httpx.options(
                    url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}, timeout=30
                )
                assert preflight.status_code != 429, preflight.text
            # health checks, metrics and docs are never shed
            assert httpx.get(f"{nginx.url}/readyz", timeout=30).status_code == 200
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 10
        while (answer := httpx.get(neighbors, timeout=30)).status_code != 200:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.05)
        shed_entries = [e for e in nginx.log_entries() if e["status"] == 429]
        assert len(shed_entries) >= 2 and all(e["upstream_addr"] == "" for e in shed_entries)
        preflights = [e for e in nginx.log_entries() if e["method"] == "OPTIONS"]
        assert len(preflights) == 2 and all(e["upstream_addr"] for e in preflights)
