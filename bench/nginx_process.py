"""deploy/nginx/firth.conf run by Debian's nginx as a child process of a test or a bench script: the
replica addresses, the listen port and the log directory replaced (and, when asked, the number of
replicas and the in-flight limit; nothing else); prefix, configuration, pid file, logs and temporary
files all in a temporary directory; listening on 127.0.0.1 only; always stopped.

bench/ scripts import each other by bare name; tests put bench/ on sys.path to import this."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from server_process import free_port, stop_group

REPO = Path(__file__).resolve().parent.parent
FIRTH_CONF = REPO / "deploy" / "nginx" / "firth.conf"
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin") or "/usr/sbin/nginx"

_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([A-Za-z0-9.-]+):(\d+)(\s[^;]*)?;", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*listen\s+)(\d+);", re.MULTILINE)
_IN_FLIGHT = re.compile(r"^(\s*limit_conn\s+firth_in_flight\s+)(\d+);", re.MULTILINE)
_LOG_DIR = "/var/log/nginx/"


def nginx_available() -> bool:
    return os.access(NGINX, os.X_OK)


def upstream_servers(conf: str) -> list[tuple[str, int]]:
    """(host, port) of each `server` line of the upstream block."""
    return [(m.group(2), int(m.group(3))) for m in _UPSTREAM_SERVER.finditer(conf)]


def listen_port(conf: str) -> int:
    (port,) = [int(m.group(2)) for m in _LISTEN.finditer(conf)]
    return port


def directive_seconds(conf: str, name: str) -> float:
    """A time directive's value in seconds (`keepalive_timeout 4s;`), from its one occurrence."""
    (value,) = re.findall(rf"^\s*{name}\s+(\d+)(ms|s|m)?;", conf, re.MULTILINE)
    number, unit = int(value[0]), value[1] or "s"
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


def fail_timeouts(conf: str) -> list[float]:
    """Each upstream server's fail_timeout, in seconds (nginx's default is 10 s)."""
    found = [re.search(r"fail_timeout=(\d+)s", m.group(4) or "") for m in _UPSTREAM_SERVER.finditer(conf)]
    return [float(f.group(1)) if f else 10.0 for f in found]


def in_flight_limits(conf: str) -> list[int]:
    """The number of each `limit_conn firth_in_flight N;` line."""
    return [int(m.group(2)) for m in _IN_FLIGHT.finditer(conf)]


def in_flight_per_worker() -> int:
    """One firth worker's share of the shipped file's in-flight limit: its replicas run one worker
    each (docker-compose.yml; tests/test_compose.py checks it)."""
    conf = FIRTH_CONF.read_text()
    (limit,) = set(in_flight_limits(conf))
    return limit // len(upstream_servers(conf))


def render(
    conf: str, upstreams: Sequence[int], port: int, log_dir: Path, in_flight: int | None = None
) -> str:
    """The shipped file with its first len(upstreams) replicas at 127.0.0.1:upstreams[i] (the others
    left out), listening on 127.0.0.1:port; with `in_flight`, that limit in place of the file's."""
    servers = upstream_servers(conf)
    if not 0 < len(upstreams) <= len(servers):
        raise ValueError(f"firth.conf names {len(servers)} replicas, the caller runs {len(upstreams)}")
    ports = iter(upstreams)

    def replica(m: re.Match[str]) -> str:
        upstream = next(ports, None)
        return "" if upstream is None else f"{m.group(1)}127.0.0.1:{upstream}{m.group(4) or ''};"

    conf = _UPSTREAM_SERVER.sub(replica, conf)
    if in_flight is not None:
        if not in_flight_limits(conf):
            raise ValueError("firth.conf has no `limit_conn firth_in_flight` to replace")
        conf = _IN_FLIGHT.sub(lambda m: f"{m.group(1)}{in_flight};", conf)
    conf = _LISTEN.sub(lambda m: f"{m.group(1)}127.0.0.1:{port};", conf)
    conf = conf.replace(_LOG_DIR, f"{log_dir}/")
    directives = re.sub(r"#.*", "", conf)
    if re.search(r"\s/(var|etc|run|usr)/", directives):
        raise ValueError("firth.conf names a system path the test would write to")
    return conf


def main_conf(tmp: Path, workers: int = 2) -> str:
    """What the nginx image's own nginx.conf provides around conf.d/ (`worker_processes auto`, one a
    core: 2 here), with temp files kept in tmp."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Started by root, nginx would run its workers as `nobody`, who cannot enter the test's 0700
    # temporary directory: keep them as the test's own user (without root, nginx cannot switch).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes {workers};
events {{ worker_connections 1024; }}
http {{
{temp_paths}
    access_log off;
    include {tmp}/firth.conf;
}}
"""


