"""`firth train`'s work directory, and those left behind by runs that were killed.

SIGTERM and Ctrl-C remove a run's work directory (trainer/cli.py), but `kill -9`, the OOM killer
or a power loss cannot. So each work directory records who owns it, in its name
(`firth-train-PID-START-…`) and in an owner file written inside it first, and a later run removes
those under the same parent whose owner has provably ended. A directory is removed only if all hold:
- it is a real directory (never a symlink, which is not followed) owned by this user, with a
  regular owner file (never a symlink) whose record matches the name;
- its owner ran on this host (the same host name), and either the machine has rebooted since
  (another boot id), or it ran in this pid namespace and no process with its pid and start time
  is alive (a reused pid has another start time).
Anything else (another user's, a live run's, one from a container sharing the directory, one
whose owner file is not yet written, anything not made by firth) is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PREFIX = "firth-train-"
OWNER_FILE = ".firth-train-owner"
_NAME = re.compile(rf"{re.escape(PREFIX)}(\d+)-(\d+)-[A-Za-z0-9_]+")
_PROC = Path("/proc")


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/PID/stat field 22), None if gone."""
    try:
        stat_line = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat_line.rsplit(")", 1)[1].split()[19])


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _identity() -> dict[str, Any] | None:
    """This process as an owner record, or None where /proc cannot tell (then nothing is removed)."""
    start = _start_ticks(os.getpid())
    boot = _read(_PROC / "sys/kernel/random/boot_id")
    try:
        pid_ns = os.readlink(_PROC / "self/ns/pid")
    except OSError:
        return None
    if start is None or boot is None:
        return None
    return {
        "pid": os.getpid(),
        "start": start,
        "boot_id": boot,
        "pid_ns": pid_ns,
        "host": socket.gethostname(),
    }


@contextlib.contextmanager
def work_directory(parent: str | None) -> Iterator[Path]:
    """A new work directory under `parent` (or the system's), removed at the end; those left by
    ended runs are removed first."""
    me = _identity()
    if me is not None:
        remove_abandoned(Path(parent or tempfile.gettempdir()), me)
    prefix = f"{PREFIX}{me['pid']}-{me['start']}-" if me is not None else f"{PREFIX}0-0-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as tmp:
        if me is not None:
            with open(Path(tmp) / OWNER_FILE, "x") as owner:
                json.dump(me, owner)
        yield Path(tmp)


def remove_abandoned(parent: Path, me: dict[str, Any]) -> list[Path]:
    """Remove the work directories under `parent` whose owner has provably ended; returns them."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for path in entries:
        if _NAME.fullmatch(path.name) and _abandoned(path, me):
            with contextlib.suppress(OSError):
                shutil.rmtree(path)  # does not follow symlinks inside it
                removed.append(path)
    return removed


def _abandoned(path: Path, me: dict[str, Any]) -> bool:
    try:
        info = path.lstat()
        owner_info = (path / OWNER_FILE).lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        if not stat.S_ISREG(owner_info.st_mode) or owner_info.st_size > 4096:
            return False
        record = json.loads((path / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False
    matched = _NAME.fullmatch(path.name)
    if not isinstance(record, dict) or matched is None:
        return False
    if [record.get("pid"), record.get("start")] != [int(matched[1]), int(matched[2])]:
        return False
    if record.get("host") != me["host"]:
        return False  # another machine, or a container with its own host name, sharing the directory
    if record.get("boot_id") != me["boot_id"]:
        return True  # the machine has rebooted since: every process of that boot has ended
    if record.get("pid_ns") != me["pid_ns"]:
        return False  # its pid means another process here
    return _start_ticks(int(record["pid"])) != record["start"]
