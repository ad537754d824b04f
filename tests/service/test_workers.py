"""firth-serve as real processes: a socket per worker, clean failures, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.server_process import free_port, wait_ready
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def listening_sockets(port: int) -> int:
    """LISTEN entries for the port in /proc/net/tcp (state 0A)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")


def start(model_dir: Path, port: int, workers: int) -> subprocess.Popen[str]:
    env = {**os.environ, "FIRTH_MODELS": str(model_dir), "FIRTH_INDEX": "exact", "FIRTH_LOG_JSON": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "firth_service", "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_workers_each_listen_and_stop_on_sigterm(tiny_model_dir: Path) -> None:
    port = free_port()
    process = start(tiny_model_dir, port, workers=2)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        deadline = time.monotonic() + 30
        while listening_sockets(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listening_sockets(port) == 2  # one SO_REUSEPORT socket per worker
        answers = {
            httpx.get(f"{url}/v1/models/default/neighbors", params={"word": "frog", "k": 1}).json()[
                "neighbors"
            ][0]["word"]
            for _ in range(20)
        }
        assert answers == {"toad"}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert listening_sockets(port) == 0  # no orphaned worker still holds the port
    assert process.returncode == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_model_ends_with_one_line(tmp_path: Path, workers: int) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    process = start(bad, free_port(), workers)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    errors = [line for line in stderr.splitlines() if line.startswith("firth-serve: error:")]
    assert errors and "meta.json: not valid JSON" in errors[0]
    assert "Traceback" not in stderr


def test_port_in_use_ends_with_one_line(tiny_model_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start(tiny_model_dir, port, workers=1)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in stderr and "Traceback" not in stderr


def test_one_thread_per_library_limits_openblas_to_one_thread() -> None:
    """In a fresh process (the limit is process-wide): OpenBLAS has more than one thread before,
    exactly one after, so a heavy request's matrix products run in its own low-priority thread."""
    program = (
        "import json, numpy, threadpoolctl\n"
        "from firth_service.workers import one_thread_per_library\n"
        "def blas():\n"
        "    return [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "before = blas()\n"
        "one_thread_per_library()\n"
        "print(json.dumps([before, blas()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    assert after and after == [1] * len(after)
    assert max(before) > 1 or (os.cpu_count() or 1) == 1
