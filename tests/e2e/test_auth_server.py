"""API keys end to end: the real `firth-serve` (two workers) started with keys files, asked over
TCP with httpx and the typed client; its whole log is then searched for the keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.server_process import ServerProcess
from firth_client import FirthClient, ForbiddenError, UnauthorizedError
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

API_KEY = "e2e-api-key-Vb7Qm2Lx9Tn4"
ADMIN_KEY = "e2e-admin-key-Rk3Wz8Jc5Yh1"
WRONG_KEY = "e2e-wrong-key-Gd6Pf1Ns0Ua2"


@pytest.fixture(scope="module")
def keyed_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    secrets = tmp_path_factory.mktemp("secrets")
    (secrets / "keys").write_text(f"# test clients\n{API_KEY}  # the e2e test\n")
    (secrets / "admin").write_text(ADMIN_KEY + "\n")
    env = {
        "FIRTH_MODELS": str(tiny_model_dir),
        "FIRTH_INDEX": "exact",
        "FIRTH_WORKERS": "2",
        "FIRTH_API_KEYS": str(secrets / "keys"),
        "FIRTH_ADMIN_KEY": str(secrets / "admin"),
        "FIRTH_LOG_LEVEL": "trace",  # the most it logs: uvicorn's ASGI messages too (headers as <...>)
        "FIRTH_LOG_JSON": "1",
    }
    with ServerProcess(env=env) as server:
        yield server


def test_keys_decide_401_or_200(keyed_server: ServerProcess) -> None:
    url = keyed_server.url
    with httpx.Client(base_url=url, timeout=10) as http:
        for _ in range(8):  # new connections: both workers read the keys file
            with httpx.Client(base_url=url, timeout=10) as fresh:
                refused = fresh.get("/v1/models")
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == 'Bearer realm="firth"'
                assert refused.headers["content-type"] == "application/problem+json"
                assert (
                    fresh.get("/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
                )
        wrong = http.get("/v1/models", headers={"Authorization": f"Bearer {WRONG_KEY}"})
        assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert http.get("/healthz").status_code == 200 and http.get("/readyz").status_code == 200
        assert http.get("/").status_code == 200 and http.get("/openapi.json").json()["security"] == [
            {"bearerAuth": []}
        ]
        assert http.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 403
        metrics = http.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert metrics.status_code == 200 and 'status="401"' in metrics.text  # refusals are counted


def test_the_client_sends_api_key(keyed_server: ServerProcess) -> None:
    with FirthClient(keyed_server.url, api_key=API_KEY) as firth:
        assert firth.similarity("frog", "toad") > 0.9
        assert API_KEY not in repr(firth)
    for key in (None, WRONG_KEY):
        with FirthClient(keyed_server.url, api_key=key) as firth:
            with pytest.raises(UnauthorizedError) as caught:
                firth.models()
            assert caught.value.status == 401
            assert firth.health().status == "ok"  # the probes stay open
    with FirthClient(keyed_server.url, api_key=API_KEY) as firth, pytest.raises(ForbiddenError):
        firth.metrics()
    with FirthClient(keyed_server.url, api_key=ADMIN_KEY) as firth:
        assert "firth_http_requests_total" in firth.metrics()


def test_keys_never_reach_the_log(keyed_server: ServerProcess) -> None:
    """Runs last in this module: the requests above (right, wrong and admin keys) are all logged."""
    with httpx.Client(base_url=keyed_server.url, timeout=10) as http:
        for key in (API_KEY, WRONG_KEY, ADMIN_KEY):
            http.get("/v1/models/default/vectors/unknownword", headers={"Authorization": f"Bearer {key}"})
    log = keyed_server.log.read_text(errors="replace")
    assert '"route":"/v1/models"' in log and '"status":401' in log  # the access lines are there
    assert "access: 1 API key(s); admin key set" in log
    for key in (API_KEY, WRONG_KEY, ADMIN_KEY):
        assert key not in log


def test_a_bad_keys_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nobody yet\n")
    for setting, value, message in (
        ("--api-keys", str(tmp_path / "missing"), "cannot read the keys file: No such file or directory"),
        ("--api-keys", str(empty), "the keys file holds no key"),
        ("--admin-key", str(tmp_path), "the keys file is not a regular file"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "firth_service", setting, value, "--port", "1"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("firth-serve: error: ") and message in lines[0], lines
