"""`firth test` and `firth predict`: use a classifier trained with `firth train --algorithm supervised`.

`test` prints fastText's figures (N, P@k, R@k) and each label's precision, recall and F1;
`predict` prints each input line's top labels with their probabilities, as fastText's
`predict-prob` does (`__label__NAME PROBABILITY ...`, one line an input line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from itertools import islice
from typing import Any

from firth_core.artifact import load_artifact
from firth_core.classifier import Classifier
from firth_core.errors import ConfigurationError
from firth_core.labelled_text import LABEL_PREFIX
from firth_trainer.classifier_metrics import Meter
from firth_trainer.corpus import STDIN, CorpusStats
from firth_trainer.supervised_data import iter_labelled_lines, whole_lines

BATCH = 1000  # lines predicted at a time


def register(subparsers: Any) -> None:
    t: argparse.ArgumentParser = subparsers.add_parser(
        "test",
        help="score a classifier on labelled text: N, P@k, R@k, and each label's precision/recall/F1",
        description="Score a classifier (firth train --algorithm supervised) on a file in fastText's "
        "format (__label__NAME tokens, then the text), with fastText's accounting: labels the model "
        "does not know are left out, and lines left with none are skipped.",
    )
    t.add_argument("model", metavar="MODEL_DIR", help="classifier model directory")
    t.add_argument("file", metavar="FILE", help="labelled text file (or - for standard input)")
    t.add_argument("--k", type=int, default=1, help="labels predicted an example (default: 1)")
    t.add_argument("--threshold", type=float, default=0.0, help="leave out labels below this probability")
    t.add_argument("--json", action="store_true", help="print the figures as JSON")
    t.set_defaults(handler=run_test)
    p: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="print the most probable labels of each line of text, with probabilities",
        description="Print each line's k most probable labels with their probabilities "
        "(`__label__NAME PROBABILITY ...`, one output line an input line; __label__ tokens in the "
        "input are ignored).",
    )
    p.add_argument("model", metavar="MODEL_DIR", help="classifier model directory")
    p.add_argument(
        "file", metavar="FILE", nargs="?", default=STDIN, help="text file, or - for standard input"
    )
    p.add_argument("--k", type=int, default=1, help="labels a line (default: 1)")
    p.add_argument("--threshold", type=float, default=0.0, help="leave out labels below this probability")
    p.set_defaults(handler=run_predict)


def _classifier(args: argparse.Namespace) -> Classifier:
    if args.k < 1:
        raise ConfigurationError(f"--k must be >= 1, got {args.k}")
    if not 0.0 <= args.threshold <= 1.0:
        raise ConfigurationError(f"--threshold must be between 0 and 1, got {args.threshold}")
    return Classifier.from_artifact(load_artifact(args.model))


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch


def run_test(args: argparse.Namespace) -> int:
    model = _classifier(args)
    known = set(model.labels)
    meter = Meter()
    skipped = 0
    lines = iter_labelled_lines(args.file, model.standardize)
    for batch in _batches(lines, BATCH):
        golds = [[label for label in line.labels if label in known] for line in batch]
        kept = [(gold, line) for gold, line in zip(golds, batch, strict=True) if gold]
        skipped += len(batch) - len(kept)
        rows = [model.token_rows(line.tokens) for _, line in kept]
        for (gold, _), prediction in zip(kept, model.predict_rows(rows, args.k, args.threshold), strict=True):
            meter.log(gold, [label for label, _ in prediction.labels])
    if meter.examples == 0:
        raise ConfigurationError(
            f"{args.file}: no line carries a label the model knows ({', '.join(model.labels)})"
        )
    if args.json:
        print(json.dumps({**meter.as_meta(args.k), "skipped_lines": skipped}, indent=2))
        return 0
    print(f"N\t{meter.examples}")
    print(f"P@{args.k}\t{meter.total.precision:.3f}")
    print(f"R@{args.k}\t{meter.total.recall:.3f}")
    print()
    width = max(len(name) for name in model.labels)
    print(f"{'label':<{width}}  precision  recall     F1  examples")
    for name in model.labels:
        c = meter.labels.get(name)
        if c is None:
            continue
        print(f"{name:<{width}}  {c.precision:9.3f}  {c.recall:6.3f}  {c.f1:5.3f}  {c.gold:8d}")
    if skipped:
        print(f"firth test: {skipped} line(s) skipped: none of their labels is the model's", file=sys.stderr)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    model = _classifier(args)
    stats = CorpusStats()
    files = [args.file]
    out = sys.stdout
    for name in files:
        texts = (line for line, _ in whole_lines(name, stats))
        for batch in _batches(texts, BATCH):
            for prediction in model.predict(batch, args.k, args.threshold):
                out.write(" ".join(f"{LABEL_PREFIX}{label} {p:.5f}" for label, p in prediction.labels) + "\n")
    out.flush()
    return 0
