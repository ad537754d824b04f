"""`firth train --algorithm fasttext --init-from SUBWORD_MODEL [--lock-old]`.

The parent's n-gram rows and output rows start the run bit for bit, its words' own rows are
recovered from the full vectors (so --epochs 0 gives back the full vectors to float32 rounding),
its minn/maxn/bucket are inherited, a new word planted in a group's contexts lands among that
group, --lock-old moves neither an old word's own row nor any n-gram row an old word uses, and a
mismatched parent is refused with one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import load_artifact, write_artifact
from firth_core.fasttext_rows import recover_own_rows
from firth_core.subwords import compose_word_vectors, vocabulary_buckets

from .conftest import write_topic_corpus
from .test_finetune import NEW_WORD, PLANTED, neighbours, refused, train, write_new_corpus

SUBWORD_FLAGS = ("--minn", "3", "--maxn", "5", "--bucket", "3000")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """test_finetune's corpora: the parent's topics, then the new word planted in one of them."""
    d = tmp_path_factory.mktemp("finetune-subwords")
    return write_topic_corpus(d / "old.txt", n=2000), write_new_corpus(d / "new.txt")


@pytest.fixture(scope="module", params=["skipgram", "cbow"])
def ft_parent(
    request: pytest.FixtureRequest, corpora: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("ft-parent") / request.param
    flags = ("--model", request.param, "--dim", "16", "--epochs", "5", "--seed", "2", *SUBWORD_FLAGS)
    return train(corpora[0], out, *flags, algorithm="fasttext")


def recomposed(model: Path) -> np.ndarray:
    """The parent's full vectors taken apart into own rows and composed again (float32 rounding)."""
    p = load_artifact(model)
    assert p.subwords is not None and p.ngrams is not None
    offsets, buckets = vocabulary_buckets(p.words, p.subwords)
    ngrams = np.asarray(p.ngrams)
    own = recover_own_rows(np.asarray(p.vectors), ngrams, offsets, buckets)
    return compose_word_vectors(own, ngrams, offsets, buckets)


