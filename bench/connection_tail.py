"""Where the long tail at 1,024 connections came from: firth against plain uvicorn and bare uvloop.

    .venv/bin/python bench/connection_tail.py --model models/glove-6b-50d [--seconds 10]

Issue 13 §3 asks for 0 timeouts and p99 <= 50 ms with 1,024 connections. With wrk's 2 s timeout a
few hundred requests time out; with a 10 s timeout their real latencies show, up to seconds. To see
whose they are, the same load (wrk -t2 -c1024, --timeout 10s, 2 server processes on one port with
SO_REUSEPORT, all on 127.0.0.1) runs against three servers that answer every request 429 at once:

1. bare uvloop: an asyncio.Protocol writing a prebuilt 429 per request (no HTTP parser), and
   the same after 40 us of busy work per request, served by uvloop's server, which accepts one
   connection per turn of its loop (libuv >= 1.45), and then by uvloop's server beside firth's
   BurstAcceptor (service/accept.py), which accepts every waiting connection each turn: the
   seconds-long tail is the accept queue, not the cost of a request;
2. plain uvicorn (httptools, uvloop) with a three-line ASGI app answering 429;
3. firth-serve with FIRTH_MAX_CONCURRENT_REQUESTS=1, so nearly every request is shed by its HTTP
   layer (service/http_limits.py) before any app code runs;
4. and, as the remedy rather than a peer, firth-serve (default limits) behind Debian's nginx running
   deploy/nginx/firth.conf, the shipped file, which sheds in C: `limit_conn` in flight (its 8 a
   worker: 16 for this one replica of 2 workers), 429 beyond; with nginx's own request times of the requests it
   passed on and of those it shed, from its access log (skipped without nginx);
   `--only-nginx` runs this row alone, `--in-flight N` and `--nginx-workers N` vary it, and
   `--access-log-variants` runs it with the file's access log buffered, unbuffered and off;
and prints each one's rate, latency percentiles, and the kernel's TCP loss probes and
retransmissions during the run (nstat), which show segments waiting for a busy receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nginx_process import FIRTH_CONF, NginxProcess, in_flight_per_worker, nginx_available
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


def serve_bare(port: int, cost_us: float = 0.0, burst_accept: bool = False) -> None:
    """A prebuilt 429 per request, after `cost_us` microseconds of busy work per request (the CPU
    a Python HTTP stack spends on one); with `burst_accept`, firth's BurstAcceptor beside the server."""
    import uvloop

    from firth_service.accept import BurstAcceptor

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
        listener = _listening(port)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Answer, sock=listener)
        if burst_accept:
            BurstAcceptor(loop, listener, Answer)
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


def firth_serve(args: argparse.Namespace) -> ServerProcess:
    """firth-serve with its default limits, 2 workers, for the rows behind nginx."""
    return ServerProcess("--model", str(args.model), "--workers", "2", env={"FIRTH_BUILD_HNSW": "0"})


def behind_nginx(args: argparse.Namespace, paths: Sequence[str]) -> int:
    if not nginx_available():
        print("4. skipped: no nginx on PATH or in /usr/sbin")
        return 0
    with firth_serve(args) as server:
        with NginxProcess(
            None, [server.port], args.in_flight, args.nginx_workers, error_level="notice"
        ) as nginx:
            measure(
                f"4. firth-serve behind nginx running deploy/nginx/firth.conf ({args.nginx_workers} "
                f"worker(s), 1 replica, limit_conn {args.in_flight}, 429 beyond)",
                nginx.url,
                paths,
                args.seconds,
            )
            print(f"  {nginx.request_times()}", flush=True)
        measure("4'. the same firth-serve, direct, same run", server.url, paths, args.seconds)
    return 0


SHIPPED_LOG = "access_log /var/log/nginx/access.log firth buffer=64k flush=1s;"
LOG_VARIANTS = {
    "buffered (shipped)": SHIPPED_LOG,
    "unbuffered": SHIPPED_LOG.replace(" buffer=64k flush=1s", ""),
    "off": "access_log off;",
}


def access_log_variants(args: argparse.Namespace, paths: Sequence[str], rounds: int = 3) -> int:
    """Row 4 with the shipped file's access log as it is, unbuffered and off, alternated."""
    shipped = FIRTH_CONF.read_text()
    assert SHIPPED_LOG in shipped, "deploy/nginx/firth.conf's access_log line changed"
    with firth_serve(args) as server:
        for _ in range(rounds):
            for name, line in LOG_VARIANTS.items():
                conf = shipped.replace(SHIPPED_LOG, line)
                with NginxProcess(
                    None, [server.port], args.in_flight, error_level="notice", conf=conf
                ) as nginx:
                    run = wrk(nginx.url, paths, args.seconds, connections=1024, timeout=10.0)
                print(f"access log {name}: {describe(run)}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=2 * in_flight_per_worker(),
        help="nginx's limit_conn (the file's: 8 a worker)",
    )
    parser.add_argument("--nginx-workers", type=int, default=2, help="the image's `auto`: one a core")
    parser.add_argument("--only-nginx", action="store_true", help="row 4 only")
    parser.add_argument(
        "--access-log-variants",
        action="store_true",
        help="row 4 with the access log buffered, unbuffered, off",
    )
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        kind, port = args.serve
        if kind.startswith("bare"):
            cost, _, burst = kind.removeprefix("bare").partition("+")
            serve_bare(int(port), float(cost or 0), burst == "burst")
        else:
            serve_uvicorn(int(port))
        return 0
    paths = [f"/v1/models/default/neighbors?word={w}&k=10" for w in LOOKUP_WORDS]
    print("wrk -t2 -c1024 --timeout 10s, 2 server processes each; every request answered 429; shared CPU")
    if args.access_log_variants:
        return access_log_variants(args, paths)
    if args.only_nginx:
        return behind_nginx(args, paths)
    with Pair("bare") as base:
        measure("1. bare uvloop protocol", base, paths, args.seconds)
    with Pair(f"bare{BUSY_US:g}") as base:
        measure(f"1b. the same, after {BUSY_US:g} us of busy work per request", base, paths, args.seconds)
    with Pair(f"bare{BUSY_US:g}+burst") as base:
        measure("1c. the same, accepting every waiting connection each turn", base, paths, args.seconds)
    with Pair("uvicorn") as base:
        measure("2. plain uvicorn, a three-line ASGI app", base, paths, args.seconds)
    env = {"FIRTH_BUILD_HNSW": "0", "FIRTH_MAX_CONCURRENT_REQUESTS": "1"}
    with ServerProcess("--model", str(args.model), "--workers", "2", env=env) as server:
        measure("3. firth-serve, every request shed by its HTTP layer", server.url, paths, args.seconds)
    return behind_nginx(args, paths)


if __name__ == "__main__":
    sys.exit(main())
