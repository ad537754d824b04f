"""HTTP load from a second process: wrk with a Lua script that rotates the query words, or, when
wrk is not installed, a small asyncio + httpx generator (much slower itself; the output says which)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

NEIGHBOURS = "neighbors"
SIMILARITY = "similarity"


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    mean_latency_ms: float
    requests: int
    errors: int  # non-2xx answers plus socket errors
    tool: str


def paths_for(endpoint: str, words: Sequence[str], model: str = "default") -> list[str]:
    """The request paths a run rotates through (words must need no URL escaping)."""
    base = f"/v1/models/{model}"
    if endpoint == NEIGHBOURS:
        return [f"{base}/neighbors?word={w}&k=10" for w in words]
    n = len(words)
    return [f"{base}/similarity?a={w}&b={words[(i * 7 + 3) % n]}" for i, w in enumerate(words)]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_script(paths: Sequence[str]) -> str:
    quoted = ",\n".join(f'  "{p}"' for p in paths)
    # Each wrk thread has its own Lua state; offsetting by thread id spreads the words.
    return f"""local paths = {{
{quoted}
}}
local counter = 0
local thread_id = 0
setup = function(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
init = function(args)
  counter = thread_id * 997
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _parse_wrk(output: str) -> LoadResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\b", output)
    if rps is None or total is None or latency is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(
        float(rps.group(1)),
        float(latency.group(1)) * _UNITS[latency.group(2)],
        int(total.group(1)),
        errors,
        "wrk",
    )


def run_wrk(
    base_url: str, paths: Sequence[str], seconds: float, connections: int, threads: int
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="firth-bench-") as tmp:
        script = Path(tmp) / "rotate.lua"
        script.write_text(_lua_script(paths))
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            base_url,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return _parse_wrk(done.stdout)


async def _python_load(base_url: str, paths: Sequence[str], seconds: float, connections: int) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(paths[i % len(paths)])
                if response.status_code >= 300:
                    errors += 1
            except httpx.TransportError:
                errors += 1
            latencies.append(time.perf_counter() - started)
            i += 1

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c * 997, client) for c in range(connections)))
        elapsed = time.perf_counter() - started
    mean = 1e3 * sum(latencies) / max(len(latencies), 1)
    return LoadResult(len(latencies) / elapsed, mean, len(latencies), errors, "python asyncio+httpx")


def run_load(
    base_url: str, paths: Sequence[str], seconds: float, connections: int, threads: int = 2
) -> LoadResult:
    """wrk when installed; else the Python generator here (either way a process apart from the server)."""
    if wrk_available():
        return run_wrk(base_url, paths, seconds, connections, threads)
    return asyncio.run(_python_load(base_url, paths, seconds, connections))
