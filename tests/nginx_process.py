"""deploy/nginx/firth.conf run by Debian's nginx as the test's own child process: the replica
addresses, the listen port and the log directory replaced (nothing else); prefix, configuration,
pid file, logs and temporary files all in a temporary directory; listening on 127.0.0.1 only;
always stopped."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.server_process import free_port, stop_group

REPO = Path(__file__).resolve().parent.parent
FIRTH_CONF = REPO / "deploy" / "nginx" / "firth.conf"
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin") or "/usr/sbin/nginx"

_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([A-Za-z0-9.-]+):(\d+)(\s[^;]*)?;", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*listen\s+)(\d+);", re.MULTILINE)
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


def render(conf: str, upstreams: Sequence[int], port: int, log_dir: Path) -> str:
    """The shipped file with its replicas at 127.0.0.1:upstreams[i], listening on 127.0.0.1:port."""
    servers = upstream_servers(conf)
    if len(servers) != len(upstreams):
        raise ValueError(f"firth.conf names {len(servers)} replicas, the test runs {len(upstreams)}")
    ports = iter(upstreams)
    conf = _UPSTREAM_SERVER.sub(lambda m: f"{m.group(1)}127.0.0.1:{next(ports)}{m.group(4) or ''};", conf)
    conf = _LISTEN.sub(lambda m: f"{m.group(1)}127.0.0.1:{port};", conf)
    conf = conf.replace(_LOG_DIR, f"{log_dir}/")
    directives = re.sub(r"#.*", "", conf)
    if re.search(r"\s/(var|etc|run|usr)/", directives):
        raise ValueError("firth.conf names a system path the test would write to")
    return conf


def main_conf(tmp: Path) -> str:
    """What the nginx image's own nginx.conf provides around conf.d/, with temp files kept in tmp."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Started by root, nginx would run its workers as `nobody`, who cannot enter the test's 0700
    # temporary directory: keep them as the test's own user (without root, nginx cannot switch).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 2;
events {{ worker_connections 1024; }}
http {{
{temp_paths}
    access_log off;
    include {tmp}/firth.conf;
}}
"""


class NginxProcess:
    def __init__(self, tmp: Path, upstreams: Sequence[int]) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp / "access.log"
        self.error_log = tmp / "error.log"
        (tmp / "firth.conf").write_text(render(FIRTH_CONF.read_text(), upstreams, self.port, tmp))
        (tmp / "nginx.conf").write_text(main_conf(tmp))
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        directives = f"daemon off; pid {self.tmp}/nginx.pid; error_log {self.error_log} info;"
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

    def log_entries(self) -> list[dict[str, Any]]:
        """The access log: one JSON object a request (firth.conf's `log_format firth`)."""
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]

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
