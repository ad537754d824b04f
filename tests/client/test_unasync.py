"""The blocking client is made from the async one by scripts/unasync.py: the committed file must be
exactly what the script makes, and the script's check must notice a difference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "unasync.py"
ASYNC_CLIENT = REPO / "firth_client" / "_async.py"
SYNC_CLIENT = REPO / "firth_client" / "_sync.py"


def _unasync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_committed_sync_client_is_what_the_script_makes() -> None:
    done = _unasync("--check")
    assert done.returncode == 0, f"run `python scripts/unasync.py`:\n{done.stderr}"


def test_the_check_fails_on_a_hand_edit_and_the_script_repairs_it(tmp_path: Path) -> None:
    edited = tmp_path / "_sync.py"
    committed = SYNC_CLIENT.read_text("utf-8")
    edited.write_text(committed.replace("retries: int = 3,", "retries: int = 5,", 1), "utf-8")
    done = _unasync("--check", "--target", str(edited))
    assert done.returncode == 1
    assert "-        retries: int = 5,\n+        retries: int = 3,\n" in done.stderr
    assert _unasync("--target", str(edited)).returncode == 0
    assert edited.read_text("utf-8") == committed


def test_an_edit_of_the_async_client_reaches_the_sync_one(tmp_path: Path) -> None:
    source = tmp_path / "_async.py"
    source.write_text(
        ASYNC_CLIENT.read_text("utf-8").replace(
            "    async def models(self) -> list[ModelInfo]:\n",
            '    async def models(self) -> list[ModelInfo]:\n        """Every model served."""\n',
        ),
        "utf-8",
    )
    target = tmp_path / "_sync.py"
    assert _unasync("--source", str(source), "--target", str(target)).returncode == 0
    made = target.read_text("utf-8")
    assert '    def models(self) -> list[ModelInfo]:\n        """Every model served."""\n' in made
    assert "async " not in made and "await " not in made and "anyio" not in made
    assert _unasync("--check", "--target", str(target)).returncode == 1  # differs from the committed one
