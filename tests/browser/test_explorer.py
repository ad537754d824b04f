"""The explorer page in a real browser, on the real default model served by the real server process.

explorer.spec.mjs drives Debian's /usr/bin/chromium through playwright-core and prints what the
page showed; this test compares that with the service's own API answers. Screenshots land in
test-artifacts/explorer-*.png. Chromium, node and playwright-core are installed by `make test`
(scripts/install_test_deps.py): without them the test fails (it never skips and never downloads a
browser).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.server_process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make test` installs Debian's nodejs (scripts/install_test_deps.py)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (never a download)")
    if not (HERE / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.fail(f"playwright-core is missing: `make test` runs npm ci in {HERE}")
    return node


@pytest.fixture(scope="module")
def server(default_server: ServerProcess) -> str:
    return default_server.url


@pytest.fixture(scope="module")
def page_report(server: str) -> dict[str, Any]:
    node = _node()
    shots = ARTIFACTS
    for old in shots.glob("explorer-*.png"):
        old.unlink()
    done = subprocess.run(
        [node, str(HERE / "explorer.spec.mjs"), server, str(shots)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        pytest.fail(
            f"the browser run failed ({done.returncode}):\n{done.stderr[-4000:]}{done.stdout[-1000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_served_page_and_assets(server: str) -> None:
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("explorer.js", "explorer.css"):
        assert httpx.get(f"{server}/static/explorer/{asset}").status_code == 200
    # no CDN: every script and stylesheet the page names is served here
    assert "http://" not in page.text and "https://" not in page.text


def test_word_flow_matches_the_api(server: str, page_report: dict[str, Any]) -> None:
    api = httpx.get(f"{server}/v1/models/default/neighbors", params={"word": "frog", "k": 10}).json()
    expected = [n["word"] for n in api["neighbors"]]
    word = page_report["word"]
    assert word["list"] == expected
    assert word["sims"] == pytest.approx([round(n["similarity"], 3) for n in api["neighbors"]], abs=1e-3)
    roles = dict(word["points"])
    assert roles["frog"] == "query"
    assert {w for w, r in roles.items() if r == "neighbor"} == set(expected)
    # depth 2: the map also holds every neighbour's own neighbours
    second = httpx.post(
        f"{server}/v1/models/default/neighbors/batch",
        json={"queries": [{"positive": [w], "k": 10} for w in expected]},
    ).json()
    around = {n["word"] for r in second["results"] for n in r["neighbors"]}
    assert set(roles) == {"frog", *expected, *around}


def test_unknown_word_shows_the_api_suggestions(server: str, page_report: dict[str, Any]) -> None:
    problem = httpx.get(f"{server}/v1/models/default/vectors/womann")
    assert problem.status_code == 404
    unknown = page_report["unknown"]
    assert "not in the vocabulary" in unknown["message"]
    assert unknown["suggestions"] == problem.json()["suggestions"]
    assert "woman" in unknown["suggestions"]


def test_analogy_flow_draws_the_two_offsets(server: str, page_report: dict[str, Any]) -> None:
    api = httpx.get(f"{server}/v1/models/default/analogy", params={"a": "man", "b": "king", "c": "woman"})
    answer = api.json()["answer"]
    assert answer == "queen"  # GloVe 6B's best-known analogy; the figure needs it
    analogy = page_report["analogy"]
    assert analogy["answer"] == answer
    assert analogy["list"] == [n["word"] for n in api.json()["neighbors"]]
    roles = dict(analogy["points"])
    assert [roles["man"], roles["king"], roles["woman"], roles["queen"]] == ["a", "b", "c", "answer"]
    assert analogy["arrows"] == [["man", "king"], ["woman", "queen"]]
    assert page_report["tsne"]["caption"].startswith("t-SNE of 13 unit vectors")


def test_screenshots_saved(page_report: dict[str, Any]) -> None:
    for name in ("word", "unknown", "analogy", "tsne"):
        shot = ARTIFACTS / f"explorer-{name}.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert shot.stat().st_size > 20_000, f"{shot} looks blank"
