"""Start the real `firth-serve` process for a benchmark, time its cold start, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

READY_TIMEOUT = 180.0  # seconds; a cold start with the saved index takes a few


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Readiness:
    cold_start: float  # process start -> first 200 from /readyz
    body: dict[str, Any]


class ServerProcess:
    """`firth-serve --model MODEL --port P --workers N` on 127.0.0.1, in its own process group."""

    def __init__(
        self,
        model: Path,
        workers: int,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args or []
        self.extra_env = env or {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"firth-bench-server-{self.port}.log"

    def __enter__(self) -> ServerProcess:
        executable = Path(sys.executable).parent / "firth-serve"
        # A clean FIRTH_* environment: the saved index is looked up inside the model directory.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIRTH_")}
        env.update(self.extra_env)
        cmd = [
            str(executable),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--model",
            str(self.model.resolve()),
            "--log-level",
            "warning",
            *self.extra_args,
        ]
        self._log = open(self.log_path, "wb")  # closed in __exit__
        self._started = time.perf_counter()
        self._proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def wait_ready(self) -> Readiness:
        """Poll /readyz until it answers 200; the time counts from process start."""
        assert self._proc is not None
        deadline = self._started + READY_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"firth-serve exited with {self._proc.returncode}; see {self.log_path}"
                    )
                try:
                    response = client.get(f"{self.base_url}/readyz")
                except httpx.TransportError:
                    time.sleep(0.02)
                    continue
                if response.status_code == 200:
                    return Readiness(time.perf_counter() - self._started, response.json())
                time.sleep(0.02)
        raise RuntimeError(f"firth-serve not ready after {READY_TIMEOUT:.0f}s; see {self.log_path}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)  # our own process group: uvicorn and its workers
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()
