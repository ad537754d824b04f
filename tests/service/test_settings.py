"""service/settings.py: one Settings class read from the FIRTH_* environment and firth-serve's flags."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from firth_service.app import create_app
from firth_service.settings import Settings, env_name, flag_name, one_per_cpu
from tests.conftest import REPO

FIELDS = list(Settings.model_fields)


def run_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firth_service", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},  # no FIRTH_* variables: tests/conftest.py
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_is_read_when_settings_are_made_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().port == 8000
    monkeypatch.setenv("FIRTH_PORT", "9001")
    monkeypatch.setenv("FIRTH_INDEX_DIR", "/somewhere")
    assert Settings().port == 9001
    assert Settings().index_dir == Path("/somewhere")
    assert create_app().state.settings.port == 9001  # the app without settings reads them then


def test_a_flag_wins_over_the_environment_which_wins_over_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRTH_HOST", "0.0.0.0")
    monkeypatch.setenv("FIRTH_HNSW_EF_SEARCH", "128")
    settings = Settings.from_cli(["--hnsw-ef-search", "256", "--index", "exact"])
    assert (settings.host, settings.hnsw_ef_search, settings.index) == ("0.0.0.0", 256, "exact")
    assert Settings.from_cli([]).hnsw_ef_search == 128
    assert Settings(hnsw_ef_search=16).hnsw_ef_search == 16  # code passing values wins too


def test_models_from_a_comma_list_or_repeated_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_cli([]).models == []
    monkeypatch.setenv("FIRTH_MODELS", "glove-6b-50d, my-sgns,")
    assert Settings().models == ["glove-6b-50d", "my-sgns"]
    assert Settings.from_cli(["--model", "a", "--model", "/m/b"]).models == ["a", "/m/b"]
    assert Settings.from_cli(["--model", "a,b"]).models == ["a", "b"]
    monkeypatch.setenv("FIRTH_MODELS", "")  # empty means unset: every model in models_dir
    assert Settings().models == []


@pytest.mark.parametrize(
    ("text", "value"), [("0", False), ("false", False), ("no", False), ("1", True), ("yes", True)]
)
def test_boolean_variables(monkeypatch: pytest.MonkeyPatch, text: str, value: bool) -> None:
    monkeypatch.setenv("FIRTH_BUILD_HNSW", text)
    assert Settings().build_hnsw is value


def test_boolean_flags() -> None:
    assert Settings.from_cli(["--no-log-json"]).log_json is False
    assert Settings.from_cli(["--no-build-hnsw", "--build-hnsw"]).build_hnsw is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FIRTH_PORT", "http"),
        ("FIRTH_INDEX", "annoy"),
        ("FIRTH_WORKERS", "0"),
        ("FIRTH_VERIFY_CHECKSUMS", "maybe"),
    ],
)
def test_a_bad_value_is_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_workers_default_to_one_per_cpu_the_process_may_use() -> None:
    assert Settings().workers == one_per_cpu() == len(os.sched_getaffinity(0))
    # pinned to one CPU (taskset, a container's cpuset), the default follows
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
        "from firth_service.settings import Settings; print(Settings().workers)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "1", out.stderr


def test_help_lists_every_setting_with_its_variable_and_default() -> None:
    done = run_serve("--help")
    assert done.returncode == 0, done.stderr
    # one entry per flag, its wrapped lines joined
    entries = [" ".join(entry.split()) for entry in re.split(r"\n(?=  -)", done.stdout)]
    for name, field in Settings.model_fields.items():
        (line,) = [e for e in entries if e.startswith((flag_name(name) + " ", flag_name(name) + ","))]
        assert field.description and " ".join(field.description.split()) in line
        assert f"[env: {env_name(name)}]" in line
        if field.default_factory is None and field.default not in (None, ""):
            assert f"(default: {field.default})" in line
    assert "--model " in done.stdout  # the short form kept from before


def test_a_bad_setting_ends_firth_serve_with_one_line() -> None:
    done = run_serve("--index", "exact", env={"FIRTH_PORT": "http"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "firth-serve: error: --port / FIRTH_PORT: Input should be a valid integer, unable to parse string "
        "as an integer (got 'http')"
    ]
    unknown = run_serve("--no-such-flag")
    assert unknown.returncode == 2 and "unrecognized arguments: --no-such-flag" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_readme_configuration_table_names_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Configuration\n", 1)[1].split("\n#", 1)[0]
    rows = [row for row in section.splitlines() if row.startswith("| `FIRTH_")]
    for name, field in Settings.model_fields.items():
        matching = [row for row in rows if f"`{env_name(name)}`" in row]
        assert len(matching) == 1, f"README: no row (or several) for {env_name(name)}"
        row = matching[0]
        assert f"`{flag_name(name)}`" in row, (
            f"README: {env_name(name)}'s row does not name {flag_name(name)}"
        )
        if field.default_factory is None and field.default not in (None, ""):
            default = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
            assert f"`{default}`" in row, (
                f"README: {env_name(name)}'s row does not give its default {default}"
            )


def test_the_version_is_the_package_metadatas() -> None:
    import firth_client

    version = importlib.metadata.version("firth")
    assert create_app(Settings()).openapi()["info"]["version"] == version
    assert firth_client.__version__ == version
