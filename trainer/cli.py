"""The `firth` command line. Each subcommand lives in trainer/commands/ and registers itself.

Errors a user can cause (bad file, bad flag value) end the program with one clear line on
stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from firth_core.errors import FirthError

# Subcommand modules, in the order `firth --help` lists them.
COMMAND_MODULES = ("trainer.commands.train", "trainer.commands.evaluate", "trainer.commands.formats")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="firth",
        description="Train, import, export and evaluate word-embedding models for the firth service.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # a command group not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FirthError as exc:
        print(f"firth {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"firth {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
