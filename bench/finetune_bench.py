#!/usr/bin/env python3
"""Fine-tuning benchmark (issue 12 §4): continue a model on new text, against training on all of it.

The benchmark corpus (corpora/gcide.txt, built by bench/train_bench.py; GCIDE's definitions in
dictionary order) is cut into its first and second half by lines. Then, all skip-gram with the
training benchmark's settings (dim 100, window 5, negative 5, sample 1e-3, min-count 5, 2 threads):

- parent:     trained on the first half, --epochs E;
- fine-tuned: the parent continued on the second half with --init-from, --epochs E (so every
              token of the corpus is seen E times, as in the whole-corpus run);
- locked:     the same with --lock-old (the parent's vectors fixed, only new words learn);
- whole:      one model trained on the whole corpus, --epochs E.

It prints the wall time of each (the fine-tuned model's total is parent + fine-tuning), the
vocabulary and the three evaluation scores (gensim's own evaluate functions, as the training
benchmark), with the fine-tuned model's differences to the whole-corpus one.

Usage: python bench/finetune_bench.py [--epochs 5] [--threads 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from train_bench import COMMON, CORPUS, ensure_corpus, gensim_scores, warm_up  # noqa: E402


def split_halves(work: Path) -> tuple[Path, Path, int]:
    """The corpus' first and second half by lines, as two files in `work`."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    first, second = work / "first-half.txt", work / "second-half.txt"
    first.write_text("".join(lines[:half]), encoding="utf-8")
    second.write_text("".join(lines[half:]), encoding="utf-8")
    return first, second, len(lines)


def train(corpus: Path, out: Path, epochs: int, threads: int, *extra: str) -> dict[str, Any]:
    """One `firth train` skip-gram run in process; its wall time, vocabulary and scores."""
    from firth_core.artifact import load_artifact
    from firth_trainer.cli import main

    args = [
        "train", "--algorithm", "sgns", "--corpus", str(corpus), "--out", str(out), "--quiet",
        "--dim", str(COMMON["dim"]), "--window", str(COMMON["window"]), "--negative", str(COMMON["negative"]),
        "--sample", str(COMMON["sample"]), "--min-count", str(COMMON["min_count"]),
        "--epochs", str(epochs), "--threads", str(threads), *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"firth train {' '.join(extra)} failed with exit status {code}")
    model = load_artifact(out)
    meta = model.meta
    result = {
        "wall": wall,
        "train_seconds": meta["training"]["seconds"],
        "vocab": meta["count"],
        "new_words": meta.get("init_from", {}).get("new_words"),
        **gensim_scores(model.words, np.asarray(model.vectors)),
    }
    print(f"  {out.name}: {result}", flush=True)
    return result


def report(results: dict[str, dict[str, Any]]) -> None:
    parent, tuned, locked, whole = (results[k] for k in ("parent", "fine-tuned", "locked", "whole"))
    rows = [
        ("parent (first half)", parent, parent["wall"]),
        ("fine-tuned on the second half", tuned, parent["wall"] + tuned["wall"]),
        ("fine-tuned, --lock-old", locked, parent["wall"] + locked["wall"]),
        ("whole corpus", whole, whole["wall"]),
    ]
    print()
    print(
        "| model | wall s (this step) | wall s (total) | vocab | new words | analogy | WS353 rho | SimLex rho |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r, total in rows:
        new = f"{r['new_words']:,}" if r["new_words"] is not None else "-"
        print(
            f"| {name} | {r['wall']:.1f} | {total:.1f} | {r['vocab']:,} | {new} | "
            f"{r['analogy']:.3f} | {r['ws353']:.3f} | {r['simlex']:.3f} |"
        )
    print()
    for name, r, total in rows[1:3]:
        print(
            f"{name}: {total / whole['wall']:.2f}x the whole-corpus run's wall time (parent + fine-tuning); "
            f"analogy {r['analogy'] - whole['analogy']:+.3f}, WS353 {r['ws353'] - whole['ws353']:+.3f}, "
            f"SimLex {r['simlex'] - whole['simlex']:+.3f} against it"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=int(COMMON["epochs"]), help="epochs of every run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "finetune_bench.json")
    args = parser.parse_args()
    os.chdir(REPO)
    ensure_corpus()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="firth-finetune-bench-") as tmp:
        work = Path(tmp)
        first, second, n_lines = split_halves(work)
        print(
            f"corpus {CORPUS.relative_to(REPO)}: {n_lines:,} lines, halves of {n_lines // 2:,} and "
            f"{n_lines - n_lines // 2:,}; skip-gram, {args.epochs} epochs a run, {args.threads} threads; "
            f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        warm_up(work / "warm", args.threads)
        parent = work / "parent"
        results["parent"] = train(first, parent, args.epochs, args.threads)
        results["fine-tuned"] = train(
            second, work / "fine-tuned", args.epochs, args.threads, "--init-from", str(parent)
        )
        results["locked"] = train(
            second, work / "locked", args.epochs, args.threads, "--init-from", str(parent), "--lock-old"
        )
        results["whole"] = train(CORPUS, work / "whole", args.epochs, args.threads)
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "epochs": args.epochs,
        "threads": args.threads,
        "load_average": os.getloadavg()[0],
        "results": results,
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"\nfigures written to {args.json.relative_to(REPO) if args.json.is_relative_to(REPO) else args.json}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
