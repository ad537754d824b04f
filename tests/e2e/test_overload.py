"""Overload and bounded work against the real server process on the real default model:
the heavy-request cap answers 429 with Retry-After, an abandoned evaluation stops computing, the
deadline stops a long one, and silent or oversized requests are closed by the HTTP limits."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from bench.server_process import ServerProcess
from firth_service.http_limits import EVICT_AFTER_SECONDS, too_busy_response

pytestmark = pytest.mark.e2e
EVALUATE = "/v1/models/default/evaluate"
# questions-words over 300,000 words: tens of seconds of numba and BLAS work on this machine
LONG_EVALUATION = {"benchmark": "questions-words"}


ORIGIN = "https://explorer.example"


def start(model: Path, *flags: str) -> ServerProcess:
    env = {"FIRTH_MODELS": str(model), "FIRTH_BUILD_HNSW": "0", "FIRTH_VERIFY_CHECKSUMS": "0"}
    try:
        return ServerProcess("--workers", "1", *flags, env=env).__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def heavy_capped(default_model_dir: Path) -> Iterator[ServerProcess]:
    server = start(
        default_model_dir,
        "--max-concurrent-heavy",
        "1",
        "--max-concurrent-requests",
        "2",
        "--cors-origins",
        ORIGIN,
    )
    yield server
    server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def impatient(default_model_dir: Path) -> Iterator[ServerProcess]:
    server = start(
        default_model_dir,
        "--request-deadline-seconds",
        "0.5",
        "--header-timeout-seconds",
        "1",
        "--max-header-count",
        "20",
        "--max-connections",
        "4",
        "--body-timeout-seconds",
        "1",
    )
    yield server
    server.__exit__(None, None, None)


def metric(url: str, name: str) -> float:
    """One sample's value from /metrics (0 when it has not been recorded yet)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_for(condition: str, check: Callable[[], bool], within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"not within {within}s: {condition}")


def send_raw_post(port: int, path: str, body: Mapping[str, object]) -> socket.socket:
    payload = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    return sock


def test_heavy_cap_answers_429_and_an_abandoned_evaluation_stops(heavy_capped: ServerProcess) -> None:
    url = heavy_capped.url
    first = send_raw_post(heavy_capped.port, EVALUATE, LONG_EVALUATION)
    try:
        # the deterministic point: the first evaluation holds the worker's only heavy slot
        wait_for("the first evaluation computing", lambda: metric(url, "firth_heavy_in_flight") == 1, 30)
        started = time.monotonic()
        refused = httpx.post(f"{url}{EVALUATE}", json=LONG_EVALUATION, timeout=30)
        assert time.monotonic() - started < 1.0  # at once, not after the first one
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "/problems/too-many-requests"
        lookup = httpx.get(f"{url}/v1/models/default/neighbors", params={"word": "frog"}, timeout=30)
        assert lookup.status_code == 200  # lookups are not heavy: served beside it
        assert metric(url, 'firth_rejected_total{limit="heavy"}') == 1
        # a second request in flight (its body still on its way) fills the worker's cap of 2:
        # a lookup is now answered 429 by the HTTP layer at once, probes and /metrics still 200
        with socket.create_connection(("127.0.0.1", heavy_capped.port), timeout=10) as waiting:
            head = f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            waiting.sendall(f"{head}Content-Length: 100\r\n\r\n{{".encode())
            time.sleep(0.3)
            busy = httpx.get(f"{url}/v1/models/default/neighbors", params={"word": "frog"}, timeout=30)
            assert busy.status_code == 429, busy.text
            assert busy.headers["retry-after"] == "1"
            assert busy.json()["type"] == "/problems/too-many-requests"
            # the HTTP layer's 429 carries the CORS headers (else a browser hides it from the page)
            seen = httpx.get(f"{url}/v1/models", headers={"Origin": ORIGIN}, timeout=30)
            assert seen.status_code == 429, seen.text
            assert seen.headers["access-control-allow-origin"] == ORIGIN
            assert "Retry-After" in seen.headers["access-control-expose-headers"]
            assert "origin" in seen.headers["vary"].lower()
            stranger = httpx.get(f"{url}/v1/models", headers={"Origin": "https://x.example"}, timeout=30)
            assert stranger.status_code == 429 and "access-control-allow-origin" not in stranger.headers
            # a browser's preflight is answered, not shed: a 429 to it would fail it, and the page
            # would see a network error instead of its request's 429 and Retry-After
            preflight = httpx.options(
                f"{url}/v1/models/default/neighbors",
                headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
                timeout=30,
            )
            assert preflight.status_code == 200, preflight.text
            assert preflight.headers["access-control-allow-origin"] == ORIGIN
            # and OpenAI's error shape on its routes, which its clients retry
            openai = httpx.post(f"{url}/openai/v1/embeddings", json={"input": "cat", "model": "default"})
            assert openai.status_code == 429 and openai.headers["retry-after"] == "1"
            assert openai.headers["content-type"] == "application/json"
            assert openai.json()["error"]["code"] == "rate_limit_exceeded"
            assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
            assert metric(url, 'firth_rejected_total{limit="requests"}') == 4
    finally:
        first.close()  # the client goes away mid-evaluation
    stopped_in = wait_for(
        "the abandoned evaluation stopped",
        lambda: (
            metric(url, 'firth_cancelled_total{reason="disconnect"}') == 1
            and metric(url, "firth_heavy_in_flight") == 0
        ),
        within=5,
    )
    assert stopped_in < 5  # the whole evaluation takes tens of seconds here
    items = ["a b c d", ": s"]  # small and quick: the freed slot takes the next heavy request
    again = httpx.post(f"{url}{EVALUATE}", json={"kind": "analogies", "items": items[::-1]}, timeout=30)
    assert again.status_code == 200, again.text


