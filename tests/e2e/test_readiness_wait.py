"""The one readiness wait (bench.server_process.wait_ready) that every test starting a real server
goes through: it outlasts a start slowed by a loaded machine, and it fails as soon as the server
exits, with what the server said, whether it logs to a file or to pipes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.server_process import ServerNotReady, ServerProcess, free_port, wait_ready
from tests.conftest import REPO, default_server_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STALL_SECONDS = 12.0  # longer than the 10 s the end-to-end server was once given


def stall(server: ServerProcess) -> None:
    """Stop the server's process the moment it starts and let it go on STALL_SECONDS later: a
    start starved by a loaded machine."""
    while server.process is None:
        time.sleep(0.001)
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        time.sleep(STALL_SECONDS)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


def test_the_end_to_end_server_outlasts_a_slow_start(default_model_dir: Path) -> None:
    server = default_server_process(default_model_dir)
    stalling = threading.Thread(target=stall, args=(server,))
    stalling.start()
    try:
        with server:
            assert server.seconds_to_ready > STALL_SECONDS
            assert server.readiness["status"] == "ready"
    finally:
        stalling.join()


@pytest.fixture
def bad_model(tmp_path: Path) -> Path:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    return bad


def test_a_server_that_exits_fails_the_wait_at_once_with_its_log(bad_model: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ServerNotReady, match=r"server exited with 2:\n(.|\n)*meta\.json: not valid JSON"):
        ServerProcess(env={"FIRTH_MODELS": str(bad_model)}, clean_env=True).__enter__()
    assert time.monotonic() - started < 30  # the process's end, not the 60 s limit


def test_a_server_on_pipes_fails_the_wait_with_its_stderr(bad_model: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "firth_service", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "FIRTH_MODELS": str(bad_model)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(ServerNotReady, match=r"firth-serve: error: .*meta\.json: not valid JSON"):
            wait_ready(f"http://127.0.0.1:{port}", process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
