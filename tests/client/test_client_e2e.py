"""The client over real sockets: the real server process on the real default model, and the
README's Python example run as written."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from firth_client import AsyncFirthClient, FirthClient, ServiceUnavailableError
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
READY_WITHIN_SECONDS = 20.0

# The README section's example; the test runs the README's own block once it is there.
EXAMPLE = """
from firth_client import FirthClient
with FirthClient("http://127.0.0.1:8000") as firth:
    print(firth.most_similar(positive=["king", "woman"], negative=["man"], topn=1))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("client-server") / "server.log"
    env = {**os.environ, "FIRTH_MODELS": str(default_model_dir), "FIRTH_BUILD_HNSW": "0"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        # the client's own readiness probe, as a deployment script would use it
        with FirthClient(url, retries=0, timeout=2) as probe:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    probe.ready()
                    break
                except (httpx.TransportError, ServiceUnavailableError):
                    if time.monotonic() > deadline:
                        pytest.fail(f"not ready within {READY_WITHIN_SECONDS}s:\n{log.read_text()[-3000:]}")
                    time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    return next((b for b in blocks if "FirthClient" in b), EXAMPLE)


def test_readme_example_answers_queen(server: str) -> None:
    code = readme_example().replace("http://127.0.0.1:8000", server)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert "word='queen'" in result.stdout


def test_one_pool_many_calls_and_async_concurrency(server: str) -> None:
    local_addresses: list[object] = []

    def remember(response: httpx.Response) -> None:
        local_addresses.append(response.extensions["network_stream"].get_extra_info("client_addr"))

    with FirthClient(server) as firth:
        firth._http.event_hooks["response"] = [remember]
        answers = [firth.similarity("cat", "dog") for _ in range(20)]
    assert len(set(answers)) == 1 and answers[0] == pytest.approx(0.9218, abs=1e-4)
    assert len(local_addresses) == 20 and len(set(local_addresses)) == 1  # one kept-alive connection

    async def gather() -> list[str | None]:
        async with AsyncFirthClient(server) as firth:
            results = await asyncio.gather(
                *(firth.analogy(a, b, c, 1, exact=True) for a, b, c in [("man", "king", "woman")] * 8)
            )
        return [r.answer for r in results]

    assert asyncio.run(gather()) == ["queen"] * 8


def test_connection_refused_is_retried_then_raised() -> None:
    attempts: list[str] = []
    with FirthClient(f"http://127.0.0.1:{_free_port()}", retries=2, backoff=0.01) as firth:
        firth._http.event_hooks["request"] = [lambda request: attempts.append(request.method)]
        with pytest.raises(httpx.ConnectError):
            firth.similarity("cat", "dog")
    assert attempts == ["GET"] * 3
