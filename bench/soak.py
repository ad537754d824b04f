"""Mixed soak against the real `firth-serve` (2 workers on 127.0.0.1): a realistic mix of requests at a
bounded rate for minutes, counting errors and each worker's memory growth (issue 13, section 8).

    .venv/bin/python bench/soak.py --model models/glove-6b-50d [--seconds 300] [--rate 300]

The mix: vector lookups, similarity, neighbours (HNSW and exact), analogies, unknown words (404
with suggestions), /embed, /encode, the OpenAI route, a few heavy requests (3CosMul with many
terms, an evaluation, a large batch) and some bad requests (each must be a 4xx problem+json).
Requests are sent open-loop at `--rate` per second (a slow answer does not slow the sender down).

Errors, the goal being 0: a 5xx; a timeout or broken connection; an error answer that is not
problem+json (the OpenAI route: not its `{"error": ...}` shape); a status the request kind does
not expect (a known word answered 404, a bad request answered 200). A 429 is not an error (the
admission limits at work; the heavy ones may meet it) but is counted and printed.

Memory: each worker's PSS (/proc/<pid>/smaps_rollup: its private pages plus its share of the
pages it shares with the supervisor and the other worker) once the warm-up is over and at the end;
the goal is at most 5% growth. A worker that was replaced during the run is a failure too.
Pss_File is the worker's share of the library and model pages it maps, so it moves when other
processes mapping the same files (anything run from the same .venv) start or end: run nothing
else from this checkout during a soak (a 6-minute side job did so once: +9 MiB, about +4%).
Every kind is sent before the warm-up (`prime`) and the warm-up sends each a few times more (the
rarest, the evaluation, about five times in 30 s at 300/s), so first-use allocations (scipy's
import, the ok_vocab arrays, numba's compilations) are in the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from server_process import ServerProcess

PSS_GOAL = 0.05  # at most 5% growth of a worker's PSS between the warm-up and the end
PROBLEM_JSON = "application/problem+json"
Request = tuple[str, str, Any]  # method, path (with the query string), JSON body or None


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: how often (weight), how to make one, what it may answer."""

    name: str
    weight: float
    make: Callable[[random.Random], Request]
    expect: frozenset[int]


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, what went wrong)
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    late: int = 0  # requests queued more than 100 ms after their slot (the client short of CPU)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        for name, values in other.latencies.items():
            self.latencies[name].extend(values)
        self.late += other.late


def misspelled(word: str, rng: random.Random) -> str:
    """The word with one letter replaced by 'q', or a letter dropped: most such strings are unknown."""
    i = rng.randrange(len(word))
    return word[:i] + ("q" if rng.random() < 0.5 else "") + word[i + 1 :]


def mix(words: Sequence[str]) -> list[Kind]:
    """The request kinds of the soak, over the model's frequent `words` (plain lower-case ones)."""
    m = "/v1/models/default"
    ok = frozenset({200})

    def pick(rng: random.Random, n: int = 1) -> list[str]:
        return rng.sample(words, n)

    def sentence(rng: random.Random, n: int) -> str:
        return " ".join(rng.choices(words, k=n))

    def heavy_cosmul(rng: random.Random) -> Request:
        terms = pick(rng, 60)
        return "POST", f"{m}/neighbors", {"positive": terms[:30], "negative": terms[30:], "method": "3cosmul"}

    kinds = [
        Kind("vector", 14, lambda r: ("GET", f"{m}/vectors/{pick(r)[0]}", None), ok),
        Kind("vectors batch", 4, lambda r: ("POST", f"{m}/vectors", {"words": pick(r, 20)}), ok),
        Kind("similarity", 12, lambda r: ("GET", f"{m}/similarity?a={pick(r)[0]}&b={pick(r)[0]}", None), ok),
        Kind("neighbours HNSW", 18, lambda r: ("GET", f"{m}/neighbors?word={pick(r)[0]}&k=10", None), ok),
        Kind(
            "neighbours exact",
            1,
            lambda r: ("GET", f"{m}/neighbors?word={pick(r)[0]}&k=10&exact=true", None),
            ok,
        ),
        Kind(
            "analogy",
            8,
            lambda r: ("GET", "{}/analogy?a={}&b={}&c={}".format(m, *pick(r, 3)), None),
            ok,
        ),
        Kind(
            "unknown word",
            8,
            lambda r: ("GET", f"{m}/neighbors?word={misspelled(pick(r)[0], r)}&k=10", None),
            frozenset({200, 404}),  # a misspelling may be a word too
        ),
        Kind(
            "embed",
            8,
            lambda r: ("POST", f"{m}/embed", {"texts": [sentence(r, 12) for _ in range(8)]}),
            ok,
        ),
        Kind(
            "encode",
            5,
            lambda r: ("POST", f"{m}/encode", {"texts": [sentence(r, 10) for _ in range(4)]}),
            ok,
        ),
        Kind(
            "openai embeddings",
            4,
            lambda r: ("POST", "/openai/v1/embeddings", {"input": [sentence(r, 10)], "model": "default"}),
            ok,
        ),
        Kind(
            "neighbours batch 64 (heavy)",
            0.3,
            lambda r: ("POST", f"{m}/neighbors/batch", {"queries": [{"positive": [w]} for w in pick(r, 64)]}),
            frozenset({200, 429}),
        ),
        Kind("3CosMul 30+30 terms (heavy)", 0.1, heavy_cosmul, ok),
        Kind(
            "evaluate (heavy)",
            0.05,
            lambda r: ("POST", f"{m}/evaluate", {"benchmark": "wordsim353"}),
            frozenset({200, 429}),
        ),
        Kind(
            "bad: k 0",
            2,
            lambda r: ("GET", f"{m}/neighbors?word={pick(r)[0]}&k=0", None),
            frozenset({422}),
        ),
        Kind(
            "bad: unknown model", 1, lambda r: ("GET", "/v1/models/nope/vectors/the", None), frozenset({404})
        ),
        Kind("bad: malformed JSON", 1, lambda r: ("POST", f"{m}/vectors", b"{oops"), frozenset({400})),
        Kind("bad: wrong field", 1, lambda r: ("POST", f"{m}/embed", {"text": "a"}), frozenset({422})),
    ]
    return kinds


