"""Where an admitted request's time goes behind nginx under the 1,024-connection flood.

    .venv/bin/python bench/behind_nginx.py [--model models/glove-6b-50d] [--seconds 10] [--rounds 2]

The flood of `bench/overload_bench.py` scenario 1b (wrk 1,000 connections and the status probe's
24 on `GET …/neighbors`, through nginx running deploy/nginx/firth.conf in front of `firth-serve`
with 2 workers), after 3 s of it to warm up, and for each round, side by side:
- the client's view by status (the probe);
- nginx's view: its request_time by status, and for the 200s its upstream_response_time (from
  sending the request to firth until it has read the whole answer);
- firth's view: its own request-duration histogram for the route (time inside the app), read from
  `/metrics` at the end of the run (one worker answers: its share of the requests);
- the kernel's view of firth's workers (`/proc/PID/schedstat`): time on a CPU and time ready to
  run but waiting in the run queue, over the round.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import httpx
from nginx_process import NginxProcess, in_flight_per_worker, nginx_available
from overload_bench import LOOKUP_WORDS, pid_of, serve, serving_pids, thousand_connections, wrk

ROUTE = "/v1/models/{model}/neighbors"
BOUNDS = ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05")  # seconds: buckets of firth's histogram


def schedstat(pids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per process: nanoseconds on a CPU, nanoseconds waiting in the run queue, timeslices."""
    found = {}
    for pid in pids:
        run, wait, slices = Path(f"/proc/{pid}/schedstat").read_text().split()
        found[pid] = (int(run), int(wait), int(slices))
    return found


def app_time_shares(base: str) -> str:
    """The share of the route's requests that took at most each bound inside firth's app."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    pattern = (
        r'firth_http_request_duration_seconds_bucket\{le="([^"]+)",method="GET",'
        rf'route="{re.escape(ROUTE)}"\}} ([0-9.e+]+)'
    )
    buckets = {bound: float(count) for bound, count in re.findall(pattern, text)}
    total = buckets.get("+Inf", 0.0)
    if not total:
        return "firth's histogram: no requests recorded"
    shares = ", ".join(f"<= {float(b) * 1e3:g} ms {buckets[b] / total:.1%}" for b in BOUNDS if b in buckets)
    return f"firth's own time in the app ({int(total):,} requests, one worker, warm-up included): {shares}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not nginx_available():
        raise SystemExit("behind_nginx: nginx is not installed")
    paths = [f"/v1/models/default/neighbors?word={w}&k=10" for w in LOOKUP_WORDS]
    with serve(args.model, 2, {"FIRTH_BUILD_HNSW": "0"}) as server:
        workers = serving_pids(pid_of(server))
        with NginxProcess(None, [server.port], 2 * in_flight_per_worker(), error_level="notice") as nginx:
            wrk(nginx.url, paths, 3, connections=1024)
            for round_ in range(1, args.rounds + 1):
                nginx.flush_log()
                nginx.access_log.write_text("")  # this round's requests only (nginx appends)
                before = schedstat(workers)
                print(f"round {round_}: 1,024 connections through nginx for {args.seconds:g} s", flush=True)
                thousand_connections(nginx.url, paths, args.seconds)
                after = schedstat(workers)
                print(f"  {nginx.request_times()}")
                for pid in workers:
                    run, wait, slices = (b - a for a, b in zip(before[pid], after[pid], strict=True))
                    print(
                        f"  firth worker {pid}: on a CPU {run / 1e9:.2f} s, ready but waiting for one "
                        f"{wait / 1e9:.2f} s, {slices:,} times woken ({wait / max(slices, 1) / 1e6:.2f} ms each)"
                    )
        print(app_time_shares(server.url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
