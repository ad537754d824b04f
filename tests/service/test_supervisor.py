"""The supervisor and the drain, with real processes: workers replaced whatever ends them, workers
ending with their supervisor, one instance per port, SIGHUP reloading every worker in place, and SIGTERM's
bounded drain with /readyz answering 503 meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.server_process import free_port, wait_ready
from firth_core.artifact import write_artifact
from tests.conftest import REPO, tiny_matrix, tiny_words

pytestmark = pytest.mark.slow


class Served:
    """`python -m firth_service` on a free port, JSON logs to a file; stopped (its session) at the end."""

    def __init__(
        self, model_dir: Path, *args: str, port: int | None = None, models_dir: bool = False
    ) -> None:
        """`model_dir` is the one model served, or with `models_dir` the directory of models."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="firth-test-supervisor-", suffix=".log")[1])
        where = {"FIRTH_MODELS_DIR": str(model_dir)} if models_dir else {"FIRTH_MODELS": str(model_dir)}
        env = {**os.environ, **where, "FIRTH_INDEX": "exact", "FIRTH_LOG_JSON": "1"}
        env.pop("FIRTH_MODELS" if models_dir else "FIRTH_MODELS_DIR", None)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "firth_service", "--port", str(self.port), *args],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        wait_ready(self.url, self.process, output=lambda: self.log.read_text()[-3000:])

    def workers(self) -> set[int]:
        return set(children(self.process.pid))

    def workers_handle_signals(self) -> bool:
        """Every worker has reached uvicorn's serve(), whose signal handlers drain on SIGTERM:
        before, a SIGTERM simply ends a worker that is still starting (as the supervisor sets it)."""
        text = self.log.read_text()
        return all(f"Started server process [{pid}]" in text for pid in self.workers())

    def log_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # workers outlive a killed group leader only if PDEATHSIG failed; never leave them
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.unlink(missing_ok=True)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition: object, timeout: float, step: float = 0.02) -> float:
    """Seconds until condition() held; fails after timeout."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


def restarts_counted(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith("firth_worker_restarts_total "):
            return float(line.split()[1])
    pytest.fail("firth_worker_restarts_total is not exported")


@pytest.fixture
def served(tiny_model_dir: Path) -> Iterator[Served]:
    server = Served(tiny_model_dir, "--workers", "2")
    try:
        server.wait_ready()  # one worker answered
        wait_for(lambda: len(server.workers()) == 2 and server.workers_handle_signals(), 30)
        yield server
    finally:
        server.stop()


NEIGHBORS = "/v1/models/default/neighbors"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGTERM])
def test_a_worker_that_ends_is_replaced_logged_and_counted(served: Served, how: signal.Signals) -> None:
    """SIGTERM to one worker is an exit the supervisor did not ask for (the worker drains and
    exits 0): replaced like a crash."""
    before = served.workers()
    victim = min(before)
    os.kill(victim, how)
    seconds = wait_for(lambda: victim not in served.workers() and len(served.workers()) == 2, 2.0)
    assert seconds < 2.0
    survivor = (before - {victim}).pop()
    assert alive(survivor)  # the other worker served on
    for _ in range(10):  # and every answer is right, from either worker
        response = httpx.get(f"{served.url}{NEIGHBORS}", params={"word": "frog", "k": 1}, timeout=5)
        assert response.json()["neighbors"][0]["word"] == "toad"
    wait_for(lambda: restarts_counted(served.url) == 1.0, 5)
    deaths = [
        r for r in served.log_records() if r.get("logger") == "firth.supervisor" and r.get("pid") == victim
    ]
    assert len(deaths) == 1 and deaths[0]["level"] == "ERROR"
    if how == signal.SIGTERM:
        assert deaths[0]["exit_status"] == 0 and "signal" not in deaths[0]
    else:
        assert deaths[0]["signal"] == how.name and "exit_status" not in deaths[0]


def test_workers_end_with_their_supervisor(served: Served) -> None:
    workers = served.workers()
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), 2.0)
    with pytest.raises(httpx.ConnectError):  # nothing answers on the port any more
        httpx.get(f"{served.url}/healthz", timeout=2)


def test_a_second_instance_on_a_served_port_exits_2_with_one_line(
    served: Served, tiny_model_dir: Path
) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "firth_service", "--port", str(served.port), "--workers", "2"],
        cwd=REPO,
        env={**os.environ, "FIRTH_MODELS": str(tiny_model_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"firth-serve: error: cannot listen on 127.0.0.1:{served.port} (another firth-serve is serving it)"
    )
    assert alive(served.process.pid) and len(served.workers()) == 2


def test_a_port_another_program_listens_on_is_refused(tiny_model_dir: Path) -> None:
    """The probe: a plain socket listening there (SO_REUSEPORT or not) is not joined."""
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = subprocess.run(
            [sys.executable, "-m", "firth_service", "--port", str(port), "--workers", "2"],
            cwd=REPO,
            env={**os.environ, "FIRTH_MODELS": str(tiny_model_dir)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert (
        second.stderr.strip()
        == f"firth-serve: error: cannot listen on 127.0.0.1:{port} (Address already in use)"
    )


async def steady_load(url: str, rate: float, seconds: float, connections: int = 8) -> tuple[int, list[str]]:
    """Open-loop GETs at `rate` a second over keep-alive connections: (requests, failures)."""
    failures: list[str] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=5) as client:

        async def one() -> None:
            try:
                response = await client.get(NEIGHBORS, params={"word": "frog", "k": 1})
                if response.status_code != 200:
                    failures.append(str(response.status_code))
            except httpx.HTTPError as exc:
                failures.append(type(exc).__name__)

        tasks = []
        started = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return n, failures


def test_kill_9_of_a_worker_at_300_requests_a_second_fails_under_1_percent(served: Served) -> None:
    victim = min(served.workers())

    async def run() -> tuple[int, list[str]]:
        load = asyncio.create_task(steady_load(served.url, rate=300, seconds=8))
        await asyncio.sleep(3)
        os.kill(victim, signal.SIGKILL)
        return await load

    requests, failures = asyncio.run(run())
    assert victim not in served.workers() and len(served.workers()) == 2
    assert restarts_counted(served.url) == 1.0
    assert len(failures) < 0.01 * requests, failures


def every_worker_answers(url: str, path: str) -> bool:
    """20 fresh connections in a row (SO_REUSEPORT spreads them: both workers, near certainly) 200."""
    for _ in range(20):
        with httpx.Client(base_url=url, timeout=5) as fresh:
            if fresh.get(path, params={"word": "frog", "k": 1}).status_code != 200:
                return False
    return True


def test_sighup_reloads_every_worker_in_place_and_the_supervisor_for_later_forks(tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_artifact(models / "tiny", tiny_words(), tiny_matrix(), name="tiny")
    served = Served(models, "--workers", "2", "--index", "hnsw", models_dir=True)
    try:
        served.wait_ready()
        wait_for(lambda: len(served.workers()) == 2, 30)
        before = served.workers()
        write_artifact(models / "extra", tiny_words(), tiny_matrix(), name="extra")
        assert httpx.get(f"{served.url}/v1/models/extra", timeout=5).status_code == 404

        async def run() -> tuple[int, list[str]]:
            load = asyncio.create_task(steady_load(served.url, rate=200, seconds=6))
            await asyncio.sleep(2)
            os.kill(served.process.pid, signal.SIGHUP)
            return await load

        requests, failures = asyncio.run(run())
        assert failures == [], f"{len(failures)} of {requests}: {failures[:5]}"
        wait_for(lambda: every_worker_answers(served.url, "/v1/models/extra/neighbors"), 30, step=0.2)
        assert served.workers() == before  # reloaded in place: no worker replaced
        assert restarts_counted(served.url) == 0.0
        # the supervisor reloaded in its main thread and started no HNSW build there (a thread or
        # an OpenMP team must not exist when it forks)
        assert len(list(Path(f"/proc/{served.process.pid}/task").iterdir())) == 1
        # a worker forked after the reload (a crash's replacement) starts from the new models
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in served.workers() and len(served.workers()) == 2, 5)
        wait_for(lambda: every_worker_answers(served.url, "/v1/models/extra/neighbors"), 30, step=0.2)
    finally:
        served.stop()


def test_a_sighup_during_the_start_is_a_reload_not_the_end(tmp_path: Path) -> None:
    """SIGHUP's default action ends a process: one sent while the models load (minutes for a large
    model's first start) must not. From the first log line (the address is claimed, the models
    about to load) until the server answers, SIGHUP every 20 ms; a model added just before the
    first one is served by every worker."""
    models = tmp_path / "models"
    write_artifact(models / "tiny", tiny_words(), tiny_matrix(), name="tiny")
    served = Served(models, "--workers", "2", models_dir=True)
    try:
        wait_for(lambda: "access:" in served.log.read_text(), 60, step=0.005)
        write_artifact(models / "extra", tiny_words(), tiny_matrix(), name="extra")
        deadline = time.monotonic() + 60
        while served.process.poll() is None and time.monotonic() < deadline:
            os.kill(served.process.pid, signal.SIGHUP)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.02)
        assert served.process.poll() is None, served.log.read_text()[-2000:]
        wait_for(lambda: len(served.workers()) == 2, 30)
        wait_for(lambda: every_worker_answers(served.url, "/v1/models/extra/neighbors"), 30, step=0.2)
        assert served.process.poll() is None
    finally:
        served.stop()


def slow_request(port: int, body: bytes) -> socket.socket:
    """A POST whose body is sent only in part: in flight until the rest is sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /v1/models/default/vectors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:5])
    return sock


