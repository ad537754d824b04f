"""The client over real sockets: the real server process on the real default model, and the
README's Python example run as written."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import httpx
import pytest

from bench.server_process import ServerProcess, free_port
from firth_client import AsyncFirthClient, FirthClient
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

# The README section's example; the test runs the README's own block once it is there.
EXAMPLE = """
from firth_client import FirthClient
with FirthClient("http://127.0.0.1:8000") as firth:
    print(firth.most_similar(positive=["king", "woman"], negative=["man"], topn=1))
"""


@pytest.fixture(scope="module")
def server(default_server: ServerProcess) -> str:
    with FirthClient(default_server.url, retries=0, timeout=2) as probe:
        assert probe.ready()  # the client's own readiness probe, as a deployment script would use it
    return default_server.url


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
    with FirthClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01) as firth:
        firth._http.event_hooks["request"] = [lambda request: attempts.append(request.method)]
        with pytest.raises(httpx.ConnectError):
            firth.similarity("cat", "dog")
    assert attempts == ["GET"] * 3