def test_zero_epochs_keeps_the_parents_rows(
    ft_parent: Path, corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    child = train(
        corpora[1], tmp_path / "child", "--init-from", str(ft_parent), "--epochs", "0", algorithm="fasttext"
    )
    p, c = load_artifact(ft_parent), load_artifact(child)
    n = len(p.words)
    assert c.words[:n] == p.words and c.words[n:] == [NEW_WORD]
    assert c.ngrams is not None and p.ngrams is not None
    assert np.asarray(c.ngrams).tobytes() == np.asarray(p.ngrams).tobytes()  # n-gram rows bit for bit
    assert c.output is not None and p.output is not None
    assert np.asarray(c.output[:n]).tobytes() == np.asarray(p.output).tobytes()  # output rows too
    assert not np.asarray(c.output[n:]).any()
    # Full vectors: own rows recovered and composed again, equal to float32 rounding.
    np.testing.assert_allclose(np.asarray(c.vectors[:n]), np.asarray(p.vectors), rtol=1e-5, atol=1e-6)
    assert np.asarray(c.vectors[:n]).tobytes() == recomposed(ft_parent).tobytes()
    assert c.meta["subwords"] == p.meta["subwords"]
    record = c.meta["init_from"]
    assert record["sha256"] == p.sha256 and record["new_words"] == 1
    assert record["inherited"]["model"] == ft_parent.name
    assert {k: record["inherited"][k] for k in ("minn", "maxn", "bucket")} == {
        "minn": 3,
        "maxn": 5,
        "bucket": 3000,
    }
    assert c.meta["algorithm"]["model"] == ft_parent.name  # --model left out: the parent's


@pytest.mark.parametrize("lock_old", [False, True])
def test_a_new_word_lands_among_its_planted_group(
    ft_parent: Path, corpora: tuple[Path, Path], tmp_path: Path, lock_old: bool
) -> None:
    flags = ["--init-from", str(ft_parent), "--epochs", "5", *(["--lock-old"] if lock_old else [])]
    child = train(corpora[1], tmp_path / "child", *flags, algorithm="fasttext")
    near = neighbours(child, NEW_WORD)
    hits = sum(w.startswith(f"topic{PLANTED}word") for w in near)
    assert hits == 5, near  # 8 of the 64 words are the planted topic's
    p, c = load_artifact(ft_parent), load_artifact(child)
    n = len(p.words)
    assert p.subwords is not None and p.ngrams is not None and c.ngrams is not None
    _, used = vocabulary_buckets(p.words, p.subwords)
    old_grams = np.unique(used)
    if lock_old:
        # No locked row moves: every n-gram row an old word uses, and each old word's own row, so
        # its full vector is the parent's own rows composed again, bit for bit.
        assert np.asarray(c.ngrams[old_grams]).tobytes() == np.asarray(p.ngrams[old_grams]).tobytes()
        assert np.asarray(c.vectors[:n]).tobytes() == recomposed(ft_parent).tobytes()
        assert c.meta["init_from"]["lock_old"] is True
        assert p.output is not None and c.output is not None
        assert not np.array_equal(np.asarray(c.output[:n]), np.asarray(p.output))  # output trains
        fresh = np.setdiff1d(vocabulary_buckets([NEW_WORD], p.subwords)[1], old_grams)
        assert fresh.size and not np.array_equal(
            c.ngrams[fresh], p.ngrams[fresh]
        )  # the new word's own n-grams
    else:
        assert (np.asarray(c.vectors[:n]) != np.asarray(p.vectors)).any(axis=1).all()  # every old word moved
        assert not np.array_equal(np.asarray(c.ngrams[old_grams]), np.asarray(p.ngrams[old_grams]))


def test_one_thread_subword_fine_tuning_is_reproducible(
    ft_parent: Path, corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    runs = [
        train(corpora[1], tmp_path / name, "--init-from", str(ft_parent), "--epochs", "1", "--seed", "9",
              algorithm="fasttext")
        for name in ("a", "b")
    ]  # fmt: skip
    for f in ("vectors.npy", "ngrams.npy", "output.npy"):
        assert (runs[0] / f).read_bytes() == (runs[1] / f).read_bytes()


# --- bad input: one line, exit 2, nothing written ---------------------------------------------


def test_mismatched_parents_and_conflicting_subword_flags_are_refused(
    ft_parent: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = write_artifact(tmp_path / "plain", ["alpha", "beta"], np.ones((2, 16), np.float32))
    err = refused(tmp_path, ["--algorithm", "fasttext", "--init-from", str(plain)], capsys)
    assert err == (
        f"firth train: error: --init-from {plain}: a word-only model (no n-gram rows to start from); "
        "fasttext continues subword models (use --algorithm sgns or cbow)\n"
    )
    for algorithm in ("sgns", "cbow"):
        err = refused(tmp_path, ["--algorithm", algorithm, "--init-from", str(ft_parent)], capsys)
        assert (
            err.startswith(f"firth train: error: --init-from {ft_parent}: a subword model")
            and err.count("\n") == 1
        )
    for flag, value, parents in (
        ("--maxn", "6", "5"),
        ("--maxn", "0", "5"),
        ("--minn", "2", "3"),
        ("--bucket", "10", "3000"),
    ):
        err = refused(
            tmp_path, ["--algorithm", "fasttext", "--init-from", str(ft_parent), flag, value], capsys
        )
        assert err == (
            f"firth train: error: {flag} {value} differs from {ft_parent}'s {parents}: a fine-tuned subword "
            f"model keeps its parent's n-grams (leave {flag} out)\n"
        )
    err = refused(tmp_path, ["--algorithm", "fasttext", "--init-from", str(ft_parent), "--dim", "8"], capsys)
    assert err.startswith("firth train: error: --dim 8 differs from ") and err.count("\n") == 1
