"""Replicas killed under load behind nginx: how many responses a SIGKILL breaks.

    .venv/bin/python bench/kill_under_load.py --model models/glove-6b-50d [--kills 20]

Three `firth-serve` replicas (one worker each) behind Debian's nginx running deploy/nginx/firth.conf,
on 127.0.0.1, under wrk's GET load (8 connections: neighbours and similarities). One replica after
another is killed with SIGKILL at a varying moment, restarted, and given half a second. A request
the killed replica had not started answering is retried by nginx on another replica; one whose
answer it had begun to send cannot be, and wrk sees a broken response (a socket error). Printed:
wrk's figures (every answer must be 200, socket errors are broken responses) and what nginx's
error log says it met (upstreams that closed or reset a connection, refused connections).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nginx_process import NginxProcess, in_flight_per_worker
from overload_bench import LOOKUP_WORDS, WrkInBackground, describe
from server_process import ServerProcess

REPLICAS = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--kills", type=int, default=20)
    args = parser.parse_args(argv)
    env = {"FIRTH_BUILD_HNSW": "0", "FIRTH_DRAIN_SECONDS": "5"}
    replicas = [
        ServerProcess("--model", str(args.model.resolve()), "--workers", "1", "--index", "exact", env=env)
        for _ in range(REPLICAS)
    ]
    paths = [f"/v1/models/default/neighbors?word={w}&k=10" for w in LOOKUP_WORDS]
    paths += [f"/v1/models/default/similarity?a={w}&b=king" for w in LOOKUP_WORDS]
    try:
        for replica in replicas:
            replica.__enter__()
        upstreams = [r.port for r in replicas]
        in_flight = REPLICAS * in_flight_per_worker()
        with NginxProcess(None, upstreams, in_flight, error_level="notice") as nginx:
            with WrkInBackground(nginx.url, paths, connections=8) as wrk:
                time.sleep(1.0)
                for kill in range(args.kills):
                    victim = replicas[kill % REPLICAS]
                    time.sleep(0.3 + (kill % 7) * 0.037)  # a different moment in the request cycle
                    assert victim.process is not None
                    os.kill(victim.process.pid, signal.SIGKILL)
                    victim.process.wait()
                    victim.__enter__()
                    time.sleep(0.5)
            errors = nginx.errors()
        assert wrk.run is not None
        print(f"{args.kills} SIGKILLs of a replica, one at a time, under {wrk.run.command}")
        print(f"  {describe(wrk.run)}")
        print(f"  responses broken (wrk's socket errors): {wrk.run.socket_errors}")
        met = {
            "closed a connection early": errors.count("prematurely closed"),
            "reset one": errors.count("reset by peer"),
            "refused one": errors.count("refused"),
        }
        print("  nginx's error log, replicas that: " + ", ".join(f"{k} {v}" for k, v in met.items()))
    finally:
        for replica in replicas:
            replica.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
