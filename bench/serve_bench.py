"""Serving benchmark: firth beside gensim 4.4.0 on the same vectors, in one run.

    .venv/bin/python bench/serve_bench.py --model models/glove-6b-50d [--quick]

Sections (each one fixed table: firth, peer, ratio): in-process neighbour latency (exact and
HNSW, single and batched), recall@10 of HNSW against exact on frequent and on uniformly drawn words
(with --recall-curve: recall and queries/s for several efSearch settings), the questions-words analogy
evaluation (time and accuracy, which must be identical), cold start, and HTTP requests/s of the
real `firth-serve` process under wrk (8 connections, 127.0.0.1). The CPU is shared: absolute
figures drift between runs; the ratios, measured in the same run, are what to quote.

    .venv/bin/python bench/serve_bench.py --spelling [--connections 32]

runs only the spelling section: a suggestion lookup (the symmetric-delete index, firth_core/
spelling.py) against difflib (what firth used before) on the same misspellings, and HTTP
requests/s of `GET …/neighbors` for misspelled words (each a 404 with suggestions) against known
words, on the same server in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gensim
import httpx
import numpy as np
from gensim.models import KeyedVectors as GensimKeyedVectors
from loadgen import NEIGHBOURS, SIMILARITY, LoadResult, paths_for, run_load, wrk_available
from server_process import ServerProcess
from threadpoolctl import threadpool_limits

from firth_core.evaluation import BENCHMARKS, evaluate_benchmark
from firth_core.keyed_vectors import SUGGESTION_WORDS, KeyedVectors
from firth_service import engine
from firth_service.engine import NeighbourQuery
from firth_service.registry import LoadedModel, load_model, obtain_hnsw
from firth_service.settings import Settings, one_per_cpu

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
QUESTIONS_WORDS = BENCHMARKS["questions-words"][1]
K = 10
FREQUENT = 30_000  # query words come from the most frequent rows, as real traffic does
# Reference figures not re-measured here (../shared/bench/README.md, same kind of machine).
FLASK_GENSIM_NEIGHBOURS_RPS = 44.0
FLASK_GENSIM_SIMILARITY_RPS = 1071.0
# gensim runs with single-threaded BLAS: its fastest setting for one-vector queries on a shared
# 2-core machine (measured here: 0.44 vs 2.04 ms a most_similar at restrict_vocab=30000). The peer
# gets its best configuration; firth keeps the default threads.
GENSIM_BLAS_THREADS = 1


def gensim_threads() -> threadpool_limits:
    return threadpool_limits(limits=GENSIM_BLAS_THREADS, user_api="blas")


# -- output ----------------------------------------------------------------------------------


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{line}")
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    print(line)
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(line, flush=True)


def ratio(value: float) -> str:
    if value < 0.1:
        return f"{value:.3f}x"
    return f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def note(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


# -- setup -----------------------------------------------------------------------------------


def ensure_hnsw(model: LoadedModel, settings: Settings) -> tuple[LoadedModel, str]:
    """The saved HNSW index (the server's own file), built and saved first if missing, exactly as
    the server does it (firth_service.registry.obtain_hnsw)."""
    if model.hnsw is not None:
        return model, "loaded the saved index"
    note(
        f"obtaining the HNSW index (M={settings.hnsw_m}, efConstruction={settings.hnsw_ef_construction}) ..."
    )
    started = time.perf_counter()
    index = obtain_hnsw(model, settings)
    how = f"built and saved (or waited for a server building it) in {time.perf_counter() - started:.0f}s"
    return dataclasses.replace(model, hnsw=index, hnsw_status="ready"), how


def gensim_from_model(model: LoadedModel) -> GensimKeyedVectors:
    gkv = GensimKeyedVectors(vector_size=model.kv.dim)
    gkv.add_vectors(list(model.kv.words), np.asarray(model.kv.vectors, dtype=np.float32))
    gkv.fill_norms()
    return gkv


def query_words(model: LoadedModel, n: int, seed: int = 0) -> list[str]:
    """n distinct frequent words that need no URL escaping."""
    pool = [w for w in model.kv.words[:FREQUENT] if w.isascii() and w.isalpha()]
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]


def per_query_ms(fn: Callable[[], Any], n_queries: int, repeat: int = 1) -> float:
    fn()  # warm-up: caches, lazy faiss/numba initialisation
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return 1e3 * best / n_queries


# -- sections --------------------------------------------------------------------------------


def latency_section(model: LoadedModel, gkv: GensimKeyedVectors, words: list[str]) -> dict[str, float]:
    single = words[:200]

    def firth_single(exact: bool) -> Callable[[], None]:
        def run() -> None:
            for w in single:
                engine.neighbours(model, [NeighbourQuery([w], k=K, exact=exact)])

        return run

    def firth_batch(exact: bool) -> Callable[[], object]:
        queries = [NeighbourQuery([w], k=K, exact=exact) for w in words]
        return lambda: engine.neighbours(model, queries)

    def gensim_loop(ws: list[str]) -> Callable[[], None]:
        def run() -> None:
            for w in ws:
                gkv.most_similar(w, topn=K)

        return run

    pairs = [(w, words[(i * 7 + 3) % len(words)]) for i, w in enumerate(words)]  # as the HTTP run

    def gensim_similarity() -> None:
        for a, b in pairs:
            gkv.similarity(a, b)

    with gensim_threads():
        gensim_single = per_query_ms(gensim_loop(single), len(single))
        gensim_batch = per_query_ms(gensim_loop(words), len(words))
        gensim_similarity_ms = per_query_ms(gensim_similarity, len(pairs), repeat=3)
    figures = {
        "exact single": per_query_ms(firth_single(True), len(single)),
        "hnsw single": per_query_ms(firth_single(False), len(single), repeat=3),
        "exact batch": per_query_ms(firth_batch(True), len(words), repeat=2),
        "hnsw batch": per_query_ms(firth_batch(False), len(words), repeat=3),
    }
    rows = []
    for key, label, peer in (
        ("exact single", "single query, exact", gensim_single),
        ("hnsw single", "single query, HNSW", gensim_single),
        ("exact batch", f"batch of {len(words)}, exact", gensim_batch),
        ("hnsw batch", f"batch of {len(words)}, HNSW", gensim_batch),
    ):
        rows.append([label, f"{figures[key]:.3f}", f"{peer:.3f}", ratio(peer / figures[key])])
    table(
        f"Neighbours in-process, k={K}, ms a query (peer: gensim most_similar, exact; its batch is a loop)",
        ["query", "firth ms", "gensim ms", "speed-up"],
        rows,
    )
    # The exact answers must be gensim's: same words in the same order.
    same = sum(
        [w for w, _ in r.neighbors] == [w for w, _ in gkv.most_similar(q, topn=K)]
        for q, r in zip(
            single,
            engine.neighbours(model, [NeighbourQuery([w], k=K, exact=True) for w in single]),
            strict=True,
        )
    )
    print(f"exact top-{K} identical to gensim's for {same} of {len(single)} queries")
    figures["gensim single"] = gensim_single
    figures["gensim similarity"] = gensim_similarity_ms
    return figures


def uniform_words(model: LoadedModel, n: int, top: int, seed: int) -> list[str]:
    """n distinct words drawn uniformly from the `top` most frequent (any spelling: a rare word
    is as often '1.2.3' as a name), as a user asking about any word would."""
    rng = np.random.default_rng(seed)
    top = min(top, len(model.kv))
    return [model.kv.words[int(i)] for i in rng.choice(top, size=min(n, top), replace=False)]


def word_samples(model: LoadedModel, frequent: list[str], n: int) -> dict[str, list[str]]:
    top = min(200_000, len(model.kv))
    return {
        f"frequent ({FREQUENT // 1000}k, alphabetic)": frequent,
        f"uniform {top // 1000}k": uniform_words(model, n, top, seed=1),
        f"uniform all {len(model.kv) // 1000}k": uniform_words(model, n, len(model.kv), seed=2),
    }


def recall_at_k(model: LoadedModel, words: list[str], truth: list[set[str]]) -> float:
    approx = engine.neighbours(model, [NeighbourQuery([w], k=K) for w in words])
    assert all(r.index == "hnsw" for r in approx), "HNSW index not used"
    hits = sum(len({w for w, _ in a.neighbors} & t) for a, t in zip(approx, truth, strict=True))
    return hits / (K * len(words))


def exact_truth(model: LoadedModel, words: list[str]) -> list[set[str]]:
    exact = engine.neighbours(model, [NeighbourQuery([w], k=K, exact=True) for w in words])
    return [{w for w, _ in e.neighbors} for e in exact]


def recall_section(model: LoadedModel, samples: dict[str, list[str]]) -> dict[str, float]:
    """Recall@10 of the default search (efSearch by rank) on each word sample."""
    assert model.hnsw is not None
    recalls = {name: recall_at_k(model, words, exact_truth(model, words)) for name, words in samples.items()}
    table(
        f"Recall@{K} of HNSW against exact (the word itself excluded), default search: "
        f"efSearch {model.hnsw.ef_search} x {rank_schedule(model.hnsw.by_rank)}",
        ["query words", "words", "firth HNSW", "gensim (exact)"],
        [[name, str(len(samples[name])), f"{r:.4f}", "1.0000"] for name, r in recalls.items()],
    )
    return recalls


def rank_schedule(by_rank: tuple[tuple[int, int], ...]) -> str:
    """EF_SEARCH_BY_RANK in words: '1 (rank < 30k), 3 (< 100k), 6 (rarer)'."""
    if not by_rank:
        return "1 for every word"
    parts = []
    for (first, multiple), following in zip(by_rank, [*by_rank[1:], None], strict=True):
        upto = f"rank < {following[0] // 1000}k" if following else f"rank >= {first // 1000}k"
        parts.append(f"{multiple} ({upto})")
    return ", ".join(parts)


CURVE_EF_SEARCH = (32, 64, 96, 128, 192, 256, 384)
CURVE_TIMED_WORDS = 300


def recall_curve_section(
    model: LoadedModel, samples: dict[str, list[str]], gensim_single_ms: float
) -> list[list[str]]:
    """Recall@10 on every word sample and single-query throughput, for one efSearch for every word
    and for the default search (efSearch by rank). Throughput: one engine call a query, in-process,
    on the frequent sample (what the HTTP run asks) and on the uniform sample over all words."""
    assert model.hnsw is not None
    truths = {name: exact_truth(model, words) for name, words in samples.items()}
    names = list(samples)
    frequent, everything = names[0], names[-1]

    def queries_per_s(m: LoadedModel, words: list[str]) -> float:
        # the best of five passes over 300 words: the shared CPU's bursts of load hit single passes
        sample = words[:CURVE_TIMED_WORDS]

        def run() -> None:
            for w in sample:
                engine.neighbours(m, [NeighbourQuery([w], k=K)])

        return 1e3 / per_query_ms(run, len(sample), repeat=5)

    settings = [(f"efSearch {ef}", model.hnsw.tuned(ef, by_rank=())) for ef in CURVE_EF_SEARCH]
    settings.append(
        (
            f"default: efSearch {model.hnsw.ef_search} x rank multiple",
            model.hnsw,
        )
    )
    rows = []
    for label, index in settings:
        note(f"recall curve: {label} ...")
        tuned = dataclasses.replace(model, hnsw=index)
        recalls = [f"{recall_at_k(tuned, samples[n], truths[n]):.4f}" for n in names]
        qps = [queries_per_s(tuned, samples[frequent]), queries_per_s(tuned, samples[everything])]
        rows.append([label, *recalls, *(f"{q:,.0f}" for q in qps), ratio(qps[0] * gensim_single_ms / 1e3)])
    gensim_qps = 1e3 / gensim_single_ms
    rows.append(["gensim most_similar (exact)", *["1.0000"] * len(names), f"{gensim_qps:,.0f}", "", "1.0x"])
    table(
        f"Recall@{K} against exact and single-query throughput in-process (engine.neighbours, one "
        "faiss thread), by efSearch",
        ["search", *(f"recall {n}" for n in names), "q/s frequent", "q/s uniform all", "vs gensim"],
        rows,
    )
    return rows


def analogy_section(model: LoadedModel, gkv: GensimKeyedVectors, restrict_vocab: int, quick: bool) -> bool:
    mode = f"{'quick' if quick else 'full'} mode, restrict_vocab={restrict_vocab}"
    note(f"analogy evaluation ({mode}); gensim's full run takes about a minute ...")
    started = time.perf_counter()
    ours = evaluate_benchmark(model.kv, "questions-words", restrict_vocab=restrict_vocab)
    firth_s = time.perf_counter() - started
    with gensim_threads():
        started = time.perf_counter()
        g_score, g_sections = gkv.evaluate_word_analogies(str(QUESTIONS_WORDS), restrict_vocab=restrict_vocab)
        gensim_s = time.perf_counter() - started
    g_total = g_sections[-1]
    g_correct, g_incorrect = len(g_total["correct"]), len(g_total["incorrect"])
    identical = (ours["correct"], ours["incorrect"]) == (g_correct, g_incorrect) and ours["score"] == g_score
    table(
        f"Analogy evaluation, questions-words ({mode})",
        ["figure", "firth", "gensim", "ratio"],
        [
            ["wall time, s", f"{firth_s:.2f}", f"{gensim_s:.2f}", ratio(gensim_s / firth_s)],
            ["accuracy", f"{ours['score']:.5f}", f"{g_score:.5f}", "identical" if identical else "DIFFERENT"],
            [
                "correct / answered",
                f"{ours['correct']}/{ours['correct'] + ours['incorrect']}",
                f"{g_correct}/{g_correct + g_incorrect}",
                "",
            ],
        ],
    )
    return identical


def word2vec_text(model: LoadedModel) -> Path:
    """firth's own word2vec text export of the model (cached under bench/out/, gitignored)."""
    path = OUT_DIR / f"{model.path.name}-{model.sha256[:12]}.w2v.txt"
    if not path.is_file():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        note(f"exporting {model.path} to {path} ...")
        firth = Path(sys.executable).parent / "firth"
        subprocess.run(
            [str(firth), "export", str(model.path), "--out", str(path), "--format", "word2vec-text"],
            check=True,
        )
    return path


def gensim_cold_start(path: Path) -> float:
    """A fresh process: import gensim and load_word2vec_format(text); process start to loaded."""
    code = (
        "import sys\nfrom gensim.models import KeyedVectors\n"
        "kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=False)\nprint(len(kv))\n"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


READY_TIMEOUT = 180.0  # seconds; a cold start with the saved index takes a few


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    workers: int

    @property
    def label(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}"


NEIGHBOURS_ANY_WORD = "neighbors, uniform words"  # the sample over the whole vocabulary


def any_word_paths(words: Sequence[str]) -> list[str]:
    return [f"/v1/models/default/neighbors?word={quote(w, safe='')}&k={K}" for w in words]


def http_section(
    model: LoadedModel,
    words: list[str],
    samples: dict[str, list[str]],
    configs: Sequence[ServerConfig],
    seconds: float,
    connections: int,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for config in configs:
        note(f"starting firth-serve ({config.label}) ...")
        # A clean FIRTH_* environment: the saved index is looked up inside the model directory.
        args = (
            "--model",
            str(model.path.resolve()),
            "--workers",
            str(config.workers),
            "--log-level",
            "warning",
        )
        with ServerProcess(*args, clean_env=True, ready_within=READY_TIMEOUT) as server:
            status = server.readiness["models"][model.name]
            if status["index"] != "hnsw":
                raise RuntimeError(
                    f"the server has no saved HNSW index ({status}); cold start would not count"
                )
            with httpx.Client(base_url=server.url) as client:
                probe = client.get(f"/v1/models/default/neighbors?word={words[0]}&k={K}")
                probe.raise_for_status()
                assert probe.json()["index"] == "hnsw"
            loads: dict[str, LoadResult] = {}
            for endpoint in (NEIGHBOURS, SIMILARITY):
                loads[endpoint] = run_load(server.url, paths_for(endpoint, words), seconds, connections)
            # the same endpoint asked about any word: rarer words are searched harder (efSearch by rank)
            everything = list(samples.values())[-1]
            loads[NEIGHBOURS_ANY_WORD] = run_load(
                server.url, any_word_paths(everything), seconds, connections
            )
            results[config.label] = {
                "cold_start": server.seconds_to_ready,
                "loads": loads,
            }
    return results


def misspellings(kv: KeyedVectors, words: Sequence[str], seed: int = 1) -> list[tuple[str, str]]:
    """One typo per word (a letter dropped, doubled, swapped with the next or replaced), kept only
    when the result is not itself in the vocabulary; ASCII letters, so no URL escaping."""
    rng = np.random.default_rng(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    out: list[tuple[str, str]] = []
    for word in words:
        at = int(rng.integers(len(word)))
        kind = int(rng.integers(4))
        if kind == 0 and len(word) > 2:
            typo = word[:at] + word[at + 1 :]
        elif kind == 1:
            typo = word[:at] + word[at] + word[at:]
        elif kind == 2 and at + 1 < len(word):
            typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        else:
            typo = word[:at] + letters[int(rng.integers(26))] + word[at + 1 :]
        if kv.lookup(typo) is None:
            out.append((word, typo))
    return out


def difflib_suggest(kv: KeyedVectors) -> Callable[[str], list[str]]:
    """firth's previous suggestions: difflib among the most frequent words with the same first letter."""
    pool: dict[str, list[str]] = {}
    for word in kv.words[:SUGGESTION_WORDS]:
        pool.setdefault(word[:1].lower(), []).append(word)
    return lambda typo: difflib.get_close_matches(typo, pool.get(typo[:1], []), n=5, cutoff=0.6)


def spelling_section(
    model: LoadedModel, words: list[str], seconds: float, connections: int
) -> dict[str, float]:
    kv = model.kv
    started = time.perf_counter()
    kv.__dict__.pop("spelling", None)  # built again here, to time it
    _ = kv.spelling
    build_s = time.perf_counter() - started
    pairs = misspellings(kv, words)
    typos = [typo for _, typo in pairs]
    old = difflib_suggest(kv)
    few = typos[:200]
    index_ms = per_query_ms(lambda: [kv.suggest(t) for t in typos], len(typos), repeat=3)
    difflib_ms = per_query_ms(lambda: [old(t) for t in few], len(few))
    each_ms = sorted(per_query_ms(partial(kv.suggest, typo), 1, repeat=3) for typo in typos)
    found = sum(word in kv.suggest(typo) for word, typo in pairs)
    table(
        f"Spelling suggestions for {len(typos)} one-typo misspellings of frequent words, ms a lookup "
        f"(index over {SUGGESTION_WORDS:,} words: built in {build_s:.2f} s, "
        f"{kv.spelling.nbytes / 2**20:.0f} MiB)",
        ["lookup", "firth index ms", "difflib ms", "speed-up"],
        [
            ["mean", f"{index_ms:.3f}", f"{difflib_ms:.2f}", ratio(difflib_ms / index_ms)],
            ["median, best of 3", f"{each_ms[len(each_ms) // 2]:.3f}", "", ""],
            ["99th percentile, best of 3", f"{each_ms[int(0.99 * len(each_ms))]:.3f}", "", ""],
            ["slowest, best of 3", f"{each_ms[-1]:.3f}", "", ""],
        ],
    )
    print(f"the word misspelled among its suggestions: {found} of {len(pairs)}")
    workers = one_per_cpu()  # as `make serve` runs it
    note(
        f"starting firth-serve ({workers} workers) for known vs misspelled words, {connections} connections ..."
    )
    args = ("--model", str(model.path.resolve()), "--workers", str(workers), "--log-level", "warning")
    with ServerProcess(*args, clean_env=True, ready_within=READY_TIMEOUT) as server:
        with httpx.Client(base_url=server.url) as client:
            probe = client.get(f"/v1/models/default/neighbors?word={typos[0]}&k={K}")
            assert probe.status_code == 404 and "suggestions" in probe.json(), probe.text
        known = run_load(server.url, paths_for(NEIGHBOURS, words), seconds, connections)
        unknown = run_load(server.url, paths_for(NEIGHBOURS, typos), seconds, connections)
    table(
        f"HTTP GET …/neighbors, {workers} workers, {connections} connections, {seconds:g} s each, "
        f"{known.tool}, 127.0.0.1 (misspelled: each answer a 404 with suggestions)",
        ["words", "req/s", "mean ms", "non-2xx or socket errors", "of known-word req/s"],
        [
            [
                "known",
                f"{known.requests_per_s:,.0f}",
                f"{known.mean_latency_ms:.2f}",
                str(known.errors),
                "1.00",
            ],
            [
                "misspelled",
                f"{unknown.requests_per_s:,.0f}",
                f"{unknown.mean_latency_ms:.2f}",
                f"{unknown.errors} (all 404 expected)",
                f"{unknown.requests_per_s / known.requests_per_s:.2f}",
            ],
        ],
    )
    return {
        "lookup_ms": index_ms,
        "difflib_ms": difflib_ms,
        "ratio": unknown.requests_per_s / known.requests_per_s,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "glove-6b-50d")
    parser.add_argument(
        "--quick", action="store_true", help="analogies with restrict_vocab=30000 on both sides"
    )
    parser.add_argument("--queries", type=int, default=1000, help="query words for batches, recall and HTTP")
    parser.add_argument(
        "--workers", default="1,2", help="firth-serve worker counts to load (comma-separated)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="HTTP load per endpoint and worker count")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--recall-curve",
        action="store_true",
        help="also print recall@10 (frequent, uniform 200k, uniform all words) and queries/s by efSearch",
    )
    parser.add_argument(
        "--spelling",
        action="store_true",
        help="only the spelling section: suggestion lookups vs difflib, misspelled vs known words over HTTP",
    )
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w]
    if not (args.model / "meta.json").is_file():
        print(f"serve_bench: {args.model} is not a model directory (run `make serve` once)", file=sys.stderr)
        return 2

    print(
        f"firth serving benchmark: {args.model}  ({os.cpu_count()} CPUs, load average at start "
        f"{os.getloadavg()[0]:.2f}; CPU shared, absolute figures are noisy, ratios count)"
    )
    print(f"HTTP load generator: {'wrk' if wrk_available() else 'python asyncio+httpx (wrk not installed)'}")
    print(
        f"gensim {gensim.__version__} peer: BLAS limited to {GENSIM_BLAS_THREADS} thread (its faster setting here)"
    )
    settings = Settings(build_hnsw=False)
    model, how = ensure_hnsw(load_model(args.model, settings), settings)
    print(f"HNSW index: {how}")
    if args.spelling:
        spelling = spelling_section(model, query_words(model, args.queries), args.seconds, args.connections)
        print(
            f"\ntargets: a lookup <= 1 ms: {spelling['lookup_ms']:.3f} ms; misspelled-word throughput >= 0.5 "
            f"of known-word: {spelling['ratio']:.2f}; load average at end {os.getloadavg()[0]:.2f}"
        )
        return 0
    note("loading the same vectors into gensim KeyedVectors ...")
    gkv = gensim_from_model(model)
    words = query_words(model, args.queries)

    latency = latency_section(model, gkv, words)
    samples = word_samples(model, words, args.queries)
    recalls = recall_section(model, samples)
    if args.recall_curve:
        recall_curve_section(model, samples, latency["gensim single"])
    identical = analogy_section(model, gkv, 30_000 if args.quick else 300_000, args.quick)

    w2v = word2vec_text(model)
    note("gensim cold start: load_word2vec_format (text) in a fresh process ...")
    gensim_cold = gensim_cold_start(w2v)
    configs = [ServerConfig(n) for n in workers]
    http = http_section(model, words, samples, configs, args.seconds, args.connections)

    table(
        "Cold start, process start to serving (firth: first 200 from /readyz, saved HNSW index; "
        "gensim: load_word2vec_format of the text export)",
        ["process", "firth s", "gensim s", "speed-up"],
        [
            [
                f"firth-serve, {label}",
                f"{r['cold_start']:.2f}",
                f"{gensim_cold:.2f}",
                ratio(gensim_cold / r["cold_start"]),
            ]
            for label, r in http.items()
        ],
    )
    gensim_qps = 1e3 / latency["gensim single"]
    gensim_sim_qps = 1e3 / latency["gensim similarity"]
    tool = next(iter(next(iter(http.values()))["loads"].values())).tool if http else "-"
    rows = []
    for label, r in http.items():
        for endpoint, flask in (
            (NEIGHBOURS, FLASK_GENSIM_NEIGHBOURS_RPS),
            (NEIGHBOURS_ANY_WORD, FLASK_GENSIM_NEIGHBOURS_RPS),
            (SIMILARITY, FLASK_GENSIM_SIMILARITY_RPS),
        ):
            load: LoadResult = r["loads"][endpoint]
            peer = gensim_sim_qps if endpoint == SIMILARITY else gensim_qps
            rows.append(
                [
                    f"{endpoint}, {label}",
                    f"{load.requests_per_s:,.0f}",
                    f"{load.mean_latency_ms:.2f}",
                    str(load.errors),
                    f"{peer:,.0f}",
                    ratio(load.requests_per_s / peer),
                    f"{flask:,.0f}",
                    ratio(load.requests_per_s / flask),
                ]
            )
    table(
        f"HTTP, {args.connections} connections, {args.seconds:g} s each, {tool}, 127.0.0.1 "
        "(peers: gensim in-process most_similar / similarity, measured above; Flask + gensim wrapper, "
        "reference figure, not run)",
        ["endpoint", "firth req/s", "mean ms", "errors", "gensim q/s", "ratio", "Flask+gensim", "ratio"],
        rows,
    )
    make_serve_workers = one_per_cpu()  # firth-serve's default, which `make serve` keeps
    served = http.get(ServerConfig(make_serve_workers).label)
    best_rps = served["loads"][NEIGHBOURS].requests_per_s if served else 0.0
    uniform = [r for name, r in recalls.items() if name.startswith("uniform")]
    print(
        f"\ntargets: HTTP neighbours >= 2,500 req/s (as `make serve` runs it, {make_serve_workers} workers) "
        f"at recall@10 >= 0.995 on uniform words: {best_rps:,.0f} req/s "
        f"({ratio(best_rps / gensim_qps)} gensim in-process) at "
        f"{' / '.join(f'{r:.4f}' for r in uniform)} (uniform 200k / all); "
        f"analogy accuracy identical to gensim: {'yes' if identical else 'NO'}; "
        f"load average at end {os.getloadavg()[0]:.2f}"
    )
    if shutil.which("wrk") is None:
        print("(install wrk for the reference load generator: apt-get install -y wrk)")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
