#!/usr/bin/env python3
"""Interleaved A/B of the word2vec kernels in one process: skip-gram per-pair
(`--batch-negatives off`), skip-gram batched (the default) and CBOW, on 1 then 2 threads, in turn,
`--reps` times, on the benchmark corpus (build it with `bench/train_bench.py --corpus-only`).

Taking the variants in turn within one process exposes them to the same machine conditions, so
their ratios mean something even on a loaded machine; it prints every measurement.

Usage: python bench/word2vec_ab.py [--epochs 1] [--reps 2] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpora" / "gcide.txt"
VARIANTS = (("sgns", "off"), ("sgns", "on"), ("cbow", "on"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: run `python bench/train_bench.py --corpus-only` first")
    from firth_trainer.corpus import encode_corpus
    from firth_trainer.vocab import DEFAULT_STANDARDIZE, build_vocab
    from firth_trainer.word2vec import WORD2VEC_DEFAULTS, train_word2vec

    with tempfile.TemporaryDirectory(prefix="firth-ab-") as tmp:
        encoded = encode_corpus(CORPUS, DEFAULT_STANDARDIZE, Path(tmp))
        vocab, stream = build_vocab(encoded, 5, None, None)
    for rep in range(args.reps):
        for threads in (int(t) for t in args.threads.split(",")):
            for algorithm, batch in VARIANTS:
                params = replace(
                    WORD2VEC_DEFAULTS[algorithm], epochs=args.epochs, threads=threads, batch_negatives=batch
                )
                r = train_word2vec(stream, vocab, params, quiet=True)
                print(
                    f"rep {rep + 1} {algorithm} batch-negatives {batch:3s} threads {threads}: "
                    f"{r.words / r.seconds:>10,.0f} words/s, loss {r.epoch_loss[-1]:.4f}, "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