def is_error_shape(path: str, response: httpx.Response) -> bool:
    """An error answer in the shape its route promises: problem+json, or OpenAI's {"error": ...}."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    try:
        body = response.json()
    except ValueError:
        return False
    if path.startswith("/openai/"):
        return media_type == "application/json" and isinstance(body, dict) and set(body) == {"error"}
    return (
        media_type == PROBLEM_JSON and isinstance(body, dict) and body.get("status") == response.status_code
    )


async def one(client: httpx.AsyncClient, kind: Kind, request: Request, slot: float, tally: Tally) -> None:
    """Send one request and judge its answer; its latency counts from its slot in the schedule, so
    time spent waiting for a free connection counts too."""
    method, path, body = request
    try:
        if isinstance(body, bytes):
            headers = {"content-type": "application/json"}
            response = await client.request(method, path, content=body, headers=headers)
        else:
            response = await client.request(method, path, json=body)
    except httpx.TimeoutException:
        tally.errors[(kind.name, "timeout")] += 1
        return
    except httpx.TransportError as exc:
        tally.errors[(kind.name, f"connection: {type(exc).__name__}")] += 1
        return
    tally.latencies[kind.name].append(time.perf_counter() - slot)
    status = response.status_code
    tally.statuses[(kind.name, status)] += 1
    if status >= 500:
        tally.errors[(kind.name, f"{status}")] += 1
    elif status >= 400 and not is_error_shape(path, response):
        tally.errors[(kind.name, f"{status} not problem+json")] += 1
    elif status not in kind.expect and status != 429:
        tally.errors[(kind.name, f"unexpected {status}")] += 1


async def drive(
    base_url: str,
    kinds: Sequence[Kind],
    seconds: float,
    rate: float,
    tally: Tally,
    seed: int = 0,
    timeout: float = 10.0,
    connections: int = 64,
) -> None:
    """Send requests of the mix open-loop at `rate` per second for `seconds`, over `connections`
    keep-alive connections, then wait for the last answers.

    A fixed set of senders, one a connection, take the scheduled requests from a queue: httpx's
    pool slows down badly when thousands of requests wait on it at once (on a loaded machine, a
    client that started one task per request fell minutes behind and its idle connections were
    closed by the server's header timeout)."""
    rng = random.Random(seed)
    weights = [k.weight for k in kinds]
    queue: asyncio.Queue[tuple[float, Kind, Request] | None] = asyncio.Queue()
    # idle connections dropped after 4 s, before the server's 5 s keep-alive timeout: a connection
    # reused in the instant the server closes it fails without an answer (as nginx's 4 s, deploy/)
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=4.0
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def sender() -> None:
            while (item := await queue.get()) is not None:
                slot, kind, request = item
                await one(client, kind, request, slot, tally)

        senders = [asyncio.ensure_future(sender()) for _ in range(connections)]
        start = time.perf_counter()
        for i in range(int(seconds * rate)):
            slot = start + i / rate
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:
                tally.late += 1
            kind = rng.choices(kinds, weights)[0]
            queue.put_nowait((slot, kind, kind.make(rng)))
            tally.sent += 1
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)


