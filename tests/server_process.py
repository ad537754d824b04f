"""The real `firth-serve` process for end-to-end tests: started on a free 127.0.0.1 port, waited
on until /readyz answers, always stopped (with its workers: it runs in its own session)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None, ready_within: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--host", "127.0.0.1", "--port", str(self.port), *args]
        self.env = {**os.environ, "FIRTH_LOG_JSON": "0", **(env or {})}
        self.ready_within = ready_within
        self.log = Path(tempfile.mkstemp(prefix="firth-test-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.seconds_to_ready = float("nan")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def __enter__(self) -> ServerProcess:
        started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", *self.args],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
                try:
                    if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > self.ready_within:
                    raise RuntimeError(f"not ready within {self.ready_within}s:\n{self.output()}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self.seconds_to_ready = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)
