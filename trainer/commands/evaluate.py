"""`firth evaluate`: score a model on the bundled benchmarks or a user's file (gensim's accounting)
and record the scores in the model's meta.json. A thin shell: the benchmarks, their names, the
scoring and the summary lines are firth_core/evaluation.py's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from firth_core.artifact import load_artifact, update_meta
from firth_core.errors import ConfigurationError, InvalidQuery
from firth_core.evaluation import BENCHMARK_NAMES, GENSIM_RESTRICT_VOCAB, evaluate_all, evaluate_file, summary


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="score a model on word analogies and word-pair similarity",
        description=(
            "Score a model with gensim's accounting: analogies (3CosAdd, questions with unknown words "
            "skipped and counted) and word-pair Spearman/Pearson. The scores are written into the "
            "model's meta.json under 'evaluation' unless --no-save is given."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL_DIR", help="model directory")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--benchmark",
        action="append",
        choices=BENCHMARK_NAMES,
        help=f"a bundled benchmark; repeat for several (default: all {len(BENCHMARK_NAMES)})",
    )
    which.add_argument("--file", type=Path, help="your own file: questions-words format or word pairs (TSV)")
    p.add_argument(
        "--kind",
        choices=("analogies", "pairs"),
        default=None,
        help="format of --file (default: analogies when the file has ': section' lines, else pairs)",
    )
    p.add_argument(
        "--restrict-vocab",
        type=int,
        default=GENSIM_RESTRICT_VOCAB,
        help="only the most frequent N words (default: %(default)s, gensim's)",
    )
    p.add_argument(
        "--subwords",
        action="store_true",
        help="a subword (fastText) model only: also score with the unknown words given their n-gram "
        "vectors, beside gensim's figures (which skip them)",
    )
    p.add_argument("--no-save", action="store_true", help="do not write the scores into meta.json")
    p.add_argument("--json", action="store_true", help="print the full results as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from firth_core.keyed_vectors import KeyedVectors

    if args.restrict_vocab < 1:
        raise ConfigurationError(f"restrict-vocab must be >= 1, got {args.restrict_vocab}")
    if args.kind and not args.file:
        raise ConfigurationError("--kind applies to --file only")
    artifact = load_artifact(args.model)
    kv = KeyedVectors.from_artifact(artifact)
    if args.subwords and kv.subwords is None:
        raise ConfigurationError(
            f"--subwords applies to a subword (fastText) model; {args.model} has no n-grams, so its "
            "out-of-vocabulary words have no vectors"
        )
    options = {"restrict_vocab": args.restrict_vocab, "subwords": args.subwords}
    results: dict[str, Any] = {}
    if args.file:
        results[f"file:{args.file.name}"] = evaluate_file(kv, args.file, args.kind, **options)
    else:
        results = evaluate_all(kv, args.benchmark or BENCHMARK_NAMES, **options)
        if all("error" in r for r in results.values()):
            raise InvalidQuery("; ".join(f"{name}: {r['error']}" for name, r in results.items()))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, result in results.items():
            print(summary(name, result))
    if not args.no_save:
        update_meta(artifact.path, {"evaluation": results})
    return 0
