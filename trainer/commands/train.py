"""`firth train`: corpus -> word2vec (skip-gram, CBOW) or GloVe -> model directory."""

from __future__ import annotations

import argparse
from typing import Any

from trainer.glove import GloveParams
from trainer.pipeline import DEFAULT_STANDARDIZE, TrainConfig, train_model
from trainer.scoring import summary
from trainer.word2vec import Word2VecParams

_W2V = Word2VecParams()
_GLOVE = GloveParams()


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train word embeddings on a text corpus (word2vec skip-gram/CBOW or GloVe)",
        description=(
            "Train embeddings on a corpus (a text file: plain, .gz, .bz2 or .xz; a directory of them; "
            "or - for standard input; one sentence a line) and write a model directory the service "
            "serves. Flags left out take the algorithm's classic defaults, shown in brackets."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--algorithm",
        choices=("sgns", "cbow", "glove"),
        default="sgns",
        help="sgns: skip-gram with negative sampling; cbow: CBOW with negative sampling; glove: GloVe",
    )
    p.add_argument("--corpus", required=True, metavar="PATH", help="text file, directory, or - for stdin")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write")
    p.add_argument("--name", help="model name in meta.json (default: the directory's name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    g = p.add_argument_group("vocabulary")
    g.add_argument(
        "--standardize",
        default=DEFAULT_STANDARDIZE,
        choices=("none", "lower", "lower_and_strip_punctuation"),
        help="how words are normalised; the service applies the same to queries",
    )
    g.add_argument("--min-count", type=int, default=5, help="drop words seen fewer times")
    g.add_argument("--max-vocab", type=int, default=None, help="keep at most this many most frequent words")
    g = p.add_argument_group("both algorithms")
    g.add_argument("--dim", type=int, default=_W2V.dim, help="vector dimension")
    g.add_argument(
        "--window",
        type=int,
        default=None,
        help=f"context words on each side [word2vec {_W2V.window}, glove {_GLOVE.window}]",
    )
    g.add_argument(
        "--epochs",
        "--iter",
        dest="epochs",
        type=int,
        default=None,
        help=f"passes over the corpus / co-occurrences [word2vec {_W2V.epochs}, glove {_GLOVE.epochs}]",
    )
    g.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="word2vec: initial learning rate [sgns 0.025, cbow 0.05]; "
        f"glove: exponent of the weighting function [{_GLOVE.alpha}]",
    )
    g.add_argument("--threads", type=int, default=0, help="worker threads (0: every core)")
    g.add_argument(
        "--seed", type=int, default=1, help="random seed; with --threads 1 runs are bit-for-bit equal"
    )
    g = p.add_argument_group("word2vec")
    g.add_argument("--negative", type=int, default=_W2V.negative, help="negative samples an example")
    g.add_argument(
        "--sample", type=float, default=_W2V.sample, help="frequent-word subsampling threshold (0: off)"
    )
    g.add_argument("--min-alpha", type=float, default=_W2V.min_alpha, help="final learning rate")
    g = p.add_argument_group("glove")
    g.add_argument("--x-max", type=float, default=_GLOVE.x_max, help="cutoff of the weighting function")
    g.add_argument("--eta", type=float, default=_GLOVE.eta, help="initial AdaGrad learning rate")
    g.add_argument("--grad-clip", type=float, default=_GLOVE.grad_clip, help="gradient clipping value")
    g.add_argument(
        "--memory",
        type=float,
        default=_GLOVE.memory_gb,
        help="GiB for co-occurrence counting and shuffling before spilling to disk",
    )
    g = p.add_argument_group("output")
    g.add_argument(
        "--evaluate",
        action="store_true",
        help="score on questions-words, wordsim353 and simlex999 and record the scores in meta.json",
    )
    g.add_argument("--tmp-dir", default=None, help="directory for work files (default: the system's)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar or status lines")
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    threads, seed = args.threads, args.seed
    word2vec = Word2VecParams(
        algorithm=args.algorithm if args.algorithm != "glove" else "sgns",
        dim=args.dim,
        window=args.window if args.window is not None else _W2V.window,
        negative=args.negative,
        epochs=args.epochs if args.epochs is not None else _W2V.epochs,
        sample=args.sample,
        alpha=args.alpha,
        min_alpha=args.min_alpha,
        threads=threads,
        seed=seed,
    )
    glove = GloveParams(
        dim=args.dim,
        window=args.window if args.window is not None else _GLOVE.window,
        epochs=args.epochs if args.epochs is not None else _GLOVE.epochs,
        x_max=args.x_max,
        alpha=args.alpha if args.alpha is not None else _GLOVE.alpha,
        eta=args.eta,
        grad_clip=args.grad_clip,
        memory_gb=args.memory,
        threads=threads,
        seed=seed,
    )
    return TrainConfig(
        algorithm=args.algorithm,
        corpus=args.corpus,
        out=args.out,
        name=args.name,
        standardize=args.standardize,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        evaluate=args.evaluate,
        overwrite=args.overwrite,
        quiet=args.quiet,
        tmp_dir=args.tmp_dir,
        word2vec=word2vec,
        glove=glove,
    )


def run(args: argparse.Namespace) -> int:
    path, meta = train_model(config_from_args(args))
    if not args.quiet:
        t = meta["training"]
        rate = f", {t['words_per_second']:,} words/s" if t.get("words_per_second") else ""
        print(
            f"wrote {path}: {meta['corpus']['vocab_size']:,} words x {args.dim} "
            f"({meta['algorithm']['name']}, {t['seconds']:.1f} s training{rate}, final loss {t['final_loss']:.4f})"
        )
        for name, result in meta.get("evaluation", {}).items():
            print(summary(name, result))
    return 0
