"""Make the blocking client (firth_client/_sync.py) from the async one (firth_client/_async.py).

    .venv/bin/python scripts/unasync.py          # rewrite firth_client/_sync.py
    .venv/bin/python scripts/unasync.py --check  # exit 1 when the committed file differs

Token replacement line by line, as httpcore's scripts/unasync.py does, then ruff sorts the imports
and formats the result (removing `await ` can let a wrapped call fit on one line). Every
replacement must be used, so a rule left over from an older client is noticed.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "firth_client" / "_async.py"
TARGET = REPO / "firth_client" / "_sync.py"

SUBSTITUTIONS: list[tuple[str, str]] = [
    (
        r"^# firth_client/_sync\.py is made from this file by scripts/unasync\.py: edit this one, then run that\.$",
        "# Made from firth_client/_async.py by scripts/unasync.py: edit that file, then run the script.",
    ),
    (r"\bthe asyncio/trio client\b", "the blocking client"),
    (r"\ban async context manager\b", "a context manager"),
    (r"\bAsync([A-Z]\w*)", r"\1"),  # AsyncFirthClient, httpx.AsyncClient, httpx.AsyncBaseTransport
    (r"\basync def\b", "def"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"^import anyio$", "import time"),
    (r"\banyio\.sleep\b", "time.sleep"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]


def _ruff(*args: str, source: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,  # the project's ruff settings
    )
    if done.returncode != 0:
        raise SystemExit(f"unasync: ruff {args[0]} failed:\n{done.stderr}")
    return done.stdout


def generate(async_source: str) -> str:
    """The blocking client's source made from the async client's source."""
    used = [False] * len(_COMPILED)
    lines = []
    for line in async_source.splitlines(keepends=True):
        for index, (pattern, replacement) in enumerate(_COMPILED):
            line, count = pattern.subn(replacement, line)
            used[index] = used[index] or count > 0
        lines.append(line)
    unused = [SUBSTITUTIONS[i][0] for i, was_used in enumerate(used) if not was_used]
    if unused:
        raise SystemExit(f"unasync: these replacements were not used: {unused}")
    sorted_imports = _ruff("check", "--fix", "--select", "I", "--quiet", "--exit-zero", source="".join(lines))
    return _ruff("format", "--quiet", source=sorted_imports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the async client (default: %(default)s)")
    parser.add_argument("--target", type=Path, default=TARGET, help="the sync client (default: %(default)s)")
    args = parser.parse_args(argv)
    expected = generate(args.source.read_text("utf-8"))
    if not args.check:
        args.target.write_text(expected, "utf-8")
        return 0
    actual = args.target.read_text("utf-8") if args.target.exists() else ""
    if actual == expected:
        return 0
    diff = difflib.unified_diff(
        actual.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        f"{args.target} (committed)",
        f"{args.target} (made from {args.source})",
    )
    sys.stderr.write("".join(diff))
    sys.stderr.write(f"unasync: {args.target} is not what scripts/unasync.py makes; run it.\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
