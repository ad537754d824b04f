"""A subword model answers for words outside its vocabulary as gensim's FastTextKeyedVectors does:
lookups, similarities, neighbours (nothing to leave out for such a word), 3CosMul, doesnt_match,
n_similarity, sentence vectors; and /evaluate's `subwords` option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firth_core.artifact import load_artifact
from firth_core.errors import InvalidQuery, UnknownWord
from firth_core.evaluation import evaluate_word_analogies, evaluate_word_pairs
from firth_core.keyed_vectors import KeyedVectors
from firth_core.pooling import embed_texts, text_rows
from firth_core.subwords import SubwordSpec
from firth_core.text import TextPipeline
from tests.core.test_keyed_vectors import assert_same_ranking
from tests.subword_models import OOV_WORDS, gensim_fasttext, syllable_words, write_subword_model

WORDS = syllable_words()


@pytest.fixture(scope="module")
def theirs() -> Any:
    return gensim_fasttext(WORDS)


@pytest.fixture(scope="module")
def ours(theirs: Any, tmp_path_factory: pytest.TempPathFactory) -> KeyedVectors:
    path = write_subword_model(tmp_path_factory.mktemp("models") / "subword", theirs)
    return KeyedVectors.from_artifact(load_artifact(path))


def test_an_oov_word_gets_gensims_vector_and_is_marked(ours: KeyedVectors, theirs: Any) -> None:
    for word in OOV_WORDS:
        assert word not in theirs.key_to_index
        resolved = ours.resolve(word)
        assert resolved.oov and resolved.row is None and resolved.word == word
        np.testing.assert_allclose(resolved.vector, theirs.get_vector(word), rtol=0, atol=1e-6)
        np.testing.assert_allclose(resolved.unit, theirs.get_vector(word, norm=True), rtol=0, atol=1e-6)
    known = ours.resolve(WORDS[3])
    assert not known.oov and known.row == 3
    np.testing.assert_allclose(known.vector, theirs.get_vector(WORDS[3]), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("positive", "negative"),
    [
        (["talomike"], []),
        (["rusano", WORDS[0]], []),
        ([WORDS[5], "pevidu"], ["zogata"]),
        (["mimimi"], [WORDS[9]]),
    ],
)
def test_neighbours_of_oov_words_equal_gensim(
    ours: KeyedVectors, theirs: Any, positive: list[str], negative: list[str]
) -> None:
    mine = ours.most_similar(positive=positive, negative=negative, topn=15)
    assert_same_ranking(mine, theirs.most_similar(positive=positive, negative=negative, topn=15))
    # the in-vocabulary query words are left out; an OOV word is in no index, so it cannot appear
    assert not {w for w, _ in mine} & set(positive + negative)


def test_cosmul_with_oov_words_equals_gensim(ours: KeyedVectors, theirs: Any) -> None:
    positive, negative = ["talomike", WORDS[2]], ["kerutalo"]
    assert_same_ranking(
        ours.most_similar_cosmul(positive=positive, negative=negative, topn=10),
        theirs.most_similar_cosmul(positive=positive, negative=negative, topn=10),
    )


def test_similarities_equal_gensim(ours: KeyedVectors, theirs: Any) -> None:
    assert ours.similarity("talomike", "rusano") == pytest.approx(
        float(theirs.similarity("talomike", "rusano")), abs=1e-6
    )
    assert ours.similarity("talomike", WORDS[1]) == pytest.approx(
        float(theirs.similarity("talomike", WORDS[1])), abs=1e-6
    )
    a, b = ["pevidu", WORDS[4]], ["zogata", "mimimi", WORDS[7]]
    assert ours.n_similarity(a, b) == pytest.approx(float(theirs.n_similarity(a, b)), abs=1e-6)
    words = [WORDS[0], "talomike", WORDS[10], "rusano"]
    assert ours.doesnt_match(words) == theirs.doesnt_match(words)


def test_a_word_without_ngrams_is_still_unknown_with_suggestions(theirs: Any, tmp_path: Path) -> None:
    spec = SubwordSpec(minn=4, maxn=4, bucket=4000)  # "ab" has no n-gram of 4 characters: "<ab>" is one
    words = WORDS[:300]
    theirs_short = gensim_fasttext(words, spec)
    kv = KeyedVectors.from_artifact(load_artifact(write_subword_model(tmp_path / "m", theirs_short, spec)))
    assert kv.resolve("ab").oov  # "<ab>" itself is a 4-gram
    with pytest.raises(UnknownWord) as caught:
        kv.resolve("a")  # "<a>" has 3 characters: no n-gram at all
    assert caught.value.word == "a"


def test_a_model_without_subwords_keeps_its_404(theirs: Any) -> None:
    plain = KeyedVectors(WORDS, np.asarray(theirs.vectors))
    assert plain.subwords is None
    with pytest.raises(UnknownWord) as caught:
        plain.resolve("talomike")
    assert caught.value.suggestions  # close spellings, as before
    with pytest.raises(UnknownWord):
        plain.most_similar(positive=["talomike"])


def test_standardised_oov_words_use_their_standardised_ngrams(theirs: Any, tmp_path: Path) -> None:
    path = write_subword_model(tmp_path / "lower", theirs, standardize="lower")
    kv = KeyedVectors.from_artifact(load_artifact(path))
    resolved = kv.resolve("TaLoMiKe")
    assert resolved.oov and resolved.word == "talomike"
    np.testing.assert_allclose(resolved.vector, theirs.get_vector("talomike"), rtol=0, atol=1e-6)


def test_sentence_vectors_count_oov_tokens_as_gensims_get_mean_vector(
    ours: KeyedVectors, theirs: Any
) -> None:
    texts = ["talomike " + WORDS[0] + " rusano", WORDS[1] + " " + WORDS[2], "pevidu pevidu"]
    tokenized = TextPipeline.for_model(ours).tokenize_many(texts)
    rows = text_rows(ours, tokenized)
    assert rows.subword == [["talomike", "rusano"], [], ["pevidu"]]
    assert [t.oov for t in tokenized] == [["talomike", "rusano"], [], ["pevidu"]]  # oov still lists them
    for pre in (True, False):
        vectors = embed_texts(ours, tokenized, "mean", pre_normalize=pre, rows=rows)
        for text, vector in zip(texts, vectors, strict=True):
            expected = theirs.get_mean_vector(text.split(), pre_normalize=pre, post_normalize=False)
            assert vector is not None
            np.testing.assert_allclose(vector, expected, rtol=0, atol=1e-6)
    sif = embed_texts(ours, tokenized, "sif", rows=rows)
    assert all(v is not None and np.isfinite(v).all() for v in sif)


# -- evaluation -------------------------------------------------------------------------------


def _pairs(words: list[str], rng: np.random.Generator, n: int) -> list[str]:
    return [f"{rng.choice(words)}\t{rng.choice(words)}\t{rng.uniform(0, 10):.2f}" for _ in range(n)]


def test_word_pairs_both_ways_against_gensim(ours: KeyedVectors, theirs: Any, tmp_path: Path) -> None:
    from scipy import stats

    rng = np.random.default_rng(1)
    lines = _pairs(WORDS[:200], rng, 60) + _pairs(OOV_WORDS + WORDS[:20], rng, 25)
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    pearson, spearman, oov_ratio = theirs.evaluate_word_pairs(str(path))
    result = evaluate_word_pairs(ours, lines, subwords=True)
    assert result["spearman"] == pytest.approx(spearman[0], abs=1e-6)  # gensim skips OOV pairs
    assert result["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert result["oov_ratio"] == pytest.approx(oov_ratio, abs=1e-9) and result["oov"] > 5
    # with subword vectors: every pair scored by gensim's FastTextKeyedVectors.similarity
    gold = [float(line.split("\t")[2]) for line in lines]
    model = [float(theirs.similarity(*line.split("\t")[:2])) for line in lines]
    assert result["subwords"]["pairs"] == len(lines) and result["subwords"]["oov_scored"] == result["oov"]
    assert result["subwords"]["spearman"] == pytest.approx(stats.spearmanr(gold, model)[0], abs=1e-6)
    assert result["subwords"]["pearson"] == pytest.approx(stats.pearsonr(gold, model)[0], abs=1e-5)
    dummy = evaluate_word_pairs(ours, lines, dummy4unknown=True, subwords=True)
    _, spearman_dummy, _ = theirs.evaluate_word_pairs(str(path), dummy4unknown=True)
    assert dummy["spearman"] == pytest.approx(spearman_dummy[0], abs=1e-6)
    assert dummy["subwords"]["spearman"] == pytest.approx(result["subwords"]["spearman"], abs=1e-12)


def test_analogies_with_subwords_answer_oov_questions_as_gensims_most_similar(
    ours: KeyedVectors, theirs: Any, tmp_path: Path
) -> None:
    rng = np.random.default_rng(2)
    lines = [": known"]
    lines += [" ".join(rng.choice(WORDS[:100], 4)) for _ in range(30)]
    lines += [": unknown"]
    oov_lines = []
    for _ in range(30):
        a, c = rng.choice(OOV_WORDS + WORDS[:5], 2)
        b = rng.choice(OOV_WORDS)  # every question of this section has a word outside the vocabulary
        d = (
            theirs.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]
            if rng.random() < 0.7
            else WORDS[50]
        )
        oov_lines.append(f"{a} {b} {c} {d}")
    lines += oov_lines
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    score, sections = theirs.evaluate_word_analogies(str(path))
    result = evaluate_word_analogies(ours, lines, subwords=True)
    assert result["score"] == pytest.approx(score, abs=1e-12)  # gensim skips OOV questions
    # the oracle: gensim's most_similar(positive=[b, c], negative=[a], topn=5) on the FastTextKeyedVectors
    right = 0
    for line in oov_lines:
        a, b, c, d = line.split()
        if not ({a, b, c} & set(OOV_WORDS)):
            continue
        for word, _ in theirs.most_similar(positive=[b, c], negative=[a], topn=5):
            if word not in {a, b, c}:
                right += word == d
                break
    unknown = result["subwords"]["sections"][1]
    asked = [line for line in oov_lines if set(line.split()[:3]) & set(OOV_WORDS)]
    assert unknown["correct"] + unknown["incorrect"] == len(asked) > 10
    assert unknown["correct"] == right > 5
    assert result["subwords"]["sections"][0]["correct"] == len(sections[0]["correct"])


def test_subwords_option_needs_a_subword_model(theirs: Any) -> None:
    plain = KeyedVectors(WORDS, np.asarray(theirs.vectors))
    with pytest.raises(InvalidQuery, match="subword"):
        evaluate_word_pairs(plain, ["a\tb\t1", "c\td\t2"], subwords=True)