_forked_kinds: Sequence[Kind] = ()  # the mix, inherited by the forked clients (lambdas do not pickle)


def _drive_in_process(
    base_url: str, seconds: float, rate: float, seed: int
) -> tuple[int, dict[Any, int], dict[Any, int], dict[str, list[float]], int]:
    tally = Tally()
    uvloop.run(drive(base_url, _forked_kinds, seconds, rate, tally, seed=seed))
    return tally.sent, dict(tally.statuses), dict(tally.errors), dict(tally.latencies), tally.late


def soak(
    base_url: str, kinds: Sequence[Kind], seconds: float, rate: float, clients: int, seed: int = 0
) -> Tally:
    """`clients` processes, each sending rate/clients requests a second: one Python process with
    httpx spends 1.5-2 ms of CPU a request, and on a shared machine gets a fraction of a core."""
    global _forked_kinds
    _forked_kinds = kinds
    tally = Tally()
    with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = [
            pool.submit(_drive_in_process, base_url, seconds, rate / clients, seed * 1000 + i)
            for i in range(clients)
        ]
        for part in parts:
            sent, statuses, errors, latencies, late = part.result()
            tally.add(Tally(sent, Counter(statuses), Counter(errors), defaultdict(list, latencies), late))
    return tally


def prime(base_url: str, kinds: Sequence[Kind], rounds: int, seed: int = 0) -> None:
    """Each kind a few times on every worker before the warm-up (numba's first compilations, the
    unit-norm matrix, the thread pool): the rare heavy kinds might otherwise first run mid-soak."""
    rng = random.Random(seed)

    async def all_kinds() -> None:
        limits = httpx.Limits(max_connections=rounds)
        async with httpx.AsyncClient(base_url=base_url, timeout=120.0, limits=limits) as client:
            for kind in kinds:
                await asyncio.gather(
                    *(one(client, kind, kind.make(rng), time.perf_counter(), Tally()) for _ in range(rounds))
                )

    uvloop.run(all_kinds())


