"""Running the real `firth` console script in tests, and checking its one-line errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def firth_script() -> Path:
    script = Path(sys.executable).parent / "firth"
    if not script.exists():
        pytest.skip("the firth console script is not installed next to this interpreter")
    return script


def firth(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(firth_script()), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


def one_error_line(done: subprocess.CompletedProcess[str], command: str) -> str:
    """Assert exit status 2 and exactly one line `firth COMMAND: error: ...` on stderr; return it."""
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"firth {command}: error: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def char_device(path: Path, major: int, minor: int) -> Path:
    """A character device node made in the test's own directory (1, 3 is null; 1, 5 is zero)."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("mknod is not permitted here")
    return path
