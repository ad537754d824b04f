#!/usr/bin/env python3
"""fastText `.bin` import/export benchmark: `firth import fasttext-bin` beside gensim 4.4's
`load_facebook_vectors` on the same synthetic file, in the same run.

Writes a synthetic model of the given shape (random words of 3-12 letters, Gaussian rows; the
default is a tenth of cc.en.300.bin: 200,000 words, 200,000 buckets, 300 dims; `--full` gives
cc.en.300's 2,000,000 x 2,000,000 x 300, a 7.2 GB file and about 20 GB of disk), then runs each
step in its own process and prints its wall time, its peak resident memory (ru_maxrss: this
counts the pages of memory-mapped files it touched, which the kernel can drop), its peak
anonymous memory (RssAnon sampled every 20 ms: what the process itself holds), the bytes it
wrote (write_bytes of /proc/PID/io, read as it exits: every page it dirtied, through write() or
a memory map, including files it deleted before they reached the disk) and the peak disk the
work directory grew by while it ran (allocated blocks, sampled every 20 ms):

- firth import fasttext-bin FILE (gensim's reader needs the whole file in memory, firth's
  streams it through memory maps);
- gensim's load_facebook_vectors(FILE), then a check that firth's vectors for 2,000 vocabulary
  words and 2,000 unseen words equal gensim's to 1e-5;
- firth export --format fasttext-bin, and the same check on gensim's reading of the export.

Usage: python bench/fasttext_bin_bench.py [--words N] [--buckets N] [--dim N] [--full]
                                          [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from firth_core.fasttext_bin import FastTextArgs, encode_header, encode_output_header, encode_rows

REPO = Path(__file__).resolve().parent.parent
FIRTH = Path(sys.executable).parent / "firth"

_CHECK = """
import sys
import numpy as np
from gensim.models.fasttext import load_facebook_vectors
from firth_core.artifact import load_artifact
from firth_core.subwords import oov_vector
kv = load_facebook_vectors(sys.argv[1])
art = load_artifact(sys.argv[2], verify_checksums=False)
rng = np.random.default_rng(0)
worst = 0.0
for i in rng.choice(len(art.words), size=min(2000, len(art.words)), replace=False).tolist():
    worst = max(worst, float(np.abs(art.vectors[i] - kv[art.words[i]]).max()))
letters = list("abcdefghijklmnopqrstuvwxyzé")
for _ in range(2000):
    word = "".join(rng.choice(letters, size=int(rng.integers(2, 15))))
    if word not in art.words:
        worst = max(worst, float(np.abs(oov_vector(art.ngrams, word, art.subwords) - kv[word]).max()))
print(worst)
"""


def make_bin(path: Path, words: int, buckets: int, dim: int) -> None:
    """A synthetic unsupervised .bin: distinct random words, Gaussian rows x 0.1, in blocks."""
    rng = np.random.default_rng(1)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab: dict[str, None] = {}
    while len(vocab) < words:
        for length in rng.integers(3, 13, size=words):
            vocab.setdefault("".join(rng.choice(letters, size=int(length))), None)
            if len(vocab) == words:
                break
    names = list(vocab)
    counts = np.arange(words, 0, -1, dtype=np.int64) + 4
    args = FastTextArgs(dim=dim, bucket=buckets, minn=3, maxn=6, model=2, loss=2)
    block = 1 << 14
    with open(path, "wb") as handle:
        handle.write(encode_header(args, names, counts, int(counts.sum())))
        for total in (words + buckets, -1, words):
            if total == -1:
                handle.write(encode_output_header(words, dim))
                continue
            for start in range(0, total, block):
                rows = min(block, total - start)
                handle.write(encode_rows(rng.standard_normal((rows, dim), dtype=np.float32) * 0.1))


def _proc_number(pid: int, file: str, field: str) -> int:
    """The number after `field:` in /proc/PID/FILE (0 when the process or the field is gone)."""
    try:
        with open(f"/proc/{pid}/{file}") as proc:
            for line in proc:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _disk_bytes(folder: Path) -> int:
    """The blocks allocated to the files below `folder` (files vanish while it walks: skipped)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def run(label: str, command: list[str], work: Path) -> tuple[float, str]:
    """Run a step in its own process; print its wall time, memory peaks, the bytes it wrote and
    the peak growth of the disk used under `work`; return (seconds, stdout)."""
    peak = 0
    disk_before = _disk_bytes(work)
    disk_peak = disk_before
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, disk_peak
        while not done.is_set():
            peak = max(peak, _proc_number(proc.pid, "status", "RssAnon"))  # KiB
            disk_peak = max(disk_peak, _disk_bytes(work))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: /proc/PID/io stays
    written = _proc_number(proc.pid, "io", "write_bytes")  # pages dirtied, by write() or a memory map
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}): {err.strip()}")
    print(
        f"  {label:<34} {seconds:8.1f} s   peak RSS {usage.ru_maxrss / 2**20:6.2f} GiB   "
        f"peak anonymous {peak / 2**20:6.2f} GiB   wrote {written / 2**30:6.2f} GiB   "
        f"peak disk +{(disk_peak - disk_before) / 2**30:6.2f} GiB"
    )
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--buckets", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument(
        "--full", action="store_true", help="cc.en.300.bin's shape: 2M words, 2M buckets, 300"
    )
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    opts = parser.parse_args()
    if opts.full:
        opts.words, opts.buckets, opts.dim = 2_000_000, 2_000_000, 300
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="ftbin-bench-", dir=REPO))
    work.mkdir(parents=True, exist_ok=True)
    src, model, back = work / "synthetic.bin", work / "model", work / "exported.bin"
    try:
        started = time.perf_counter()
        make_bin(src, opts.words, opts.buckets, opts.dim)
        size = src.stat().st_size
        print(
            f"synthetic .bin: {opts.words:,} words, {opts.buckets:,} buckets, {opts.dim} dims, "
            f"{size / 2**30:.2f} GiB (written in {time.perf_counter() - started:.1f} s); "
            f"{os.cpu_count()} cores, shared machine: compare within a run"
        )
        shutil.rmtree(model, ignore_errors=True)
        firth_s, _ = run(
            "firth import fasttext-bin",
            [str(FIRTH), "import", "fasttext-bin", str(src), "--out", str(model), "--quiet"],
            work,
        )
        gensim_s, _ = run(
            "gensim load_facebook_vectors",
            [
                sys.executable,
                "-c",
                "import sys; from gensim.models.fasttext import load_facebook_vectors as l; l(sys.argv[1])",
                str(src),
            ],
            work,
        )
        print(f"  firth import / gensim load: {firth_s / gensim_s:.2f}x the time")
        run(
            "firth export --format fasttext-bin",
            [str(FIRTH), "export", str(model), "--format", "fasttext-bin", "--out", str(back)],
            work,
        )
        _, worst = run(
            "check: firth vs gensim (original)", [sys.executable, "-c", _CHECK, str(src), str(model)], work
        )
        _, worst_back = run(
            "check: firth vs gensim (export)", [sys.executable, "-c", _CHECK, str(back), str(model)], work
        )
        print(
            f"  max |firth - gensim| over 2,000 vocabulary + 2,000 unseen words: {float(worst):.2e} (original), {float(worst_back):.2e} (export)"
        )
        print(f"  export size equals input size: {back.stat().st_size == size}")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
