"""The `firth` command line. Each subcommand lives in trainer/commands/ and registers itself.

Errors a user can cause (bad file, bad flag value, not enough memory or disk) end the program
with one clear line on stderr and exit status 2; never a traceback. SIGTERM, like Ctrl-C, unwinds
the program so its temporary files are removed, then exits 143 (128 + SIGTERM) with one line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType

from firth_core.errors import FirthError

# Subcommand modules, in the order `firth --help` lists them.
COMMAND_MODULES = (
    "firth_trainer.commands.train",
    "firth_trainer.commands.evaluate",
    "firth_trainer.commands.classify",
    "firth_trainer.commands.formats",
)


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


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives, so `with` blocks and `finally` clauses run
    (the default action would end the process at once, leaving /tmp/firth-train-* behind)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_unwinds():
            return int(args.handler(args) or 0)
    except FirthError as exc:
        print(f"firth {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:  # an allocation the memory checks did not foresee
        print(f"firth {args.command}: error: out of memory; nothing was written", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"firth {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"firth {args.command}: terminated; nothing was written", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
