"""The explorer's classifier panel in a real browser: a real server serving a classifier trained
by `firth train --algorithm supervised` and a plain model; classify.spec.mjs types a text and
reports what the page showed, compared here with the API's own answer."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.server_process import ServerProcess
from tests.browser.test_explorer import ARTIFACTS, HERE, _node
from tests.cli_process import firth
from tests.labelled_data import SIGNS, planted_lines, write_lines

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
TEXT = f"A {SIGNS['plant'][2].upper()} near {SIGNS['plant'][4]} and qwzx"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    d = tmp_path_factory.mktemp("served")
    corpus = write_lines(d / "train.txt", planted_lines(900, seed=21))
    done = firth(
        "train", "--algorithm", "supervised", "--quiet", "--corpus", corpus, "--out", d / "planted",
        "--dim", "8", "--epochs", "8", "--alpha", "0.5", "--threads", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = {"FIRTH_MODELS": f"{d / 'planted'},{tiny_model_dir}", "FIRTH_BUILD_HNSW": "0"}
    with ServerProcess(env=env, clean_env=True) as server:
        yield server.url


def test_panel_shows_the_apis_labels_and_tokens(served: str) -> None:
    done = subprocess.run(
        [_node(), str(HERE / "classify.spec.mjs"), served, str(ARTIFACTS), "planted", "tiny"],
        cwd=HERE, capture_output=True, text=True, timeout=180, env={**os.environ, "CLASSIFY_TEXT": TEXT},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-1000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    api = httpx.post(f"{served}/v1/models/planted/classify", json={"texts": [TEXT], "k": 2}).json()
    (expected,) = api["texts"]
    assert [label for label, _ in shown["labels"]] == [x["label"] for x in expected["labels"]]
    assert shown["labels"][0][0] == "plant"
    assert [p for _, p in shown["labels"]] == pytest.approx([x["probability"] for x in expected["labels"]])
    widths = [float(w.rstrip("%")) for w in shown["bars"]]  # each bar as long as its probability
    assert widths == pytest.approx([100 * x["probability"] for x in expected["labels"]], abs=0.051)
    assert [t for t, _ in shown["tokens"]] == expected["tokens"]
    assert [t for t, c in shown["tokens"] if c == "oov"] == expected["oov"] == ["a", "near", "and", "qwzx"]
    problem = httpx.post(f"{served}/v1/models/tiny/classify", json={"texts": [TEXT]}).json()
    assert shown["notClassifier"] == problem["detail"] and "is not a classifier" in problem["detail"]
    assert shown["outHidden"] is True
    assert (ARTIFACTS / "classifier-panel.png").stat().st_size > 5_000
