"""The real `firth-serve` process on a free 127.0.0.1 port, for the end-to-end tests and the serving
benchmark (tests import it as `bench.server_process`, the benchmark scripts as `server_process`).

It runs in its own session, so stopping its process group stops its workers too; entering waits
until /readyz answers 200 and records how long that took (the cold start); leaving always stops it.

`wait_ready` is the one readiness wait for every server a test or benchmark starts, this class's
or its own: generous (a CI machine shared with other jobs can take many seconds to start a
server), yet failing as soon as the process exits, with what it wrote.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.02  # fine enough to time a cold start of a few seconds
# How long a server may take to answer /readyz 200 before the wait gives up. Generous: under
# heavy machine load a start that takes 2 s on a quiet machine takes many times that; a server
# that fails to start is caught as soon as its process exits, not at this limit.
READY_WITHIN_SECONDS = 60.0


class ServerNotReady(RuntimeError):
    """The server exited before it was ready, or was not ready in time; the message holds its output."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _exit_output(process: subprocess.Popen[Any]) -> str:
    """What an exited process wrote to its stdout/stderr pipes ("" when they were not pipes)."""
    out, err = process.communicate(timeout=10)
    parts = [p.decode(errors="replace") if isinstance(p, bytes) else p for p in (out, err) if p]
    return "\n".join(parts)[-4000:]


def wait_ready(
    url: str,
    process: subprocess.Popen[Any],
    *,
    output: Callable[[], str] | None = None,
    within: float = READY_WITHIN_SECONDS,
    poll: float = POLL_SECONDS,
) -> dict[str, Any]:
    """Poll `url`/readyz until it answers 200 and return that body. Raise ServerNotReady with
    the server's output as soon as `process` exits, or after `within` seconds. `output` reads the
    server's log; without it, the output is what the exited process wrote to its pipes."""
    started = time.monotonic()
    with httpx.Client(timeout=1.0) as client:
        while True:
            if process.poll() is not None:
                said = output() if output is not None else _exit_output(process)
                raise ServerNotReady(f"server exited with {process.returncode}:\n{said}")
            try:
                response = client.get(f"{url}/readyz")
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body
            except httpx.TransportError:
                pass
            if time.monotonic() - started > within:
                said = output() if output is not None else "(its output is read once it exits)"
                raise ServerNotReady(f"not ready within {within:g} s:\n{said}")
            time.sleep(poll)


def stop_group(
    process: subprocess.Popen[Any] | None, ask: Callable[[subprocess.Popen[Any]], None], grace: float
) -> None:
    """Ask a process started in its own group to stop (`ask`), then SIGKILL the group after `grace` s."""
    if process is None or process.poll() is not None:
        return
    ask(process)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class ServerProcess:
    """`firth-serve --host 127.0.0.1 --port P *args` with the caller's environment plus `env`
    (without the caller's FIRTH_* variables when `clean_env`); `preexec_fn` runs in the child
    before it starts (a lower open-file limit, say)."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        clean_env: bool = False,
        ready_within: float = READY_WITHIN_SECONDS,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--host", "127.0.0.1", "--port", str(self.port), *args]
        inherited = {k: v for k, v in os.environ.items() if not (clean_env and k.startswith("FIRTH_"))}
        self.env = {**inherited, "FIRTH_LOG_JSON": "0", **(env or {})}
        self.ready_within = ready_within
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. resource.setrlimit)
        self.log = Path(tempfile.mkstemp(prefix="firth-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.seconds_to_ready = float("nan")  # process start -> first 200 from /readyz
        self.readiness: dict[str, Any] = {}  # that /readyz body

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def __enter__(self) -> ServerProcess:
        started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "firth_service", *self.args],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self.preexec_fn,
            )
        try:
            self.readiness = wait_ready(self.url, self.process, output=self.output, within=self.ready_within)
        except BaseException:
            self.stop()
            raise
        self.seconds_to_ready = time.monotonic() - started
        return self

    def stop(self) -> None:
        """SIGTERM to the server's own process group (supervisor and workers), SIGKILL after 15 s."""
        stop_group(self.process, lambda p: os.killpg(p.pid, signal.SIGTERM), grace=15)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)