def response_of(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_in_flight_requests_with_readyz_503(tiny_model_dir: Path, workers: str) -> None:
    server = Served(tiny_model_dir, "--workers", workers, "--drain-seconds", "10")
    try:
        server.wait_ready()
        wait_for(lambda: len(server.workers()) == int(workers), 30)
        body = b'{"words": ["frog"]}'
        in_flight = [slow_request(server.port, body) for _ in range(4)]  # on every worker, likely
        time.sleep(0.3)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        for _ in range(6):  # every worker answers 503 (new connections spread over the sockets)
            ready = httpx.get(f"{server.url}/readyz", timeout=5)
            assert ready.status_code == 503 and ready.json()["detail"] == "shutting down"
            assert ready.headers["connection"] == "close"
        time.sleep(1)
        assert server.process.poll() is None  # still draining: requests are in flight
        for sock in in_flight:
            sock.sendall(body[5:])
            answer = response_of(sock)
            sock.close()
            assert answer.startswith(b"HTTP/1.1 200 ") and b'"frog"' in answer
        assert server.process.wait(timeout=10) == 0
        assert time.monotonic() - signalled < 5  # idle, it stopped well before the drain deadline
    finally:
        server.stop()


def test_the_drain_deadline_cuts_what_still_runs_and_exits_0(tiny_model_dir: Path) -> None:
    server = Served(tiny_model_dir, "--workers", "2", "--drain-seconds", "1.5")
    try:
        server.wait_ready()
        stuck = slow_request(server.port, b'{"words": ["frog"]}')  # never completed
        time.sleep(0.3)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
        took = time.monotonic() - signalled
        assert 1.4 < took < 4.0, took  # the deadline, then a prompt exit (slack for a busy host)
        assert not stuck.recv(65536).startswith(b"HTTP/1.1 200")  # cut: closed, or a 5xx at most
        stuck.close()
    finally:
        server.stop()


@pytest.mark.parametrize("log_format", ["--log-json", "--no-log-json"])
def test_a_request_cut_by_the_drain_is_one_warning_line_and_a_503(
    tiny_model_dir: Path, log_format: str
) -> None:
    """Cut at the deadline, a request still in flight is answered 503 problem+json with Retry-After
    and Connection: close (a load balancer retries it elsewhere) and logged as one warning line,
    not as uvicorn's "Exception in ASGI application" with a CancelledError traceback."""
    server = Served(tiny_model_dir, "--workers", "1", "--drain-seconds", "1", log_format)
    try:
        server.wait_ready()
        stuck = slow_request(server.port, b'{"words": ["frog"]}')  # its body never completes
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
        answer = response_of(stuck)
        stuck.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), answer
        headers = head.lower()
        assert b"content-type: application/problem+json" in headers
        assert b"retry-after: 1" in headers and b"connection: close" in headers
        assert json.loads(body)["type"] == "/problems/shutting-down"
        text = server.log.read_text()
        assert "Traceback" not in text and "Exception in ASGI application" not in text, text
        assert "CancelledError" not in text, text
        cut = [line for line in text.splitlines() if "request cut by the drain after" in line]
        assert len(cut) == 1, text
        assert "POST /v1/models/{model}/vectors" in cut[0] and "WARNING" in cut[0], cut
    finally:
        server.stop()


