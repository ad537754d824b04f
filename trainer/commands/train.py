"""`firth train`: corpus -> word2vec (skip-gram, CBOW), fastText or GloVe -> model directory.

The hyperparameter flags and their defaults come from the tables beside the trainers
(trainer/commands/param_flags.py builds them); this module adds the run's own flags.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Iterator
from typing import Any

from firth_core.errors import ConfigurationError
from firth_core.evaluation import BENCHMARK_NAMES, summary
from firth_trainer import finetune
from firth_trainer.commands.param_flags import add_param_flags, params_from_args
from firth_trainer.pipeline import ALGORITHMS, SUMMARIES, TrainConfig, train_model
from firth_trainer.vocab import VocabParams

_VOCAB = {"vocabulary": VocabParams()}
# fastText's supervised minCount is 1: a classifier's rare words still carry the label.
_VOCAB_FOR = {"supervised": {"vocabulary": dataclasses.replace(VocabParams(), min_count=1)}}


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train word embeddings on a text corpus (word2vec skip-gram/CBOW, fastText or GloVe)",
        description=(
            "Train embeddings on a corpus (a text file: plain, .gz, .bz2 or .xz; a directory of them; "
            "or - for standard input; one sentence a line) and write a model directory the service "
            "serves. Flags left out take the algorithm's classic defaults, shown in brackets."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--algorithm",
        choices=tuple(ALGORITHMS),
        default=next(iter(ALGORITHMS)),
        help="; ".join(f"{name}: {text}" for name, text in SUMMARIES.items()),
    )
    p.add_argument("--corpus", required=True, metavar="PATH", help="text file, directory, or - for stdin")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write")
    p.add_argument("--name", help="model name in meta.json (default: the directory's name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    add_param_flags(p, _VOCAB, "vocabulary")
    add_param_flags(p, ALGORITHMS, "all algorithms")
    s = p.add_argument_group("supervised starting point")
    s.add_argument(
        "--pretrained",
        metavar="MODEL_DIR",
        help="supervised: start the word rows from this model's vectors, matched by word (its "
        "dimension must equal --dim); words it lacks start random",
    )
    s.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="supervised: keep the word rows fixed (a frozen Embedding layer): only the label layer learns",
    )
    ft = p.add_argument_group(
        "fine-tuning",
        f"continue a model on this corpus ({finetune.FINE_TUNABLE_TEXT}; fasttext continues a subword "
        "model, keeping its n-gram scheme): its words keep their "
        "order and start from their vectors, new words above --min-count (at most --max-vocab of "
        "them) get fresh rows; --dim and --standardize are the parent's, and --window, --negative "
        "and --sample default to the parent's when it recorded them",
    )
    ft.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="the model to start from (trained or imported; --epochs 0 copies its rows unchanged)",
    )
    ft.add_argument(
        "--lock-old",
        action="store_true",
        help="keep the parent's word vectors fixed (gensim's vectors_lockf); only new words move",
    )
    g = p.add_argument_group("output")
    g.add_argument(
        "--evaluate",
        action="store_true",
        help=f"score on {', '.join(BENCHMARK_NAMES)} and record the scores in meta.json",
    )
    g.add_argument("--tmp-dir", default=None, help="directory for work files (default: the system's)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar or status lines")
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    params = params_from_args(args, args.algorithm, ALGORITHMS)
    if args.pretrained is not None or args.freeze_embeddings:
        if args.algorithm != "supervised":
            flag = "--pretrained" if args.pretrained is not None else "--freeze-embeddings"
            raise ConfigurationError(f"{flag} applies to --algorithm supervised only, not {args.algorithm}")
        params = dataclasses.replace(
            params, pretrained=args.pretrained, freeze_embeddings=args.freeze_embeddings
        )
    vocab = params_from_args(args, "vocabulary", _VOCAB_FOR.get(args.algorithm, _VOCAB))
    parent = None
    if args.init_from is not None:
        params, vocab, parent = finetune.prepare(
            args.init_from, params, vocab, given=set(vars(args)), lock_old=args.lock_old
        )
    elif args.lock_old:
        raise ConfigurationError(
            "--lock-old keeps a parent model's rows fixed: it needs --init-from MODEL_DIR"
        )
    return TrainConfig(
        corpus=args.corpus,
        out=args.out,
        params=params,
        vocab=vocab,
        name=args.name,
        evaluate=args.evaluate,
        overwrite=args.overwrite,
        quiet=args.quiet,
        tmp_dir=args.tmp_dir,
        parent=parent,
    )


@contextlib.contextmanager
def _warning_lines() -> Iterator[None]:
    """The trainer's logged warnings as `firth train: warning: ...` lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("firth train: warning: %(message)s"))
    logger = logging.getLogger("firth_trainer")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def run(args: argparse.Namespace) -> int:
    with _warning_lines():
        path, meta = train_model(config_from_args(args))
    if not args.quiet and "classifier" in meta:
        t, c = meta["training"], meta["classifier"]
        print(
            f"wrote {path}: {len(c['labels'])} labels, {meta['corpus']['vocab_size']:,} words x "
            f"{meta['algorithm']['dim']} ({c['examples']:,} examples, {t['seconds']:.1f} s training, "
            f"final loss {t['final_loss']:.4f})"
        )
    elif not args.quiet:
        t = meta["training"]
        rate = f", {t['words_per_second']:,} words/s" if t.get("words_per_second") else ""
        loss = "" if t["final_loss"] is None else f", final loss {t['final_loss']:.4f}"
        print(
            f"wrote {path}: {meta['corpus']['vocab_size']:,} words x {meta['algorithm']['dim']} "
            f"({meta['algorithm']['name']}, {t['seconds']:.1f} s training{rate}{loss})"
        )
        if "init_from" in meta:
            f = meta["init_from"]
            locked = ", its rows locked" if f["lock_old"] else ""
            print(f"continued {f['name']} ({f['words']:,} words{locked}) with {f['new_words']:,} new words")
    if not args.quiet:
        for name, result in meta.get("evaluation", {}).items():
            print(summary(name, result))
    return 0
