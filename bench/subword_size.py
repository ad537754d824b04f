"""A model of Facebook's cc.en.300.bin shape on this machine: start-up time and shared memory.

    .venv/bin/python bench/subword_size.py [--dir /tmp/somewhere] [--words 2000000] [--keep]

Builds a synthetic subword model (2,000,000 x 300 word vectors, 2,000,000 x 300 n-gram buckets,
random values, about 4.8 GB) in a temporary directory, written in blocks so no matrix is ever held
twice in memory; then starts the real `firth-serve` with 2 workers twice, exact index only (an HNSW
graph over 2M x 300 takes far longer to build than this benchmark should; see the README):

1. the first start verifies every file (sha256, finite values) and saves the large-model state:
   the unit vectors and norms (memory-mapped afterwards) and the verified-once marker;
2. the second start loads from that: the time from process start to /readyz 200 (goal <= 5 s);
   then a set of lookups (vectors, similarity, neighbours, /embed) with in-vocabulary words and
   words outside the vocabulary (their vectors built from n-grams), and the memory: the workers'
   summed PSS (/proc/<pid>/smaps_rollup) against one copy of the model files' pages that any
   server process has mapped (goal <= 1.25x), read from /proc/<pid>/pagemap.

The machine is shared: times drift between runs. The synthetic files are removed at the end
unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from server_process import ServerProcess

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from firth_core.subwords import SubwordSpec  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
BLOCK_ROWS = 65_536
LETTERS = "abcdefghijklmnopqrstuvwxyz"
OOV_WORDS = ["unbelievablish", "xylophonistic", "firthiness", "qwertyuiopz", "overembeddings"]
READY_GOAL_S, PSS_GOAL = 5.0, 1.25


def synthetic_word(i: int) -> str:
    """Distinct letter strings (base 26, at least 4 letters), so words have real n-grams."""
    letters = []
    for _ in range(4):
        i, r = divmod(i, 26)
        letters.append(LETTERS[r])
    while i:
        i, r = divmod(i - 1, 26)
        letters.append(LETTERS[r])
    return "".join(reversed(letters))


def write_matrix(path: Path, rows: int, dim: int, rng: np.random.Generator) -> str:
    """A random float32 .npy written a block at a time; returns its sha256."""
    matrix = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    for start in range(0, rows, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, rows)
        matrix[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
    matrix.flush()
    del matrix
    return sha256(path)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def build_model(out: Path, words: int, buckets: int, dim: int, seed: int = 0) -> Path:
    """A firth subword model directory (the artifact format) written under a temporary name."""
    rng = np.random.default_rng(seed)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {
        "vectors.npy": write_matrix(tmp / "vectors.npy", words, dim, rng),
        "ngrams.npy": write_matrix(tmp / "ngrams.npy", buckets, dim, rng),
    }
    with open(tmp / "vocab.txt", "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{synthetic_word(i)}\t{words - i}\n" for i in range(words))
    files["vocab.txt"] = sha256(tmp / "vocab.txt")
    meta = {
        "format": "firth-model",
        "format_version": 1,
        "name": out.name,
        "dim": dim,
        "count": words,
        "standardize": "lower",
        "source": {"format": "synthetic, cc.en.300.bin's shape (bench/subword_size.py)"},
        "subwords": SubwordSpec(3, 6, buckets).to_meta(),
        "files": files,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, out)
    return out


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def pss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (what the start costs, whatever the load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mapped_pages(pids: list[int], root: Path) -> dict[str, np.ndarray]:
    """For each file under `root` mapped by any of `pids`: which of its pages are present in some
    process's page tables (the union: one copy of the pages touched)."""
    present: dict[str, np.ndarray] = {}
    for pid in pids:
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
                parts = line.split(maxsplit=5)
                if len(parts) < 6 or not parts[5].startswith(str(root)):
                    continue
                path = parts[5]
                start, end = (int(x, 16) for x in parts[0].split("-"))
                offset = int(parts[2], 16) // PAGE
                size = os.stat(path).st_size
                bitmap = present.setdefault(path, np.zeros((size + PAGE - 1) // PAGE, dtype=bool))
                pagemap.seek(start // PAGE * 8)
                entries = np.frombuffer(pagemap.read((end - start) // PAGE * 8), dtype=np.uint64)
                mapped = ((entries >> np.uint64(63)) & np.uint64(1)).astype(bool)
                stop = min(offset + mapped.size, bitmap.size)
                bitmap[offset:stop] |= mapped[: stop - offset]
    return present


def lookups(client: httpx.Client, base: str, words: int) -> dict[str, float]:
    """Queries with words inside and outside the vocabulary; seconds each kind took."""
    rng = np.random.default_rng(1)
    known = [synthetic_word(int(i)) for i in rng.integers(0, words, 200)]
    timings: dict[str, float] = {}

    def timed(name: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = client.request(method, f"{base}{path}", **kwargs)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        response.raise_for_status()
        return dict(response.json())

    for word in known[:100] + OOV_WORDS:
        timed("GET /vectors (105 words)", "GET", f"/vectors/{word}")
    body = timed("POST /vectors (200 + 5 OOV)", "POST", "/vectors", json={"words": known + OOV_WORDS})
    assert sum(bool(v.get("oov")) for v in body["vectors"]) == len(OOV_WORDS)
    pairs = [[a, b] for a, b in zip(OOV_WORDS, known, strict=False)]
    timed("POST /similarity (5 pairs)", "POST", "/similarity", json={"pairs": pairs})
    for word in OOV_WORDS[:3] + known[:2]:
        timed("GET /neighbors exact (5 words, 3 OOV)", "GET", "/neighbors", params={"word": word, "k": 10})
    texts = [" ".join(known[i : i + 10] + OOV_WORDS[:2]) for i in range(0, 100, 10)]
    body = timed("POST /embed (10 texts)", "POST", "/embed", json={"texts": texts})
    assert body["texts"][0]["subword"] == OOV_WORDS[:2]
    return timings


def run(args: argparse.Namespace) -> None:
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="firth-subword-size-"))
    model = root / "cc-en-300-shape"
    try:
        started = time.perf_counter()
        reused = args.reuse and (model / "meta.json").is_file()
        if reused:  # a kept model: start afresh from it
            shutil.rmtree(model / "index", ignore_errors=True)
        else:
            build_model(model, args.words, args.buckets, args.dim)
        files = sum(f.stat().st_size for f in model.iterdir() if f.is_file())
        print(
            f"model: {args.words:,} x {args.dim} words, {args.buckets:,} x {args.dim} buckets, "
            f"{gib(files)} on disk, "
            + ("reused" if reused else f"written in {time.perf_counter() - started:.1f} s")
            + f" ({model})"
        )
        env = {
            "FIRTH_MODELS": str(model),
            "FIRTH_WORKERS": str(args.workers),
            "FIRTH_INDEX": "exact",
            "FIRTH_BUILD_HNSW": "0",
        }
        with ServerProcess(env=env, clean_env=True, ready_within=3600) as first:
            first_ready = first.seconds_to_ready
        index_dir = model / "index"
        saved = sum(f.stat().st_size for f in index_dir.iterdir()) if index_dir.is_dir() else 0
        print(
            f"first start:  ready in {first_ready:6.2f} s (verifies {gib(files)}, saves {gib(saved)} "
            "of unit vectors and norms, and the verified-once marker)"
        )
        with ServerProcess(env=env, clean_env=True, ready_within=600) as second:
            loaded = [line for line in second.output().splitlines() if "loaded 1 model(s) in" in line]
            print(
                f"second start: ready in {second.seconds_to_ready:6.2f} s   (goal <= {READY_GOAL_S:g} s: "
                f"{'met' if second.seconds_to_ready <= READY_GOAL_S else 'NOT met'})"
            )
            if loaded:
                print(f"  of which the supervisor loading the model: {loaded[-1].rsplit(' in ', 1)[-1]}")
            assert second.process is not None
            supervisor_cpu = cpu_seconds(second.process.pid)
            worker_cpu = [cpu_seconds(w) for w in children(second.process.pid)]
            print(
                f"  CPU time to ready: supervisor {supervisor_cpu:.2f} s (imports, loading; one thread), "
                f"workers {', '.join(f'{c:.2f}' for c in worker_cpu)} s (in parallel): on an idle machine "
                f"about {supervisor_cpu + max(worker_cpu, default=0.0):.1f} s to ready"
            )
            print(
                f"  (load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs)"
            )
            assert second.process is not None
            with httpx.Client(timeout=120) as client:
                timings = lookups(client, f"{second.url}/v1/models/default", args.words)
            for name, seconds in timings.items():
                print(f"  {name:<40} {seconds:7.3f} s")
            supervisor = second.process.pid
            workers = children(supervisor)
            pss = {pid: pss_bytes(pid) for pid in [supervisor, *workers]}
            pages = mapped_pages([supervisor, *workers], model)
        touched = sum(int(b.sum()) * PAGE for b in pages.values())
        workers_pss = sum(pss[w] for w in workers)
        print(f"files touched (union of mapped pages, all server processes): {gib(touched)}")
        for path, bitmap in sorted(pages.items()):
            print(
                f"  {Path(path).relative_to(model)!s:<26} {gib(int(bitmap.sum()) * PAGE):>10} of "
                f"{gib(os.stat(path).st_size)}"
            )
        print(
            f"PSS: workers {' + '.join(gib(pss[w]) for w in workers)} = {gib(workers_pss)}; "
            f"supervisor {gib(pss[supervisor])}"
        )
        ratio = workers_pss / touched
        print(
            f"workers' summed PSS / one copy of the files touched = {ratio:.2f}x   (goal <= {PSS_GOAL:g}x: "
            f"{'met' if ratio <= PSS_GOAL else 'NOT met'}); with the supervisor "
            f"{(workers_pss + pss[supervisor]) / touched:.2f}x"
        )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(model, ignore_errors=True)
            shutil.rmtree(model.parent / f".{model.name}.tmp", ignore_errors=True)
            if not args.dir:
                shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", help="where to write the synthetic model (default: a new /tmp directory)")
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--buckets", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic model afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the model a --keep run left in --dir")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
