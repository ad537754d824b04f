"""End to end: the real server process on the real default model (GloVe 6B 50d), checked
against gensim's reference values (../shared/bench/README.md), and the README's curl examples
executed against it."""

from __future__ import annotations

import re
import shlex
import subprocess

import httpx
import pytest

from bench.server_process import ServerProcess
from tests.conftest import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(default_server: ServerProcess) -> str:
    return default_server.url


def get(url: str, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{url}{path}", params=params, timeout=60)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def post(url: str, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{url}{path}", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


M = "/v1/models/default"


def test_reference_similarities_and_neighbours(server: str) -> None:
    assert get(server, f"{M}/similarity", a="cat", b="dog")["similarity"] == pytest.approx(0.92180, abs=1e-4)
    analogy = get(server, f"{M}/analogy", a="man", b="king", c="woman", exact="true")
    assert analogy["answer"] == "queen"
    assert analogy["neighbors"][0]["similarity"] == pytest.approx(0.85236, abs=1e-4)
    cosmul = get(server, f"{M}/analogy", a="man", b="king", c="woman", method="3cosmul", k=1)
    assert (cosmul["answer"], cosmul["neighbors"][0]["similarity"]) == (
        "queen",
        pytest.approx(0.92889, abs=1e-4),
    )
    frog = get(server, f"{M}/neighbors", word="Frog", k=3, exact="true")
    assert frog["positive"] == ["frog"]
    assert [(n["word"], round(n["similarity"], 4)) for n in frog["neighbors"]] == [
        ("snake", pytest.approx(0.8445, abs=1e-4)),
        ("ape", pytest.approx(0.7938, abs=1e-4)),
        ("toad", pytest.approx(0.7908, abs=1e-4)),
    ]


def test_reference_evaluations(server: str) -> None:
    analogies = post(server, f"{M}/evaluate", {"benchmark": "questions-words"})["result"]
    assert analogies["score"] == pytest.approx(0.46372, abs=1e-5)
    assert (analogies["correct"], analogies["correct"] + analogies["incorrect"]) == (9036, 19486)
    ws = post(server, f"{M}/evaluate", {"benchmark": "wordsim353"})["result"]
    assert (ws["spearman"], ws["pearson"]) == (
        pytest.approx(0.50332, abs=1e-4),
        pytest.approx(0.50662, abs=1e-4),
    )
    simlex = post(server, f"{M}/evaluate", {"benchmark": "simlex999"})["result"]
    assert simlex["spearman"] == pytest.approx(0.26306, abs=1e-4)


def test_model_info_and_unknown_word(server: str) -> None:
    info = get(server, "/v1/models/glove-6b-50d")
    assert (info["vocab_size"], info["dim"], info["standardize"]) == (400000, 50, "lower")
    response = httpx.get(f"{server}{M}/neighbors", params={"word": "kingg"})
    assert response.status_code == 404 and "king" in response.json()["suggestions"]


def readme_curl_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.strip().startswith("curl ")]
    return commands


def test_readme_curl_examples_run(server: str) -> None:
    commands = readme_curl_commands()
    assert len(commands) >= 5, "the README should show the API with curl"
    for command in commands:
        argv = shlex.split(command.replace("http://127.0.0.1:8000", server))
        argv.insert(1, "--fail-with-body")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert result.stdout.strip(), command
