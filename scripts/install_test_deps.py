"""Installs what `make test` needs beside the virtualenv, once and only when it is missing.

- Debian packages, each checked by what the tests use: the browser test drives /usr/bin/chromium
  through node (playwright-core, installed with npm; DejaVu fonts give its screenshots readable
  labels), the compose test validates docker-compose.yml with docker-compose, and the replicas
  test runs /usr/sbin/nginx in front of three servers. Missing ones are
  installed with apt-get when running as root; otherwise one line names the command to run, and
  the script exits 1 before anything else happens.
- tests/browser/node_modules: `npm ci` when it is missing or differs from package-lock.json.

Each command is printed before it runs; `--dry-run` only prints them. `--require PACKAGE=CHECK`
(repeatable) replaces the package list, and `--browser-dir` the npm project (the tests point both
elsewhere). Standard library only, so any Python 3 runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent


class Requirement(NamedTuple):
    package: str  # the Debian package that provides it
    check: str  # an absolute path that must exist, or a command that must be on PATH
    why: str = ""


SYSTEM_PACKAGES = (
    Requirement("chromium", "/usr/bin/chromium", "the browser test"),  # never a downloaded browser
    Requirement("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "its screenshots"),
    Requirement("nodejs", "node", "the browser test"),
    Requirement("npm", "npm", "playwright-core"),
    Requirement("docker-compose", "docker-compose", "the compose test"),  # validates, needs no engine
    Requirement("nginx", "/usr/sbin/nginx", "the replicas test"),  # runs deploy/nginx/firth.conf on loopback
    Requirement("wrk", "wrk", "the replicas test's load"),  # on 127.0.0.1 only, bounded in time
)

APT_UPDATE = shlex.split("apt-get update -qq")
APT_INSTALL = shlex.split("env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends")
NPM_CI = shlex.split("npm ci --no-audit --no-fund")


def is_present(check: str) -> bool:
    return Path(check).exists() if os.path.isabs(check) else shutil.which(check) is not None


def apt_commands(packages: Sequence[str]) -> list[list[str]]:
    """What root runs; `update` only because something is about to be installed."""
    return [APT_UPDATE, [*APT_INSTALL, *packages]]


def not_root_message(missing: Sequence[Requirement]) -> str:
    names = " ".join(r.package for r in missing)
    reasons = ", ".join(f"{r.package} ({r.why})" if r.why else r.package for r in missing)
    return (
        f"make test: the tests need system packages that are missing: {reasons}; installing them needs root, "
        f"so run `sudo apt-get update && sudo apt-get install -y --no-install-recommends {names}`, "
        "then `make test` again"
    )


def node_modules_is_current(project: Path) -> bool:
    """True when npm's record of the installed tree (node_modules/.package-lock.json, the "hidden
    lockfile" npm writes after every install) lists exactly package-lock.json's packages, and each
    of them is on disk."""
    hidden = project / "node_modules" / ".package-lock.json"
    if not hidden.is_file():
        return False
    try:
        wanted = json.loads((project / "package-lock.json").read_text())["packages"]
        installed = json.loads(hidden.read_text())["packages"]
    except (ValueError, KeyError, TypeError):
        return False
    wanted = {path: entry for path, entry in wanted.items() if path}  # "" is the project itself
    return installed == wanted and all((project / path / "package.json").is_file() for path in wanted)


def run(argv: Sequence[str], dry_run: bool, cwd: Path | None = None) -> None:
    """Prints the command (as make does), then runs it unless this is a dry run."""
    line = shlex.join(argv) if cwd is None else f"cd {shlex.quote(str(cwd))} && {shlex.join(argv)}"
    print(line, flush=True)
    if dry_run:
        return
    done = subprocess.run(list(argv), cwd=cwd)
    if done.returncode != 0:
        sys.exit(f"make test: `{line}` failed (exit status {done.returncode})")


def parse_requirement(text: str) -> Requirement:
    package, sep, check = text.partition("=")
    if not (sep and package and check):
        raise argparse.ArgumentTypeError(f"expected PACKAGE=CHECK, got {text!r}")
    return Requirement(package, check)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Installs what `make test` needs beside the virtualenv.")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    parser.add_argument(
        "--require",
        type=parse_requirement,
        action="append",
        metavar="PACKAGE=CHECK",
        help="a Debian package and the absolute path or command that shows it is installed "
        "(repeatable; replaces the default list)",
    )
    parser.add_argument("--browser-dir", type=Path, default=REPO / "tests" / "browser")
    args = parser.parse_args(argv)
    requirements: Sequence[Requirement] = args.require or SYSTEM_PACKAGES

    missing = [r for r in requirements if not is_present(r.check)]
    if missing:
        if os.geteuid() != 0:
            print(not_root_message(missing), file=sys.stderr)
            return 1
        for command in apt_commands([r.package for r in missing]):
            run(command, args.dry_run)
        still = [r.check for r in missing if not is_present(r.check)]
        if still and not args.dry_run:
            sys.exit(f"make test: apt-get finished but {', '.join(still)} is still missing")

    if not node_modules_is_current(args.browser_dir):
        if shutil.which("npm") is None and not args.dry_run:
            sys.exit("make test: npm is missing, so the browser test's playwright-core cannot be installed")
        run(NPM_CI, args.dry_run, cwd=args.browser_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
