"""Where the long tail at 1,024 connections comes from: firth against plain uvicorn and bare uvloop.

    .venv/bin/python bench/connection_tail.py --model models/glove-6b-50d [--seconds 10]

Issue 13 §3 asks for 0 timeouts and p99 <= 50 ms with 1,024 connections. With wrk's 2 s timeout a
few hundred requests time out; with a 10 s timeout their real latencies show, up to seconds. To see
whose they are, the same load (wrk -t2 -c1024, --timeout 10s, 2 server processes on one port with
SO_REUSEPORT, all on 127.0.0.1) runs against three servers that answer every request 429 at once:

1. bare uvloop: an asyncio.Protocol writing a prebuilt 429 per request (no HTTP parser), and
   the same after 40 us of busy work per request, to see whether the cost alone makes the tail;
2. plain uvicorn (httptools, uvloop) with a three-line ASGI app answering 429;
3. firth-serve with FIRTH_MAX_CONCURRENT_REQUESTS=1, so nearly every request is shed by its HTTP
   layer (service/http_limits.py) before any app code runs;
4. and, as a remedy rather than a peer, firth-serve (default limits) behind Debian's nginx with one
   worker that sheds in C: `limit_conn` of 64 requests in flight, 429 beyond (skipped without nginx);
and prints each one's rate, latency percentiles, and the kernel's TCP loss probes and
retransmissions during the run (nstat), which show segments waiting for a busy receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from overload_bench import LOOKUP_WORDS, describe, wrk
from server_process import ServerProcess, free_port

BUSY_US = 40.0  # about what firth's HTTP layer spends on a 429 (45,000 a second on 2 workers)
_429 = b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def _listening(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


def serve_bare(port: int, cost_us: float = 0.0) -> None:
    """A prebuilt 429 per request, after `cost_us` microseconds of busy work per request (the CPU
    a Python HTTP stack spends on one)."""
    import uvloop

    cost = cost_us / 1e6

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]

        def data_received(self, data: bytes) -> None:
            requests = data.count(b"\r\n\r\n")
            busy_until = time.perf_counter() + cost * requests
            while time.perf_counter() < busy_until:
                pass
            self.transport.write(_429 * requests)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Answer, sock=_listening(port))
        await server.serve_forever()

    uvloop.run(main())


def serve_uvicorn(port: int) -> None:
    import uvicorn

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 429, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]

    config = uvicorn.Config(
        app, http="httptools", loop="uvloop", log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[_listening(port)])


def wait_listening(port: int, seconds: float) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


class Pair:
    """Two processes of this script serving `kind` on one port."""

    def __init__(self, kind: str) -> None:
        self.port = free_port()
        self.processes = [
            subprocess.Popen([sys.executable, __file__, "--serve", kind, str(self.port)]) for _ in range(2)
        ]

    def __enter__(self) -> str:
        wait_listening(self.port, 30.0)
        time.sleep(0.5)  # the second process too
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
NGINX_IN_FLIGHT = 64
_NGINX_CONF = """worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  upstream firth {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  limit_conn_zone $server_name zone=in_flight:1m;
  server {{
    listen 127.0.0.1:{port};
    server_name firth;
    location / {{
      limit_conn in_flight {limit};
      limit_conn_status 429;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://firth;
    }}
  }}
}}
"""


@contextmanager
def nginx_in_front(upstream_port: int) -> Iterator[str]:
    """Debian's nginx on 127.0.0.1 in front of `upstream_port`, everything in a temporary directory."""
    assert NGINX is not None
    with tempfile.TemporaryDirectory(prefix="firth-tail-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=port, limit=NGINX_IN_FLIGHT))
        process = subprocess.Popen(
            [NGINX, "-p", tmp, "-c", str(conf), "-e", f"{tmp}/error.log", "-g", "daemon off;"]
        )
        try:
            wait_listening(port, 10.0)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGQUIT)
            process.wait(timeout=20)


def tcp_counters() -> dict[str, int]:
    """The kernel's TCP counters since the last call (nstat keeps the previous reading)."""
    if shutil.which("nstat") is None:
        return {}
    out = subprocess.run(["nstat"], capture_output=True, text=True, check=False).stdout
    wanted = ("TcpExtTCPLossProbes", "TcpRetransSegs", "TcpExtTCPTimeouts")
    return {f[0]: int(f[1]) for f in (line.split() for line in out.splitlines()) if f and f[0] in wanted}


def measure(name: str, base: str, paths: Sequence[str], seconds: float) -> None:
    tcp_counters()
    run = wrk(base, paths, seconds, connections=1024, timeout=10.0)
    counters = tcp_counters()
    print(f"{name}:\n  {describe(run)}")
    if counters:
        print("  TCP during the run: " + ", ".join(f"{k} {v:,}" for k, v in counters.items()), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        kind, port = args.serve
        if kind.startswith("bare"):
            serve_bare(int(port), float(kind.removeprefix("bare") or 0))
        else:
            serve_uvicorn(int(port))
        return 0
    paths = [f"/v1/models/default/neighbors?word={w}&k=10" for w in LOOKUP_WORDS]
    print("wrk -t2 -c1024 --timeout 10s, 2 server processes each; every request answered 429; shared CPU")
    with Pair("bare") as base:
        measure("1. bare uvloop protocol", base, paths, args.seconds)
    with Pair(f"bare{BUSY_US:g}") as base:
        measure(f"1b. the same, after {BUSY_US:g} us of busy work per request", base, paths, args.seconds)
    with Pair("uvicorn") as base:
        measure("2. plain uvicorn, a three-line ASGI app", base, paths, args.seconds)
    env = {"FIRTH_BUILD_HNSW": "0", "FIRTH_MAX_CONCURRENT_REQUESTS": "1"}
    with ServerProcess("--model", str(args.model), "--workers", "2", env=env) as server:
        measure("3. firth-serve, every request shed by its HTTP layer", server.url, paths, args.seconds)
    if NGINX is None:
        print("4. skipped: no nginx on PATH or in /usr/sbin")
        return 0
    with ServerProcess("--model", str(args.model), "--workers", "2", env={"FIRTH_BUILD_HNSW": "0"}) as server:
        with nginx_in_front(server.port) as base:
            measure(
                f"4. firth-serve behind nginx (1 worker, limit_conn {NGINX_IN_FLIGHT}, 429 beyond)",
                base,
                paths,
                args.seconds,
            )
        measure("4'. the same firth-serve, direct, same run", server.url, paths, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
