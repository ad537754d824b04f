"""scripts/install_test_deps.py, which `make test` runs first, checked without changing the machine.

The package checks are pointed at names that are absent (and at ones that are present), so the
apt-get commands are asserted from --dry-run, never run. The non-root path runs for real under a
dropped uid (nobody) when the suite runs as root, or as the current user otherwise. The npm step
runs npm ci for real in a temporary copy of tests/browser, and a second run must find it current.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install_test_deps.py"
BROWSER = REPO / "tests" / "browser"
NOBODY = 65534

ABSENT = [
    "--require",
    "firth-absent-pkg-a=/nonexistent/firth-absent-file",
    "--require",
    "firth-absent-pkg-b=firth-absent-command",
]
PRESENT = ["--require", "firth-present-file=/bin/sh", "--require", "firth-present-command=sh"]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the apt-get path is taken only as root")


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_test_deps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def current_project(tmp_path: Path) -> Path:
    """A copy of tests/browser whose node_modules npm would leave after `npm ci` (hidden lockfile
    and package folders), made by hand so that the test needs no network."""
    shutil.copy(BROWSER / "package.json", tmp_path)
    shutil.copy(BROWSER / "package-lock.json", tmp_path)
    lock = json.loads((BROWSER / "package-lock.json").read_text())
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert packages, "the browser test has dependencies"
    for path in packages:
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "package.json").write_text("{}")
    hidden = {**{k: v for k, v in lock.items() if k != "packages"}, "packages": packages}
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps(hidden, indent=2))
    return tmp_path


# -- system packages -------------------------------------------------------------------------


@needs_root
def test_root_installs_only_the_absent_packages(current_project: Path) -> None:
    done = run_script("--dry-run", *ABSENT, *PRESENT, "--browser-dir", str(current_project))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "apt-get update -qq",
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "firth-absent-pkg-a firth-absent-pkg-b",
    ]
    assert done.stderr == ""


def test_nothing_missing_runs_nothing(current_project: Path) -> None:
    done = run_script("--dry-run", *PRESENT, "--browser-dir", str(current_project))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_default_checks_name_the_packages_the_tests_use() -> None:
    deps = load_script()
    packages = {r.package: r.check for r in deps.SYSTEM_PACKAGES}
    assert packages == {
        "chromium": "/usr/bin/chromium",  # the path tests/browser/test_explorer.py drives
        "fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "nodejs": "node",
        "npm": "npm",
        "docker-compose": "docker-compose",
        "nginx": "/usr/sbin/nginx",  # the path bench/nginx_process.py runs
        "wrk": "wrk",  # tests/e2e/test_replicas.py's load beside its own clients
    }
    # Where `make test` has run (this suite), every default check holds, so the script is quiet.
    assert all(deps.is_present(check) for check in packages.values())


@pytest.fixture
def readable_by_nobody() -> Iterator[Path]:
    """The script copied where an unprivileged user can read it (pytest's tmp_path is 0700)."""
    with tempfile.TemporaryDirectory(prefix="firth-deps-") as directory:
        here = Path(directory)
        here.chmod(0o755)
        script = here / SCRIPT.name
        shutil.copy(SCRIPT, script)
        script.chmod(0o644)
        yield script


def run_unprivileged(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Runs a Python script without root: as nobody (uid, gid and no supplementary groups) when
    this suite runs as root, with the first interpreter nobody may execute; else as this user."""
    if os.geteuid() != 0:
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
    for python in (sys.executable, shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")):
        if python is None:
            continue
        try:
            return subprocess.run(
                [python, *argv],
                capture_output=True,
                text=True,
                timeout=60,
                cwd="/",
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
            )
        except PermissionError:  # e.g. an interpreter under /root (pyenv): try the system one
            continue
    pytest.skip("no Python interpreter that the nobody user may execute")


def test_without_root_one_line_names_the_command_and_nothing_runs(readable_by_nobody: Path) -> None:
    # Not a dry run: without root the script must stop before apt-get and npm.
    done = run_unprivileged(
        [str(readable_by_nobody), *ABSENT, *PRESENT, "--browser-dir", "/nonexistent/browser"]
    )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends " in line
    assert line.count("firth-absent-pkg-a firth-absent-pkg-b`") == 1
    assert "needs root" in line and "then `make test` again" in line
    assert "firth-present" not in line


def test_a_malformed_requirement_is_one_clear_line() -> None:
    done = run_script("--dry-run", "--require", "chromium")
    assert done.returncode == 2
    assert "expected PACKAGE=CHECK" in done.stderr and "Traceback" not in done.stderr


# -- npm ci in tests/browser ------------------------------------------------------------------


def npm_ci_line(project: Path) -> str:
    return f"cd {project} && npm ci --no-audit --no-fund"


def test_npm_ci_when_node_modules_is_missing(current_project: Path) -> None:
    shutil.rmtree(current_project / "node_modules")
    done = run_script("--dry-run", *PRESENT, "--browser-dir", str(current_project))
    assert (done.returncode, done.stdout) == (0, npm_ci_line(current_project) + "\n")


def test_npm_ci_when_the_lockfile_changed(current_project: Path) -> None:
    lock = json.loads((current_project / "package-lock.json").read_text())
    path = next(p for p in lock["packages"] if p)
    lock["packages"][path]["version"] = "0.0.0-changed"
    (current_project / "package-lock.json").write_text(json.dumps(lock))
    done = run_script("--dry-run", *PRESENT, "--browser-dir", str(current_project))
    assert (done.returncode, done.stdout) == (0, npm_ci_line(current_project) + "\n")


def test_npm_ci_when_a_package_folder_is_gone(current_project: Path) -> None:
    lock = json.loads((current_project / "package-lock.json").read_text())
    shutil.rmtree(current_project / next(p for p in lock["packages"] if p))
    done = run_script("--dry-run", *PRESENT, "--browser-dir", str(current_project))
    assert (done.returncode, done.stdout) == (0, npm_ci_line(current_project) + "\n")


@pytest.mark.slow
def test_real_npm_ci_once_then_current(tmp_path: Path) -> None:
    """npm's own output is what the second run reads: a real `npm ci`, then nothing to do."""
    shutil.copy(BROWSER / "package.json", tmp_path)
    shutil.copy(BROWSER / "package-lock.json", tmp_path)
    first = run_script(*PRESENT, "--browser-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "node_modules" / "playwright-core" / "package.json").is_file()
    again = run_script("--dry-run", *PRESENT, "--browser-dir", str(tmp_path))
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


# -- the wiring: `make test` runs it, and CI runs only `make test` ----------------------------


def test_make_test_runs_the_script_before_pytest() -> None:
    done = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    script = lines.index(".venv/bin/python scripts/install_test_deps.py")
    assert script == lines.index(".venv/bin/python -m pytest -q") - 1


def test_ci_runs_the_readme_command_and_nothing_else() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
    assert not any(word in ci for word in ("apt-get", "npm"))
    # The README's opening lines say what `make test` may install.
    opening = (REPO / "README.md").read_text().split("\n## ", 1)[0]
    for requirement in load_script().SYSTEM_PACKAGES:
        assert f"`{requirement.package}`" in opening
    assert "`npm ci`" in opening
