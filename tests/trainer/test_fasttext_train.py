"""`firth train --algorithm fasttext` end to end: the artifact, reproducibility, `--maxn 0` as
plain word2vec, the planted-structure test for words never seen, and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import NGRAMS_FILE, OUTPUT_FILE, load_artifact
from firth_core.subwords import SubwordSpec, oov_vector
from firth_trainer.cli import main

from .conftest import FILLER, error_before_reading

# Families of words sharing a made-up stem (no two stems share a 3-gram) and contexts of their own.
STEMS = ["zorblat", "quimfex", "drangol", "plovisk", "trumbec", "gaxhund"]
SEEN = ["", "s", "er", "ers", "ing"]  # the inflections in the corpus
UNSEEN = ["ed", "ings"]  # asked for after training: never in the corpus
CONTEXTS = 6  # context words a family


_LETTERS = random.Random(1)
FAMILY_CONTEXTS = [
    ["".join(_LETTERS.choice("bcdfghjklmnpqrstvwxz") for _ in range(5)) + "o" for _ in range(CONTEXTS)]
    for _ in STEMS
]


def family_words(f: int) -> list[str]:
    return [STEMS[f] + s for s in SEEN]


def write_family_corpus(path: Path, n: int = 3000, seed: int = 2) -> Path:
    rnd = random.Random(seed)
    contexts = FAMILY_CONTEXTS
    lines = []
    for _ in range(n):
        f = rnd.randrange(len(STEMS))
        words = [rnd.choice(family_words(f)) for _ in range(rnd.randint(1, 3))]
        words += [rnd.choice(contexts[f]) for _ in range(rnd.randint(3, 6))]
        words += [rnd.choice(FILLER) for _ in range(rnd.randint(0, 2))]
        rnd.shuffle(words)
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def family_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_family_corpus(tmp_path_factory.mktemp("families") / "families.txt")


def train(corpus: Path, out: Path, *flags: str) -> Path:
    args = ["train", "--algorithm", "fasttext", "--corpus", str(corpus), "--out", str(out), "-q"]
    assert main([*args, "--dim", "24", "--bucket", "20000", "--threads", "1", *flags]) == 0
    return out


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_an_unseen_inflection_finds_its_stems_family(tmp_path: Path, family_corpus: Path, model: str) -> None:
    """A word never seen in training gets a vector from its n-grams, and its nearest neighbours
    among the vocabulary are the words sharing its stem (and, for CBOW, some of the family's context
    words), never another family's."""
    artifact = load_artifact(train(family_corpus, tmp_path / "m", "--model", model, "--epochs", "10"))
    spec = artifact.subwords
    assert spec == SubwordSpec(3, 6, 20000) and artifact.ngrams is not None
    words = artifact.words
    vectors = unit(np.asarray(artifact.vectors, dtype=np.float64))
    for f, stem in enumerate(STEMS):
        for suffix in UNSEEN:
            word = stem + suffix
            assert word not in words
            query = oov_vector(np.asarray(artifact.ngrams), word, spec)
            assert query is not None
            top = [words[i] for i in np.argsort(-(vectors @ unit(query.astype(np.float64))))[:5]]
            mates = [w for w in top if w in family_words(f)]
            assert len(mates) >= 3 and set(top) <= {*mates, *FAMILY_CONTEXTS[f], *FILLER}, (word, top)


def test_the_artifact_holds_full_vectors_ngrams_and_output_rows(tmp_path: Path, family_corpus: Path) -> None:
    path = train(
        family_corpus, tmp_path / "m", "--model", "cbow", "--minn", "2", "--maxn", "4", "--epochs", "2"
    )
    artifact = load_artifact(path)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["subwords"] == {"minn": 2, "maxn": 4, "bucket": 20000, "hash": "fasttext-fnv1a32"}
    assert meta["algorithm"]["name"] == "fasttext" and meta["algorithm"]["model"] == "cbow"
    assert (meta["algorithm"]["minn"], meta["algorithm"]["maxn"], meta["algorithm"]["bucket"]) == (
        2,
        4,
        20000,
    )
    assert artifact.ngrams is not None and artifact.ngrams.shape == (20000, 24)
    assert artifact.output is not None and artifact.output.shape == (len(artifact.words), 24)
    assert set(meta["files"]) == {"vectors.npy", "vocab.txt", NGRAMS_FILE, OUTPUT_FILE}
    assert np.isfinite(artifact.vectors).all() and np.abs(artifact.output).max() > 0  # output rows trained
    # A vocabulary word's vector is its own row and its n-grams composed: unlike the OOV vector of
    # the same spelling (n-grams only), it depends on the word's own row, so the two differ.
    word = STEMS[0]
    own = np.asarray(artifact.vectors[artifact.words.index(word)])
    assert not np.allclose(own, oov_vector(np.asarray(artifact.ngrams), word, artifact.subwords), atol=1e-4)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_one_thread_and_a_seed_reproduce_bit_for_bit(tmp_path: Path, family_corpus: Path, model: str) -> None:
    flags = ("--model", model, "--epochs", "2", "--seed", "5")
    a, b = (load_artifact(train(family_corpus, tmp_path / n, *flags)) for n in ("a", "b"))
    c = load_artifact(train(family_corpus, tmp_path / "c", "--model", model, "--epochs", "2", "--seed", "6"))
    assert a.ngrams is not None and b.ngrams is not None and c.ngrams is not None
    assert np.asarray(a.vectors).tobytes() == np.asarray(b.vectors).tobytes()
    assert np.asarray(a.ngrams).tobytes() == np.asarray(b.ngrams).tobytes()
    assert np.asarray(a.vectors).tobytes() != np.asarray(c.vectors).tobytes()
    assert np.asarray(a.ngrams).tobytes() != np.asarray(c.ngrams).tobytes()


