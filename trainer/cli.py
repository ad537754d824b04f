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


# An exception raised inside numba's compiler (a first run, or a cache gone stale) lands in its
# locks, in llvmlite's C callbacks and __del__ methods, which swallow it and go on broken: the run
# then hangs for ever (a compiler lock never released), crashes, or ends in a traceback, and its
# work directory stays behind. So the signal is taken again a moment later, once it has returned.
_JIT_MODULES = ("numba", "llvmlite")
_RETRY_SECONDS = 0.05


def _in_jit_compiler(frame: FrameType | None) -> bool:
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).partition(".")[0] in _JIT_MODULES:
            return True
        frame = frame.f_back
    return False


_pending: list[int] = []  # the signal (SIGTERM or SIGINT) put off until the compiler returns


def _unwind(signum: int, frame: FrameType | None) -> None:
    """SIGTERM's and SIGINT's handler, and SIGALRM's, which takes up a signal put off."""
    if signum == signal.SIGALRM:
        if not _pending:
            return
        signum = _pending[0]
    if _in_jit_compiler(frame):
        _pending[:] = [signum]
        signal.setitimer(signal.ITIMER_REAL, _RETRY_SECONDS)
        return
    _pending.clear()
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGTERM, _unwind)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        yield
        return
    previous_alarm = signal.signal(signal.SIGALRM, _unwind)
    # Ctrl-C as Python's own handler would, but put off likewise (left alone when ignored: nohup, &)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, _unwind)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _pending.clear()
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGALRM, previous_alarm)
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
