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
import numpy as np
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
    for asset in ("explorer.js", "pipeline.js", "explorer.css"):
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


def _unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_pipeline_panel_shows_the_apis_tokens_ids_vectors_mean_and_neighbours(
    server: str, page_report: dict[str, Any]
) -> None:
    text = "The Frog sat by the quiet pond, croaking"
    base = f"{server}/v1/models/default"
    embedded = httpx.post(f"{base}/embed", json={"texts": [text]}).json()
    encoded = httpx.post(
        f"{base}/encode", json={"texts": [text], "output_mode": "int", "output_sequence_length": 12}
    ).json()
    near = httpx.post(f"{base}/neighbors", json={"text": text, "k": 10}).json()
    sentence = page_report["sentence"]
    tokens = embedded["texts"][0]
    assert [t for t, _ in sentence["tokens"]] == tokens["tokens"]
    assert [t for t, c in sentence["tokens"] if c == "oov"] == tokens["oov"] == ["pond,"]
    # ids: the API's, pads shown as pad, the unknown word as [UNK], the others as their token
    assert [c["id"] for c in sentence["ids"]] == encoded["ids"][0]
    assert encoded["ids"][0][8:] == [0, 0, 0, 0] and encoded["ids"][0][6] == 1
    labels = [*tokens["tokens"][:6], "[UNK]", tokens["tokens"][7], "pad", "pad", "pad", "pad"]
    assert [c["label"] for c in sentence["ids"]] == labels
    # one strip a token: the API's word vectors at unit length, and nothing for the unknown one
    strip = sentence["strip"]
    assert [r["token"] for r in strip] == tokens["tokens"]
    known = [t for t in tokens["tokens"] if t not in tokens["oov"]]
    vectors = httpx.post(f"{base}/vectors", json={"words": known}).json()["vectors"]
    expected = {v["input"]: _unit(v["vector"]) for v in vectors}
    for row in strip:
        if row["oov"]:
            assert row["values"] == []
        else:
            np.testing.assert_allclose(row["values"], expected[row["token"]], atol=1e-6)
    # step 4 is the mean of step 3's rows (pre_normalize), as /embed computes it
    mean_of_rows = np.mean([r["values"] for r in strip if not r["oov"]], axis=0)
    np.testing.assert_allclose(mean_of_rows, embedded["vectors"][0], atol=1e-6)
    np.testing.assert_allclose(sentence["mean"]["values"], embedded["vectors"][0], atol=1e-6)
    assert sentence["bars"] == pytest.approx(embedded["vectors"][0], abs=1e-6)
    assert sentence["neighbors"] == [n["word"] for n in near["neighbors"]]


def test_pipeline_panel_with_no_known_word_shows_unk_ids_and_the_problem(
    server: str, page_report: dict[str, Any]
) -> None:
    problem = httpx.post(f"{server}/v1/models/default/embed", json={"texts": ["qwzxv zzqqy"]})
    assert problem.status_code == 422
    sentence = page_report["sentence"]
    assert sentence["empty"] == problem.json()["detail"]
    assert "no word in the vocabulary" in sentence["empty"]
    assert [(c["id"], c["label"]) for c in sentence["emptyIds"]] == [(1, "[UNK]")] * 2 + [(0, "pad")] * 10
    assert [(r["token"], r["oov"]) for r in sentence["emptyStrip"]] == [("qwzxv", True), ("zzqqy", True)]


def test_pipeline_panel_compares_two_sentences_as_the_api_does(
    server: str, page_report: dict[str, Any]
) -> None:
    pair = ["A cat sat on the mat", "A dog lay on the rug"]
    api = httpx.post(f"{server}/v1/models/default/similarity", json={"text_pairs": [pair]}).json()
    (expected,) = api["similarities"]
    compare = page_report["compare"]
    assert compare["cosine"] == pytest.approx(expected["similarity"], abs=1e-4)
    assert compare["a"] == expected["a"]["tokens"] and compare["b"] == expected["b"]["tokens"]
    means = httpx.post(f"{server}/v1/models/default/embed", json={"texts": pair}).json()["vectors"]
    np.testing.assert_allclose([r["values"] for r in compare["strip"]], means, atol=1e-6)
    a, b = (_unit(v) for v in means)
    assert float(a @ b) == pytest.approx(expected["similarity"], abs=1e-6)


def test_pipeline_panel_fits_a_phone(page_report: dict[str, Any]) -> None:
    narrow = page_report["narrow"]
    assert narrow["viewport"] == 360 and narrow["stacked"]
    assert narrow["pageWidth"] <= 360 and narrow["widest"] <= 360.5


def test_screenshots_saved(page_report: dict[str, Any]) -> None:
    for name in ("word", "unknown", "analogy", "tsne", "pipeline", "compare", "pipeline-narrow"):
        shot = ARTIFACTS / f"explorer-{name}.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert shot.stat().st_size > 20_000, f"{shot} looks blank"