@pytest.mark.parametrize(("model", "word2vec"), [("skipgram", "sgns"), ("cbow", "cbow")])
def test_maxn_0_is_plain_word2vec(tmp_path: Path, family_corpus: Path, model: str, word2vec: str) -> None:
    """--maxn 0 trains the word2vec algorithm with the same flags: the same numbers bit for bit, and
    a model without subwords."""
    flags = ["--epochs", "2", "--seed", "3", "--alpha", "0.03"]
    ft = load_artifact(train(family_corpus, tmp_path / "ft", "--model", model, "--maxn", "0", *flags))
    common = ["--corpus", str(family_corpus), "--dim", "24", "--threads", "1", "-q", *flags]
    assert main(["train", "--algorithm", word2vec, "--out", str(tmp_path / "w2v"), *common]) == 0
    plain = load_artifact(tmp_path / "w2v")
    assert ft.words == plain.words
    assert np.asarray(ft.vectors).tobytes() == np.asarray(plain.vectors).tobytes()
    assert ft.subwords is None and ft.ngrams is None and not (tmp_path / "ft" / NGRAMS_FILE).exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--algorithm", "fasttext", "--minn", "5", "--maxn", "4"], "--minn 5 is greater than --maxn 4"),
        (["--algorithm", "fasttext", "--bucket", "0"], "--bucket must be > 0 when --maxn is 6 (got 0)"),
        (["--algorithm", "fasttext", "--minn", "0"], "--minn must be >= 1 and --maxn >= 0"),
        (
            ["--algorithm", "fasttext", "--model", "cbow", "--bucket", "3000000000"],
            "--bucket must be at most",
        ),
        (["--algorithm", "sgns", "--minn", "2"], "--minn does not apply to sgns; it is a flag of fasttext"),
        (
            ["--algorithm", "glove", "--bucket", "10"],
            "--bucket does not apply to glove; it is a flag of fasttext",
        ),
        (
            ["--algorithm", "cbow", "--model", "cbow"],
            "--model does not apply to cbow; it is a flag of fasttext",
        ),
        (
            ["--algorithm", "fasttext", "--batch-negatives", "off"],
            "--batch-negatives does not apply to fasttext",
        ),
        (
            ["--algorithm", "fasttext", "--bucket", "2000000000", "--dim", "1000"],
            "2,000,000,000 n-gram buckets x 1,000 dimensions (fasttext) need",
        ),
    ],
)
def test_bad_fasttext_flags_are_one_line_before_reading(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = error_before_reading(tmp_path, flags, capsys)
    assert err.startswith(f"firth train: error: {message}") and err.count("\n") == 1, err


def test_minn_above_maxn_is_fine_when_maxn_is_0(tmp_path: Path, family_corpus: Path) -> None:
    """--maxn 0 switches subwords off, so --minn is not compared with it (as fastText does)."""
    artifact = load_artifact(
        train(family_corpus, tmp_path / "m", "--minn", "4", "--maxn", "0", "--epochs", "1")
    )
    assert artifact.subwords is None


def test_a_trained_model_exported_as_bin_is_the_same_model_in_gensim(
    tmp_path: Path, family_corpus: Path
) -> None:
    """Interoperability: `firth export --format fasttext-bin` of a trained model reads back in
    gensim's load_facebook_model with the same vectors, in the vocabulary and out of it."""
    from gensim.models.fasttext import load_facebook_model

    artifact = load_artifact(train(family_corpus, tmp_path / "m", "--epochs", "2"))
    assert (
        main(["export", str(tmp_path / "m"), "--format", "fasttext-bin", "--out", str(tmp_path / "m.bin")])
        == 0
    )
    wv = load_facebook_model(str(tmp_path / "m.bin")).wv
    assert list(wv.index_to_key) == list(artifact.words)
    np.testing.assert_allclose(wv.vectors, artifact.vectors, atol=1e-5)
    assert artifact.ngrams is not None and artifact.subwords is not None
    for word in (STEMS[0] + "ed", STEMS[3] + "ings", "xyzzy"):
        expected = oov_vector(np.asarray(artifact.ngrams), word, artifact.subwords)
        np.testing.assert_allclose(wv[word], expected, atol=1e-6)