class NginxProcess:
    """nginx in `tmp`, or in a temporary directory of its own (removed on exit) when tmp is None."""

    def __init__(
        self,
        tmp: Path | None,
        upstreams: Sequence[int],
        in_flight: int | None = None,
        workers: int = 2,
        error_level: str = "info",
        conf: str | None = None,  # the file's text with a change to compare (a benchmark's variant)
    ) -> None:
        self._own_tmp = tempfile.TemporaryDirectory(prefix="firth-nginx-") if tmp is None else None
        tmp = Path(self._own_tmp.name) if self._own_tmp is not None else tmp
        assert tmp is not None
        self.tmp = tmp
        self.workers = workers
        # the image's is `notice`; info also logs each request shed. flush_log needs notice or finer.
        self.error_level = error_level
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp / "access.log"
        self.error_log = tmp / "error.log"
        (tmp / "firth.conf").write_text(
            render(conf or FIRTH_CONF.read_text(), upstreams, self.port, tmp, in_flight)
        )
        (tmp / "nginx.conf").write_text(main_conf(tmp, workers))
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        directives = f"daemon off; pid {self.tmp}/nginx.pid; error_log {self.error_log} {self.error_level};"
        return [
            NGINX,
            "-p",
            f"{self.tmp}/",
            "-e",
            str(self.error_log),
            "-c",
            "nginx.conf",
            "-g",
            directives,
            *extra,
        ]

    def errors(self) -> str:
        return self.error_log.read_text(errors="replace")[-4000:] if self.error_log.exists() else ""

    def flush_log(self, within: float = 10.0) -> None:
        """Has every worker write out its buffered access-log lines (firth.conf buffers them for up
        to a second): SIGUSR1 makes nginx reopen its logs, and each worker writes its buffer out as
        it does, right after logging "reopening logs" (as does the master, once)."""
        if self.process is None or self.process.poll() is not None:
            return  # stopped: nginx wrote everything out as it exited
        reopened = self.errors_logged("reopening logs")
        os.kill(self.process.pid, signal.SIGUSR1)
        deadline = time.monotonic() + within
        while self.errors_logged("reopening logs") < reopened + 1 + self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not reopen its logs in {within} s:\n{self.errors()}")
            time.sleep(0.01)
        time.sleep(0.05)  # the write follows the worker's log line

    def errors_logged(self, text: str) -> int:
        return self.error_log.read_text(errors="replace").count(text) if self.error_log.exists() else 0

    def log_entries(self) -> list[dict[str, Any]]:
        """The access log: one JSON object a request (firth.conf's `log_format firth`), every
        worker's buffer written out first."""
        self.flush_log()
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]

    def request_times(self, statuses: Sequence[int] = (200, 429)) -> str:
        """nginx's own view, from its access log: request_time percentiles by status (those it passed
        to firth, 200, and those it shed, 429). It starts once nginx has read the request, so time
        spent in the kernel's queues before that shows only in the client's figures."""
        times: dict[int, list[float]] = {status: [] for status in statuses}
        upstream: list[float] = []  # of the 200s: from nginx's connect to firth to its whole answer
        for entry in self.log_entries():
            if entry["status"] in times:
                times[entry["status"]].append(entry["request_time"] * 1e3)
            if entry["status"] == 200 and entry["upstream_response_time"]:
                # "0.004", or "0.001, 0.003" when a request was tried on a second replica
                upstream.append(sum(float(t) for t in entry["upstream_response_time"].split(",")) * 1e3)
        parts = []
        for status, ms in times.items():
            if ms:
                parts.append(f"{status}: {_percentiles(ms)}")
        if upstream:
            parts.append(f"the 200s' time in firth (upstream_response_time): {_percentiles(upstream)}")
        return "nginx's request_time by status: " + ("; ".join(parts) or "no requests logged")

    def __enter__(self) -> NginxProcess:
        check = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx is not listening on {self.port}:\n{self.errors()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        # SIGQUIT is nginx's graceful stop: the master stops its workers
        stop_group(self.process, lambda p: p.send_signal(signal.SIGQUIT), grace=10)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_tmp is not None:
            self._own_tmp.cleanup()


def _percentiles(ms: Sequence[float]) -> str:
    p50, p99 = np.percentile(ms, [50, 99])
    return f"{len(ms):,}, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(ms):.0f} ms"
