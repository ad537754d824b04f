"""`firth evaluate --subwords` on a subword model made here (gensim's FastTextKeyedVectors written as
a firth model, gensim the oracle): gensim's figures, which skip the unknown words, and beside them
the figures with their n-gram vectors; a model without subwords gets one line and exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firth_core.artifact import load_artifact
from firth_trainer.cli import main
from tests.subword_models import OOV_WORDS, gensim_fasttext, syllable_words, write_subword_model

WORDS = syllable_words()
NUMBER = r"(-?\d+\.\d+)"


@pytest.fixture(scope="module")
def theirs() -> Any:
    return gensim_fasttext(WORDS)


@pytest.fixture
def subword_model(theirs: Any, tmp_path: Path) -> Path:
    return write_subword_model(tmp_path / "subword", theirs)


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    lines = []
    for i in range(80):  # every fourth pair has a word outside the vocabulary
        a, b = rng.choice(WORDS[:200], 2)
        lines.append(f"{a}\t{OOV_WORDS[i % 6] if i % 4 == 0 else b}\t{rng.uniform(0, 10):.2f}")
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pairs_both_ways_against_gensim(
    subword_model: Path, pairs_file: Path, theirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from scipy import stats

    assert main(["evaluate", str(subword_model), "--file", str(pairs_file), "--subwords"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    gensim_part, subword_part = line.split("; with subword vectors for them: ")
    # gensim's figures: its evaluate_word_pairs on the FastTextKeyedVectors skips the unknown words
    pearson, spearman, oov_ratio = theirs.evaluate_word_pairs(str(pairs_file))
    got = re.fullmatch(
        rf"file:pairs\.tsv: Spearman {NUMBER}, Pearson {NUMBER} \(80 pairs, {NUMBER}% out of vocabulary\)",
        gensim_part,
    )
    assert got, gensim_part
    assert [float(x) for x in got.groups()[:2]] == pytest.approx([spearman[0], pearson[0]], abs=6e-5)
    assert float(got.group(3)) == oov_ratio == 25.0
    # with n-gram vectors: every pair scored by gensim's FastTextKeyedVectors.similarity
    rows = [line.split("\t") for line in pairs_file.read_text().splitlines()]
    gold = [float(r[2]) for r in rows]
    model = [float(theirs.similarity(r[0], r[1])) for r in rows]
    got = re.fullmatch(
        rf"Spearman {NUMBER}, Pearson {NUMBER} \(80 pairs, 0 without any n-gram\)", subword_part
    )
    assert got, subword_part
    expected = [stats.spearmanr(gold, model)[0], stats.pearsonr(gold, model)[0]]
    assert [float(x) for x in got.groups()] == pytest.approx(expected, abs=6e-5)
    # recorded in meta.json with the rest, and the model still loads (checksums hold)
    recorded = load_artifact(subword_model).meta["evaluation"]["file:pairs.tsv"]
    assert recorded["subwords"]["pairs"] == 80 and recorded["subwords"]["oov_scored"] == recorded["oov"]


def test_analogies_json_holds_both(
    subword_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "questions.txt"
    lines = [": known"] + [" ".join(WORDS[i : i + 4]) for i in range(0, 40, 4)]
    lines += [": unknown"] + [
        f"{WORDS[i]} {w} {WORDS[i + 1]} {WORDS[i + 2]}" for i, w in enumerate(OOV_WORDS)
    ]
    questions.write_text("\n".join(lines) + "\n")
    args = ["evaluate", str(subword_model), "--file", str(questions), "--subwords", "--no-save"]
    assert main(args) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"file:questions\.txt: accuracy {NUMBER} \(\d+ of 10 answered, 6 of 16 skipped as out of "
        rf"vocabulary\); with subword vectors for them: accuracy {NUMBER} \(\d+ of 16 answered, 0 without any n-gram\)",
        line,
    ), line
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["file:questions.txt"]
    assert (result["oov"], result["subwords"]["oov_answered"]) == (6, 6)
    assert [s["section"] for s in result["subwords"]["sections"]] == ["known", "unknown"]
    assert "evaluation" not in load_artifact(subword_model).meta  # --no-save


def test_a_model_without_subwords_gets_one_line_and_exit_2(
    tiny_model_dir: Path, pairs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = (tiny_model_dir / "meta.json").read_bytes()
    for source in (["--file", str(pairs_file)], ["--benchmark", "wordsim353"], []):
        assert main(["evaluate", str(tiny_model_dir), *source, "--subwords"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"firth evaluate: error: --subwords applies to a subword (fastText) model; {tiny_model_dir} "
            "has no n-grams, so its out-of-vocabulary words have no vectors\n"
        )
    assert (tiny_model_dir / "meta.json").read_bytes() == meta  # nothing written