def test_a_long_evaluation_cut_by_the_drain_is_answered_503(default_model_dir: Path) -> None:
    """The heavy request of the overload tests (an evaluation of tens of seconds, computing in a
    thread) is cut at the deadline the same way: the thread is told to stop, the client gets 503."""
    server = Served(default_model_dir, "--workers", "1", "--drain-seconds", "1.5")
    try:
        server.wait_ready()
        payload = json.dumps({"benchmark": "questions-words"}).encode()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(
            b"POST /v1/models/default/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        wait_for(lambda: "firth_heavy_in_flight 1.0" in httpx.get(f"{server.url}/metrics").text, 30)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
        answer = response_of(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"/problems/shutting-down" in answer, answer
        text = server.log.read_text()
        assert "Traceback" not in text and "Exception in ASGI application" not in text, text
        assert "request cut by the drain after" in text and "POST /v1/models/{model}/evaluate" in text
    finally:
        server.stop()


def test_ctrl_c_to_the_process_group_stops_cleanly(served: Served) -> None:
    """A terminal's Ctrl-C signals every process of the group: the workers leave it to the
    supervisor, which drains them once; exit 0, no traceback."""
    workers = served.workers()
    os.killpg(served.process.pid, signal.SIGINT)
    assert served.process.wait(timeout=15) == 0
    wait_for(lambda: not any(alive(pid) for pid in workers), 2.0)
    assert "Traceback" not in served.log.read_text()
    assert not [r for r in served.log_records() if r.get("logger") == "firth.supervisor" and r.get("pid")]


def test_objects_loaded_before_the_fork_are_frozen_out_of_the_collector() -> None:
    """In a fresh process: what is alive when the workers are forked leaves the cyclic GC's
    generations (so a worker's full collections neither walk it nor copy its pages)."""
    program = (
        "import gc\n"
        "from firth_service.supervisor import freeze_loaded_objects\n"
        "loaded = [{'word': i} for i in range(10000)]\n"
        "before = gc.get_freeze_count()\n"
        "freeze_loaded_objects()\n"
        "print(before, gc.get_freeze_count(), len(gc.get_objects(generation=2)))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, frozen, left_in_oldest = (int(x) for x in done.stdout.split())
    assert before == 0
    assert frozen > 10000
    assert left_in_oldest < 100