def pss_kb(pid: int) -> dict[str, int]:
    """Pss, and its Pss_Anon (heap: where a leak shows) and Pss_File (pages of mapped files, the
    model's matrix among them: they grow as queries touch rows never read before) parts, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Pss", "Pss_Anon", "Pss_File"):
            fields[name] = int(value.split()[0])
    if "Pss" not in fields:
        raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")
    return fields


class PssSeries:
    """Prints each worker's PSS every `every` seconds while the soak runs: a heap that settles
    levels off, a leak keeps climbing."""

    def __init__(self, pids: Sequence[int], every: float) -> None:
        self.pids, self.every = list(pids), every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        started = time.perf_counter()
        while not self.stop.wait(self.every):
            try:
                mib = [pss_kb(pid)["Pss"] / 1024 for pid in self.pids]
            except OSError:  # a worker was replaced: the end says so
                return
            shown = ", ".join(f"{value:,.1f}" for value in mib)
            print(f"  PSS at {time.perf_counter() - started:4.0f} s: {shown} MiB", flush=True)

    def __enter__(self) -> PssSeries:
        if self.every > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


def worker_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return sorted(int(c) for c in children) or [supervisor]


def frequent_words(vocabulary: Path, n: int = 5000) -> list[str]:
    """The first n plain words of vocab.txt (frequency-ordered): letters only, safe in a URL."""
    words = []
    with vocabulary.open(encoding="utf-8") as lines:
        for line in lines:
            word = line.split(" ", 1)[0].strip()
            if word.isascii() and word.isalpha() and len(word) > 2:
                words.append(word)
                if len(words) == n:
                    break
    return words


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(tally: Tally, kinds: Sequence[Kind], elapsed: float) -> None:
    answered = sum(tally.statuses.values())
    print(
        f"sent {tally.sent:,} requests in {elapsed:.0f} s ({tally.sent / elapsed:,.0f}/s), answered {answered:,}"
    )
    if tally.late:
        print(f"  the sender fell more than 100 ms behind its schedule {tally.late:,} times (client CPU)")
    print(f"  {'kind':<30} {'answers by status':<28} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in kinds:
        statuses = {s: c for (k, s), c in sorted(tally.statuses.items()) if k == kind.name}
        shown = ", ".join(f"{s}: {c:,}" for s, c in statuses.items()) or "-"
        lat = tally.latencies.get(kind.name, [])
        p50, p99 = 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.99)
        print(f"  {kind.name:<30} {shown:<28} {p50:8.1f} {p99:8.1f}")
    busy = sum(c for (_, s), c in tally.statuses.items() if s == 429)
    print(f"429 (told to retry, not errors): {busy:,}")
    print(
        f"errors: {tally.error_count}  (5xx, timeouts, broken connections, errors not problem+json, unexpected statuses)"
    )
    for (kind_name, what), count in sorted(tally.errors.items()):
        print(f"  {kind_name}: {what} x {count}")


@dataclass(frozen=True)
class Outcome:
    tally: Tally
    pss_growth: dict[int, float]  # worker pid -> growth between the warm-up and the end (inf: replaced)

    @property
    def passed(self) -> bool:
        return self.tally.error_count == 0 and max(self.pss_growth.values()) <= PSS_GOAL


def run_soak(
    model: Path,
    seconds: float,
    rate: float,
    warmup: float,
    workers: int = 2,
    clients: int = 3,
    seed: int = 0,
    extra_kinds: Sequence[Kind] = (),
    prime_rounds: int | None = None,
    sample_every: float = 30.0,
    server_env: dict[str, str] | None = None,
) -> Outcome:
    """Start the server, prime and warm it up, soak it, and print what happened."""
    kinds = [*mix(frequent_words(model / "vocab.txt")), *extra_kinds]
    env = {"FIRTH_BUILD_HNSW": "0", "FIRTH_LOG_JSON": "0", **(server_env or {})}
    flags = ["--model", str(model.resolve()), "--workers", str(workers), "--log-level", "warning"]
    with ServerProcess(*flags, env=env, clean_env=True, ready_within=120.0) as server:
        assert server.process is not None
        supervisor = server.process.pid
        print(
            f"firth-serve --workers {workers} on {server.url} (ready in {server.seconds_to_ready:.1f} s, "
            f"index {server.readiness.get('status', '?')}); {rate:g} requests/s from {clients} client "
            f"processes, warm-up {warmup:g} s, soak {seconds:g} s; shared CPU",
            flush=True,
        )
        prime(server.url, kinds, prime_rounds or 4 * workers, seed=seed + 2)
        soak(server.url, kinds, warmup, rate, clients, seed=seed + 1)
        pids = worker_pids(supervisor)
        before = {pid: pss_kb(pid) for pid in pids}
        started = time.perf_counter()
        with PssSeries(pids, sample_every):
            tally = soak(server.url, kinds, seconds, rate, clients, seed=seed)
        elapsed = time.perf_counter() - started
        pids_after = worker_pids(supervisor)
        after = {pid: pss_kb(pid) for pid in pids_after if pid in before}
    report(tally, kinds, elapsed)
    growth: dict[int, float] = {}
    for pid in pids:
        if pid not in after:
            print(f"worker {pid}: gone during the soak (replaced by {sorted(set(pids_after) - set(pids))})")
            growth[pid] = float("inf")
            continue
        growth[pid] = (after[pid]["Pss"] - before[pid]["Pss"]) / before[pid]["Pss"]
        parts = ", ".join(
            f"{name} {before[pid].get(name, 0) / 1024:,.1f} -> {after[pid].get(name, 0) / 1024:,.1f}"
            for name in ("Pss_Anon", "Pss_File")
        )
        print(
            f"worker {pid}: PSS {before[pid]['Pss'] / 1024:,.1f} MiB after the warm-up, "
            f"{after[pid]['Pss'] / 1024:,.1f} MiB at the end ({100 * growth[pid]:+.2f}%; {parts} MiB)"
        )
    outcome = Outcome(tally, growth)
    print(
        f"{'PASS' if outcome.passed else 'FAIL'}: errors {tally.error_count} (goal 0), "
        f"largest PSS growth {100 * max(growth.values()):+.2f}% (goal <= {100 * PSS_GOAL:g}%)"
    )
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/glove-6b-50d"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the soak after the warm-up")
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument(
        "--warmup", type=float, default=None, help="seconds of the mix before the first PSS sample"
    )
    parser.add_argument("--clients", type=int, default=3, help="load-generating processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sample-every", type=float, default=30.0, help="print each worker's PSS this often (0: never)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the server (repeatable), to compare settings",
    )
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(30.0, max(3.0, args.seconds / 5))
    server_env = dict(item.split("=", 1) for item in args.server_env)
    outcome = run_soak(
        args.model,
        args.seconds,
        args.rate,
        warmup,
        args.workers,
        args.clients,
        args.seed,
        sample_every=args.sample_every,
        server_env=server_env,
    )
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