def test_the_deadline_stops_a_long_evaluation(impatient: ServerProcess) -> None:
    started = time.monotonic()
    response = httpx.post(f"{impatient.url}{EVALUATE}", json=LONG_EVALUATION, timeout=60)
    took = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/deadline-exceeded"
    assert took < 5, took
    assert metric(impatient.url, 'firth_cancelled_total{reason="deadline"}') == 1


def test_a_silent_connection_is_closed_after_the_header_timeout(impatient: ServerProcess) -> None:
    for opening in (b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"):  # nothing, or headers cut short
        with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as sock:
            sock.sendall(opening)
            started = time.monotonic()
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b"/problems/request-timeout" in answer
            while sock.recv(4096):  # then the server closes the connection
                pass
            assert 0.8 < time.monotonic() - started < 5


def test_too_many_header_lines_are_answered_431(impatient: ServerProcess) -> None:
    headers = {f"X-Filler-{i}": "y" for i in range(30)}
    response = httpx.get(f"{impatient.url}/healthz", headers=headers, timeout=10)
    assert response.status_code == 431
    assert response.json()["type"] == "/problems/headers-too-large"
    assert httpx.get(f"{impatient.url}/healthz", timeout=10).status_code == 200


def test_a_connection_past_the_cap_is_answered_503_and_logged(impatient: ServerProcess) -> None:
    """The cap full of connections that cannot be evicted (each has sent its headers and is in the
    middle of its body; only a connection still without its headers makes room): the next is refused."""
    held = [socket.create_connection(("127.0.0.1", impatient.port), timeout=10) for _ in range(4)]
    for sock in held:
        sock.sendall(
            b"POST /v1/models/default/vectors HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
    time.sleep(0.3)  # the server has read their headers (its body timeout is 1 s)
    try:
        with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as extra:
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert b"/problems/too-many-connections" in answer
        assert "connection cap reached" in impatient.output()
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)  # the server sees them close
    assert httpx.get(f"{impatient.url}/healthz", timeout=10).status_code == 200


def test_at_the_cap_a_new_connection_replaces_the_slowest_one(default_model_dir: Path) -> None:
    """Slow connections cannot lock others out: at the cap, a connection that has waited
    EVICT_AFTER_SECONDS or more for its headers is closed (408) to make room for a new one, oldest first."""
    capped = start(default_model_dir, "--max-connections", "4")  # the header timeout stays 10 s
    held = [socket.create_connection(("127.0.0.1", capped.port), timeout=10) for _ in range(4)]
    try:
        held[0].sendall(b"GET /healthz HTTP/1.1\r\n")  # slow: headers begun, never finished
        time.sleep(EVICT_AFTER_SECONDS + 0.3)  # all four have waited long enough
        answer = httpx.get(f"{capped.url}/v1/models/default/neighbors?word=frog", timeout=10)
        assert answer.status_code == 200, answer.text
        evicted = held[0].recv(4096)
        assert evicted.startswith(b"HTTP/1.1 408 "), evicted
        assert b"needed the connection for another client" in evicted
        held[1].settimeout(0.3)
        with pytest.raises(TimeoutError):
            held[1].recv(4096)  # one made room; the others are still open
        assert "closed 1 connection(s) whose request headers were still incomplete" in capped.output()
        held[1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # a kept one still serves
        assert held[1].recv(4096).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()
        capped.__exit__(None, None, None)


def test_a_body_that_stops_arriving_is_closed_after_the_body_timeout(impatient: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as sock:
        head = f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n".encode() + b'{"benchmark": ')
        started = time.monotonic()
        while sock.recv(4096):  # the server closes it (nothing was answered yet)
            pass
        assert 0.8 < time.monotonic() - started < 5


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (it has a Content-Length) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(4096)
    assert len(body) == length, "more than one response arrived"
    return head + b"\r\n\r\n" + body


def test_at_the_limit_every_form_of_request_gets_the_same_429_and_the_connection_lives_on(
    default_model_dir: Path,
) -> None:
    """A whole GET in one read is answered from its bytes (http_limits' `_shed_whole_request`);
    split, pipelined or closing requests go through the parser: the answer is the same, keep-alive
    connections stay usable, an idle one is closed (silently) at the header timeout counted from its
    last request, and traffic passes again once the requests in flight end."""
    server = start(default_model_dir, "--max-concurrent-requests", "2", "--header-timeout-seconds", "1")
    lookup = b"GET /v1/models/default/neighbors?word=frog HTTP/1.1\r\nHost: x\r\n"
    busy = too_busy_response(2, 1, close=False, openai=False)
    holding: list[socket.socket] = []
    try:
        for _ in range(2):  # each sends its headers and less body than its Content-Length says
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(
                b"POST /v1/models/default/vectors HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
            )
            holding.append(sock)
        time.sleep(0.3)  # both requests are in flight, waiting for the rest of their bodies
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(lookup + b"\r\n")  # whole, as wrk sends it
            assert read_response(client) == busy
            client.sendall(lookup + b"Connection: keep-alive\r\nAccept: */*\r\n\r\n")  # as httpx does
            assert read_response(client) == busy
            client.sendall(lookup[:20])  # split across reads
            time.sleep(0.1)
            client.sendall(lookup[20:] + b"\r\n")
            assert read_response(client) == busy
            client.sendall(lookup + b"\r\n" + lookup + b"\r\n")  # pipelined
            both = b""
            while len(both) < 2 * len(busy):
                both += client.recv(4096)
            assert both == busy + busy
            openai = b"GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
            client.sendall(openai)
            assert read_response(client) == too_busy_response(2, 1, close=False, openai=True)

            # the header timeout counts from the last request, not from the connection's opening
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle:
                opened = time.monotonic()
                time.sleep(0.6)
                idle.sendall(lookup + b"\r\n")
                assert read_response(idle) == busy
                answered = time.monotonic()
                # closed without a word, as an idle keep-alive connection: a 408 sent as a client
                # sends its next request could pass for that request's answer
                assert idle.recv(4096) == b""
                assert time.monotonic() - opened > 1.3 and time.monotonic() - answered > 0.8

            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as closing:
                closing.sendall(lookup + b"Connection: close\r\n\r\n")
                answer = read_response(closing)
                assert answer == too_busy_response(2, 1, close=True, openai=False)
                assert closing.recv(4096) == b""  # closed, as asked

            assert metric(server.url, 'firth_rejected_total{limit="requests"}') == 8
            for sock in holding:
                sock.close()
            time.sleep(0.3)  # the server sees them go
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as again:
            again.sendall(lookup + b"\r\n")  # (`client` idled past the header timeout above)
            assert read_response(again).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in holding:
            sock.close()
        server.__exit__(None, None, None)
