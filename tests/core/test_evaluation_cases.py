"""The analogy evaluation's tricky cases against gensim's own evaluate_word_analogies: case variants
of one word in the vocabulary, repeated question words, no hit that qualifies, dummy4unknown,
restrict_vocab cutting a word off; and the parsed-once benchmark and per-model ok_vocab caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firth_core.analogy_questions import parse_analogies
from firth_core.errors import InputFormatError
from firth_core.evaluation import BENCHMARKS, evaluate_benchmark, evaluate_word_analogies
from firth_core.keyed_vectors import KeyedVectors
from firth_core.ok_vocab import VocabKeys, ok_vocab

BASE = ["man", "woman", "king", "queen", "paris", "france", "rome", "italy"]


def gensim_model(words: list[str], vectors: np.ndarray) -> Any:
    from gensim.models import KeyedVectors as GensimKeyedVectors

    theirs = GensimKeyedVectors(vector_size=vectors.shape[1])
    theirs.add_vectors(words, vectors)
    return theirs


def gensim_counts(
    theirs: Any, lines: list[str], tmp_path: Path, **options: Any
) -> list[tuple[str, int, int]]:
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    _, sections = theirs.evaluate_word_analogies(str(path), **options)
    return [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections[:-1]]


def our_counts(kv: KeyedVectors, lines: list[str], **options: Any) -> list[tuple[str, int, int]]:
    result = evaluate_word_analogies(kv, lines, **options)
    return [(s["section"], s["correct"], s["incorrect"]) for s in result["sections"]]


def variant_model(seed: int) -> tuple[list[str], np.ndarray]:
    """A small vocabulary thick with case variants of the same words, in a shuffled order."""
    rng = np.random.default_rng(seed)
    words = BASE + [w.capitalize() for w in BASE] + [w.upper() for w in BASE[:5]] + ["kInG", "Queen2"]
    rng.shuffle(words)
    return words, rng.standard_normal((len(words), 6)).astype(np.float32)


def random_questions(words: list[str], seed: int, n: int = 240) -> list[str]:
    """Sections of random questions spelled in any case, with repeats, unknown words and invalid lines."""
    rng = np.random.default_rng(seed)
    pool = [w.lower() for w in BASE] + [w.upper() for w in BASE] + ["unheard", "Rome"]
    lines: list[str] = []
    for q in range(n):
        if q % 80 == 0:
            lines.append(f": section-{q // 80}")
        if q % 37 == 5:
            lines.append("too few words")  # invalid: counted apart, never a question
            continue
        chosen = list(rng.choice(pool, 4))
        if q % 5 == 0:
            chosen[3] = chosen[int(rng.integers(0, 3))]  # the expected word is one of the question's
        if q % 7 == 0:
            chosen[1] = chosen[0]  # a repeated question word
        lines.append(" ".join(chosen))
    return lines


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("restrict_vocab", [300_000, 14, 9])
@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_random_questions_over_case_variants_equal_gensim(
    seed: int, restrict_vocab: int, case_insensitive: bool, dummy4unknown: bool, tmp_path: Path
) -> None:
    words, vectors = variant_model(seed)
    lines = random_questions(words, seed)
    options = {
        "restrict_vocab": restrict_vocab,
        "case_insensitive": case_insensitive,
        "dummy4unknown": dummy4unknown,
    }
    ours = our_counts(KeyedVectors(words, vectors), lines, **options)
    assert ours == gensim_counts(gensim_model(words, vectors), lines, tmp_path, **options)
    if case_insensitive and restrict_vocab > len(words):
        assert sum(r for _, r, _ in ours) > 0 and sum(w for _, _, w in ours) > 0  # a real test


def controlled_model(order: list[str]) -> tuple[list[str], np.ndarray]:
    """man, king, woman on the axes, then `order`'s words ranked exactly in that order for the
    question man : king :: woman : ? (the query points along (-1, 1, 1), each next word further off)."""
    words = ["man", "king", "woman", *order]
    vectors = np.zeros((len(words), 3 + len(order)), dtype=np.float32)
    vectors[:3, :3] = np.eye(3)
    query = np.array([-1.0, 1.0, 1.0]) / np.sqrt(3)
    for i in range(len(order)):
        vectors[3 + i, :3] = query
        vectors[3 + i, 3 + i] = 0.2 * (i + 1)  # each one a little further from the query
    return words, vectors


@pytest.mark.parametrize(
    ("order", "right"),
    [
        (["Man", "King", "Woman", "MAN", "KING"], 1),  # no hit qualifies: the last one, KING, is the guess
        (["Man", "King", "Woman", "KING", "MAN"], 0),  # ... the last one, MAN, is wrong
        (["Man", "KING", "Queen", "Woman"], 0),  # Queen is the first word not in the question
        (["Man", "Woman", "KING"], 1),  # fewer than five hits, none qualifies: the last one
    ],
)
def test_when_no_hit_qualifies_the_last_one_returned_is_the_guess(
    order: list[str], right: int, tmp_path: Path
) -> None:
    words, vectors = controlled_model(order)
    lines = [": royals", "man king woman king"]
    ours = our_counts(KeyedVectors(words, vectors), lines)
    assert ours == gensim_counts(gensim_model(words, vectors), lines, tmp_path)
    assert ours == [("royals", right, 1 - right)]


def test_a_case_variant_answers_for_the_word(tmp_path: Path) -> None:
    """'Queen' is the best hit for QUEEN; 'king' (a later spelling of King) counts as the question's
    word even though its row is not the one excluded."""
    words = ["man", "King", "woman", "queen", "king", "Queen"]
    vectors = np.zeros((6, 6), dtype=np.float32)
    vectors[:3, :3] = np.eye(3)
    query = np.array([-1.0, 1.0, 1.0]) / np.sqrt(3)
    vectors[4, :3], vectors[4, 3] = query, 0.1  # king: the best hit, but a question word
    vectors[5, :3], vectors[5, 4] = query, 0.2  # Queen: the next, the answer (QUEEN)
    vectors[3, :3], vectors[3, 5] = query, 0.3  # queen
    lines = [": royals", "man king woman queen", "MAN KING WOMAN QUEEN"]
    ours = our_counts(KeyedVectors(words, vectors), lines)
    assert ours == gensim_counts(gensim_model(words, vectors), lines, tmp_path) == [("royals", 2, 0)]


def test_parsed_questions_keep_gensims_accounting() -> None:
    parsed = parse_analogies([": one", "a b c d", "a b c", "", ": two", "B A d c", "a b c d e"])
    assert parsed.sections == ("one", "two") and parsed.invalid == 3 and len(parsed) == 2
    assert parsed.words == ("a", "b", "c", "d", "B", "A")
    assert parsed.ids.tolist() == [[0, 1, 2, 3], [4, 5, 3, 2]] and parsed.section_of.tolist() == [0, 1]
    with pytest.raises(InputFormatError, match="line 1: a question before any"):
        parse_analogies(["a b c d"])


def test_ok_vocab_is_built_once_per_model_and_shared_by_smaller_restrict_vocab() -> None:
    words = ["Paris", "the", "PARIS", "paris", "of", "The"]
    kv = KeyedVectors(words, np.eye(6, dtype=np.float32))
    full = ok_vocab(kv, 300_000, True)
    assert full.row("PARIS") == 0 and full.row("THE") == 1 and full.canonical.tolist() == [0, 1, 0, 0, 4, 1]
    small = ok_vocab(kv, 1, True)
    assert small.keys is full.keys  # a prefix of the one built: not rebuilt
    assert (
        small.row("PARIS") == 0
        and small.row("THE") is None
        and small.rows(["THE", "PARIS"]).tolist() == [-1, 0]
    )
    assert ok_vocab(kv, -2, True).size == 4  # as words[:-2] counts
    assert ok_vocab(KeyedVectors(words, np.eye(6, dtype=np.float32)), 3, True).keys is not full.keys
    exact = ok_vocab(kv, 4, False)
    assert exact.row("paris") == 3 and exact.row("The") is None and exact.row("PARIS") == 2


def test_keys_sharing_a_hash_are_told_apart_by_their_words() -> None:
    words = ["the", "Paris", "of"]
    same = np.full(3, hash("PARIS"), dtype=np.int64)  # as if all three keys hashed alike
    keys = VocabKeys(words, True, np.arange(3), same, np.arange(3))
    # PARIS is found past THE, whose entry has its hash; OF's own hash is in no entry
    assert keys.find(["PARIS", "OF", "LONDON"]).tolist() == [1, -1, -1]


def test_bundled_benchmark_answers_as_its_lines_do() -> None:
    words, vectors = variant_model(1)
    kv = KeyedVectors(words, vectors)
    lines = BENCHMARKS["questions-words"][1].read_text().splitlines()
    for options in ({}, {"case_insensitive": False, "dummy4unknown": True}):
        cached = evaluate_benchmark(kv, "questions-words", **options)
        fresh = evaluate_word_analogies(kv, lines, **options)
        assert {**cached, "seconds": 0} == {**fresh, "benchmark": "questions-words", "seconds": 0}
