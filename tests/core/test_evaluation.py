"""Evaluation reproduces gensim's evaluate_word_analogies / evaluate_word_pairs accounting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firth_core.errors import InputFormatError, InvalidQuery
from firth_core.evaluation import (
    BENCHMARK_NAMES,
    BENCHMARKS,
    evaluate_all,
    evaluate_benchmark,
    evaluate_file,
    evaluate_word_analogies,
    evaluate_word_pairs,
    guess_kind,
    summary,
)
from firth_core.keyed_vectors import KeyedVectors

QUESTIONS = BENCHMARKS["questions-words"][1]


def structured_model(seed: int = 3) -> tuple[list[str], np.ndarray]:
    """The questions' words (some answers planted by vector offsets), mixed-case duplicates and filler."""
    rng = np.random.default_rng(seed)
    lines = [line.split() for line in QUESTIONS.read_text().splitlines() if not line.startswith(":")]
    words = sorted({w.lower() for line in lines for w in line})
    rng.shuffle(words)  # frequency order unrelated to the file
    words = words[:800] + ["King", "PARIS"] + words[800:] + [f"filler{i}" for i in range(1500)]
    index = {w: i for i, w in enumerate(words)}
    vectors = rng.standard_normal((len(words), 12)).astype(np.float32)
    for line in lines[::7]:  # plant every 7th answer: d = c + (b - a), with noise
        a, b, c, d = (index[w.lower()] for w in line)
        vectors[d] = vectors[c] + vectors[b] - vectors[a] + 0.3 * rng.standard_normal(12)
    return words, vectors


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    from gensim.models import KeyedVectors as GensimKeyedVectors

    words, vectors = structured_model()
    theirs = GensimKeyedVectors(vector_size=vectors.shape[1])
    theirs.add_vectors(words, vectors)
    return KeyedVectors(words, vectors), theirs


@pytest.mark.parametrize("restrict_vocab", [300_000, 1200, 700])
def test_analogies_equal_gensim(models, restrict_vocab: int) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = models
    score, sections = theirs.evaluate_word_analogies(str(QUESTIONS), restrict_vocab=restrict_vocab)
    result = evaluate_word_analogies(ours, QUESTIONS.read_text().splitlines(), restrict_vocab=restrict_vocab)
    assert result["score"] == pytest.approx(score, abs=1e-12)
    total = sections[-1]
    assert (result["correct"], result["incorrect"]) == (len(total["correct"]), len(total["incorrect"]))
    assert result["correct"] > 100 and result["incorrect"] > 100  # the planted answers make a real test
    assert [(s["section"], s["correct"], s["incorrect"]) for s in result["sections"]] == [
        (s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections[:-1]
    ]


def test_analogies_dummy4unknown_equal_gensim(models) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = models
    score, _ = theirs.evaluate_word_analogies(str(QUESTIONS), restrict_vocab=900, dummy4unknown=True)
    result = evaluate_word_analogies(
        ours, QUESTIONS.read_text().splitlines(), restrict_vocab=900, dummy4unknown=True
    )
    assert result["score"] == pytest.approx(score, abs=1e-12) and result["oov"] > 0


@pytest.mark.parametrize("name", ["wordsim353", "simlex999"])
@pytest.mark.parametrize("restrict_vocab", [300_000, 1000])
def test_word_pairs_equal_gensim(name: str, restrict_vocab: int) -> None:
    from gensim.models import KeyedVectors as GensimKeyedVectors

    path = BENCHMARKS[name][1]
    pair_words = sorted(
        {
            w.lower()
            for line in path.read_text().splitlines()
            if not line.startswith("#")
            for w in line.split("\t")[:2]
        }
    )
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((len(pair_words), 10)).astype(np.float32)
    theirs = GensimKeyedVectors(vector_size=10)
    theirs.add_vectors(pair_words, vectors)
    pearson, spearman, oov_ratio = theirs.evaluate_word_pairs(str(path), restrict_vocab=restrict_vocab)
    result = evaluate_benchmark(KeyedVectors(pair_words, vectors), name, restrict_vocab=restrict_vocab)
    assert result["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert result["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert result["oov_ratio"] == pytest.approx(oov_ratio, abs=1e-9)


def test_bad_evaluation_input(tmp_path: Path) -> None:
    kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    with pytest.raises(InputFormatError, match="before any"):
        evaluate_word_analogies(kv, ["a b c d"])
    with pytest.raises(InputFormatError, match="no analogy questions"):
        evaluate_word_analogies(kv, [": empty"])
    with pytest.raises(InvalidQuery, match="fewer than two"):
        evaluate_word_pairs(kv, ["x\ty\t1.0"])
    with pytest.raises(InvalidQuery, match="unknown benchmark"):
        evaluate_benchmark(kv, "nope")


def test_evaluate_all_scores_what_it_can_and_says_why_not() -> None:
    assert tuple(BENCHMARKS) == BENCHMARK_NAMES
    words = [f"unheard{i}" for i in range(20)]  # in none of the sets
    kv = KeyedVectors(words, np.random.default_rng(2).standard_normal((20, 6)).astype(np.float32))
    results = evaluate_all(kv)
    assert list(results) == list(BENCHMARK_NAMES)
    # Analogies with unknown words are skipped and counted: scored, nothing answered.
    analogies = results["questions-words"]
    assert (analogies["correct"], analogies["incorrect"], analogies["oov"]) == (0, 0, analogies["questions"])
    assert summary("questions-words", analogies) == (
        f"questions-words: accuracy 0.0000 (0 of 0 answered, {analogies['questions']} of "
        f"{analogies['questions']} skipped as out of vocabulary)"
    )
    # Word pairs need two known pairs to correlate: recorded with the reason, not raised.
    for name in ("wordsim353", "simlex999"):
        assert results[name]["benchmark"] == name and "fewer than two" in results[name]["error"]
        assert summary(name, results[name]) == f"{name}: not scored ({results[name]['error']})"
    assert list(evaluate_all(kv, ["simlex999"])) == ["simlex999"]


def test_a_users_file_is_told_analogies_or_pairs_by_its_lines(tmp_path: Path) -> None:
    words = ["king", "queen", "man", "woman", "cat", "dog"]
    kv = KeyedVectors(words, np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32))
    questions = tmp_path / "q.txt"
    questions.write_text(": royals\nman king woman queen\n")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("cat\tdog\t8\nking\tqueen\t9\nman\tcat\t2\n")
    assert guess_kind(questions.read_text().splitlines()) == "analogies"
    assert guess_kind(pairs.read_text().splitlines()) == "pairs"
    result = evaluate_file(kv, questions)
    assert (
        result["kind"] == "analogies" and result["questions"] == 1 and result["benchmark"] == str(questions)
    )
    result = evaluate_file(kv, pairs)
    assert result["kind"] == "pairs" and result["pairs"] == 3
    assert summary("p", result).startswith(f"p: Spearman {result['spearman']:.4f}, Pearson")
    with pytest.raises(InputFormatError, match="before any"):
        evaluate_file(kv, pairs, "analogies")  # a kind given is not second-guessed
    with pytest.raises(InputFormatError, match=r"nope\.txt: no such file"):
        evaluate_file(kv, tmp_path / "nope.txt")
