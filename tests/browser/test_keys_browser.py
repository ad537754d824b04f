"""The explorer's key field and Swagger UI's Authorize button, in a real browser, against the real
server process started with FIRTH_API_KEYS (keys.spec.mjs drives Debian's Chromium)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.server_process import ServerProcess
from tests.browser.test_explorer import ARTIFACTS, HERE, _node

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
KEY = "browser-key-Tq4Xs8Mn2Kd7"


@pytest.fixture(scope="module")
def keyed_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    keys = tmp_path_factory.mktemp("secrets") / "keys"
    keys.write_text(KEY + "\n")
    env = {"FIRTH_MODELS": str(tiny_model_dir), "FIRTH_INDEX": "exact", "FIRTH_API_KEYS": str(keys)}
    with ServerProcess(env=env) as server:
        yield server


@pytest.fixture(scope="module")
def report(keyed_server: ServerProcess) -> dict[str, Any]:
    node = _node()
    for old in ARTIFACTS.glob("keys-*.png"):
        old.unlink()
    done = subprocess.run(
        [node, str(HERE / "keys.spec.mjs"), keyed_server.url, KEY, str(ARTIFACTS)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        pytest.fail(
            f"the browser run failed ({done.returncode}):\n{done.stderr[-4000:]}{done.stdout[-1000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_explorer_asks_for_the_key_and_then_works(
    keyed_server: ServerProcess, report: dict[str, Any]
) -> None:
    assert "needs an API key" in report["asked"]
    assert "refused" in report["refused"]
    api = httpx.get(
        f"{keyed_server.url}/v1/models/default/neighbors",
        params={"word": "frog", "k": 10},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()
    assert report["list"] == [n["word"] for n in api["neighbors"]]
    assert report["models"] == ["tiny"]
    encoded = httpx.post(
        f"{keyed_server.url}/v1/models/default/encode",
        json={"texts": ["the frog"], "output_sequence_length": 12},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()
    assert report["pipelineIds"] == encoded["ids"][0]
    asked = {path for _, path in report["statuses"]}
    assert {f"/v1/models/tiny/{step}" for step in ("encode", "vectors", "embed", "neighbors")} <= asked
    # 401 without a key and with the wrong one; every call after the right key answered 200
    statuses = report["statuses"]
    assert statuses[:2] == [[401, "/v1/models"], [401, "/v1/models"]]
    assert statuses[2:] and all(status == 200 for status, _ in statuses[2:])


def test_swagger_ui_authorize_button_sends_the_key(report: dict[str, Any]) -> None:
    assert report["swaggerStatus"] == "200"
    assert report["curlHasBearer"]
