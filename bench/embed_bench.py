"""Sentence-vector benchmark: POST /embed over HTTP beside gensim's in-process loop, in one run.

    .venv/bin/python bench/embed_bench.py --model models/glove-6b-50d [--workers 2]

1. Throughput: the first 10,000 lines of the benchmark corpus (corpora/gcide.txt, built by
   bench/make_corpus.py from Debian's dict-gcide) sent to the real `firth-serve` process in batches
   of 1,000 raw lines (standardisation and splitting happen in the service), as JSON and as base64,
   from as many client threads as the server has workers; the client reads each body whole but does
   not parse it. The peer: gensim 4.4's `get_mean_vector` (pre_normalize, its default) in a Python
   loop over the same lines already split and filtered to known words, in this process. Five
   interleaved rounds (gensim, JSON, base64), the best of each.
2. Downstream: scikit-learn `LogisticRegression(C=10)` on /embed vectors of the domains set
   (shared/bench/make_domains.py: definitions labelled with their field), mean and sif pooling;
   the reference is 0.780 test accuracy for the mean of unit GloVe 50d vectors.

Needs the bench extra (`pip install -e '.[bench]'`: scikit-learn). The CPU is shared: quote the
ratios measured in the same run, not the absolute figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
from gensim.models import KeyedVectors as GensimKeyedVectors
from server_process import ServerProcess

from firth_client import FirthClient
from firth_core.artifact import load_artifact

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "gcide.txt"
DOMAINS = ROOT / "corpora" / "domains"


def find_make_domains() -> Path:
    """shared/bench/make_domains.py beside the checkout: ../shared from the main clone, ../../shared
    from a worktree under wt/; the first ancestor that has it."""
    for parent in ROOT.parents:
        candidate = parent / "shared" / "bench" / "make_domains.py"
        if candidate.is_file():
            return candidate
    return ROOT.parent / "shared" / "bench" / "make_domains.py"  # named in the error if missing


LINES = 10_000
BATCH = 1_000
REFERENCE_ACCURACY = 0.780
GENSIM_REFERENCE_SPS = 21_700  # shared/bench/README.md, this kind of machine


def first_lines(path: Path, n: int) -> list[str]:
    out: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(line.rstrip("\n"))
            if len(out) == n:
                break
    return out


def ensure_data(corpus: Path, domains: Path) -> None:
    if not corpus.exists():
        corpus.parent.mkdir(parents=True, exist_ok=True)  # corpora/ is gitignored: absent on a fresh clone
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_corpus.py"), str(corpus)], check=True)
    if not (domains / "train.txt").exists():
        make_domains = find_make_domains()
        if not make_domains.is_file():
            sys.exit(f"embed_bench: {make_domains} is missing (the shared benchmark scripts)")
        subprocess.run([sys.executable, str(make_domains), str(domains)], check=True)


def gensim_loop(gkv: GensimKeyedVectors, split: list[list[str]]) -> float:
    """Sentences/s of get_mean_vector over already-split, known-only token lists (one pass)."""
    started = time.perf_counter()
    for tokens in split:
        gkv.get_mean_vector(tokens)
    return len(split) / (time.perf_counter() - started)


def http_rate(url: str, lines: list[str], encoding: str, threads: int, repeat: int = 1) -> float:
    """Sentences/s of /embed: `threads` clients share the batches; best of `repeat` passes."""
    batches = [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)]
    clients = [httpx.Client(base_url=url, timeout=120) for _ in range(threads)]

    def send(client: httpx.Client, mine: list[list[str]]) -> None:
        for batch in mine:
            response = client.post(
                "/v1/models/default/embed", json={"texts": batch, "encoding": encoding, "oov": "null"}
            )
            response.raise_for_status()
            _ = response.content

    try:
        send(clients[0], batches[:1])  # warm up (connection, the model's pages)
        best = float("inf")
        for _ in range(repeat):
            workers = [
                threading.Thread(target=send, args=(c, batches[i::threads])) for i, c in enumerate(clients)
            ]
            started = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            best = min(best, time.perf_counter() - started)
    finally:
        for c in clients:
            c.close()
    return len(lines) / best


def read_domains(path: Path) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition(" ")
        labels.append(label.removeprefix("__label__"))
        texts.append(text)
    return labels, texts


def embed_all(client: FirthClient, texts: Sequence[str], pooling: str) -> np.ndarray:
    rows = [
        client.embed(texts[i : i + BATCH], pooling=pooling, oov="null").array  # type: ignore[arg-type]
        for i in range(0, len(texts), BATCH)
    ]
    return np.nan_to_num(np.concatenate(rows))  # a text with no known word: a zero row


def downstream(url: str, domains: Path) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    train_labels, train_texts = read_domains(domains / "train.txt")
    test_labels, test_texts = read_domains(domains / "test.txt")
    scores = {}
    with FirthClient(url, timeout=300) as client:
        for pooling in ("mean", "sif"):
            x_train = embed_all(client, train_texts, pooling)
            x_test = embed_all(client, test_texts, pooling)
            classifier = LogisticRegression(C=10, max_iter=2000).fit(x_train, train_labels)
            scores[pooling] = float(classifier.score(x_test, test_labels))
    print(f"domains: {len(train_texts)} train / {len(test_texts)} test")
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "glove-6b-50d")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--domains", type=Path, default=DOMAINS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best of each counts")
    parser.add_argument("--skip-downstream", action="store_true")
    args = parser.parse_args(argv)
    ensure_data(args.corpus, args.domains)

    lines = first_lines(args.corpus, LINES)
    artifact = load_artifact(args.model)
    gkv = GensimKeyedVectors(vector_size=artifact.vectors.shape[1])
    gkv.add_vectors(list(artifact.words), np.asarray(artifact.vectors))
    split = [[t for t in line.split() if t in gkv.key_to_index] for line in lines]
    split = [tokens for tokens in split if tokens]
    tokens_per_line = sum(map(len, split)) / len(split)

    env = {"FIRTH_MODELS": str(args.model), "FIRTH_BUILD_HNSW": "0"}
    with ServerProcess("--workers", str(args.workers), env=env, clean_env=True) as server:
        # Rounds of the three, interleaved, best of each: the load on a shared machine drifts
        # within a run, and interleaving gives each contender the same weather.
        gensim_sps = json_sps = b64_sps = 0.0
        for _ in range(args.rounds):
            gensim_sps = max(gensim_sps, gensim_loop(gkv, split))
            json_sps = max(json_sps, http_rate(server.url, lines, "float", args.workers))
            b64_sps = max(b64_sps, http_rate(server.url, lines, "base64", args.workers))
        scores = {} if args.skip_downstream else downstream(server.url, args.domains)

    print(f"\n/embed throughput: first {len(lines):,} lines of {args.corpus.name}, batches of {BATCH:,},")
    print(
        f"{args.workers} workers, {args.workers} client threads ({tokens_per_line:.1f} known tokens a line)"
    )
    print(f"{'':34}{'sentences/s':>12}{'vs gensim':>11}")
    print(f"{'gensim get_mean_vector, in-process':34}{gensim_sps:>12,.0f}{1.0:>10.2f}x")
    print(f"{'firth /embed over HTTP, JSON':34}{json_sps:>12,.0f}{json_sps / gensim_sps:>10.2f}x")
    print(f"{'firth /embed over HTTP, base64':34}{b64_sps:>12,.0f}{b64_sps / gensim_sps:>10.2f}x")
    print(f"(gensim reference on a quiet machine: {GENSIM_REFERENCE_SPS:,} sentences/s)")
    if scores:
        print("\nLogisticRegression(C=10) on /embed vectors, domains test accuracy:")
        for pooling, accuracy in scores.items():
            print(
                f"  {pooling:5} {accuracy:.3f}   (reference: mean of unit vectors {REFERENCE_ACCURACY:.3f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
