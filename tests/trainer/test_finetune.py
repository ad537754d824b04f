"""`firth train --init-from MODEL [--lock-old]`: a model continued on a new corpus.

The parent's rows are copied bit for bit (--epochs 0), the vocabulary is the union, a word seen
only in the new corpus in the contexts of a planted group lands among that group, --lock-old
keeps every old row fixed, one thread is reproducible, and bad input fails early with one line.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import OUTPUT_FILE, load_artifact, write_artifact
from firth_core.keyed_vectors import KeyedVectors
from firth_trainer.cli import main

from .conftest import FILLER, TOPIC_WORDS, TOPICS, error_before_reading, topic_word, write_topic_corpus

NEW_WORD = "zorblat"  # seen only in the new corpus, always among topic PLANTED's words
PLANTED = 2


def train(corpus: Path, out: Path, *extra: str, algorithm: str = "sgns") -> Path:
    args = ["train", "--algorithm", algorithm, "--corpus", str(corpus), "--out", str(out), "--quiet"]
    assert main([*args, "--min-count", "2", "--threads", "1", *extra]) == 0
    return out


def write_new_corpus(path: Path, n: int = 1500, seed: int = 7) -> Path:
    """Topic sentences as the parent's corpus, but in topic PLANTED's the new word stands in for
    one of the topic's words: it shares that topic's contexts and no other."""
    rnd = random.Random(seed)
    lines = []
    for _ in range(n):
        topic = rnd.randrange(TOPICS)
        words = [topic_word(topic, rnd.randrange(TOPIC_WORDS)) for _ in range(rnd.randint(4, 9))]
        if topic == PLANTED:
            words[rnd.randrange(len(words))] = NEW_WORD
        for _ in range(rnd.randint(0, 3)):
            words.insert(rnd.randrange(len(words) + 1), rnd.choice(FILLER))
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("finetune")
    return write_topic_corpus(d / "old.txt", n=2000), write_new_corpus(d / "new.txt")


@pytest.fixture(scope="module", params=["sgns", "cbow"])
def parent(
    request: pytest.FixtureRequest, corpora: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("parent") / request.param
    return train(corpora[0], out, "--dim", "24", "--epochs", "5", "--seed", "2", algorithm=request.param)


def algorithm_of(model: Path) -> str:
    return str(load_artifact(model).meta["algorithm"]["name"])


def test_a_trained_model_keeps_its_output_layer(parent: Path) -> None:
    model = load_artifact(parent)
    assert model.output is not None and model.output.shape == model.vectors.shape
    assert np.abs(np.asarray(model.output)).max() > 0  # trained, not the zero start


def test_zero_epochs_copies_the_parents_rows_bit_for_bit(
    parent: Path, corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    child = train(
        corpora[1],
        tmp_path / "child",
        "--init-from",
        str(parent),
        "--epochs",
        "0",
        algorithm=algorithm_of(parent),
    )
    p, c = load_artifact(parent), load_artifact(child)
    n = len(p.words)
    assert c.words[:n] == p.words and c.words[n:] == [NEW_WORD]  # the union, the parent's order first
    assert np.asarray(c.vectors[:n]).tobytes() == np.asarray(p.vectors).tobytes()
    assert c.output is not None and p.output is not None
    assert np.asarray(c.output[:n]).tobytes() == np.asarray(p.output).tobytes()
    assert not np.asarray(c.output[n:]).any()  # a new word's output row starts at zero
    # Counts merge as gensim's vocabulary update: parent's + the new corpus'.
    new_counts = {w: 0 for w in c.words}
    for line in corpora[1].read_text().split():
        new_counts[line] = new_counts.get(line, 0) + 1
    assert p.counts is not None and c.counts is not None
    assert [int(x) for x in c.counts[:n]] == [
        int(a) + new_counts[w] for w, a in zip(p.words, p.counts, strict=True)
    ]
    assert int(c.counts[n]) == new_counts[NEW_WORD]
    record = c.meta["init_from"]
    assert record["name"] == parent.name and record["sha256"] == p.sha256
    assert record["words"] == n and record["new_words"] == 1 and record["output_layer"] == "parent"
    assert c.meta["algorithm"]["epochs"] == 0 and c.meta["training"]["final_loss"] is None


def neighbours(model: Path, word: str, k: int = 5) -> list[str]:
    kv = KeyedVectors.from_artifact(load_artifact(model))
    return [w for w, _ in kv.most_similar(positive=[word], topn=k)]


@pytest.mark.parametrize("lock_old", [False, True])
@pytest.mark.parametrize("batch", ["on", "off"])
def test_a_new_word_lands_among_its_planted_group(
    parent: Path, corpora: tuple[Path, Path], tmp_path: Path, lock_old: bool, batch: str
) -> None:
    algorithm = algorithm_of(parent)
    flags = ["--init-from", str(parent), "--epochs", "5", "--batch-negatives", batch]
    child = train(
        corpora[1], tmp_path / "child", *flags, *(["--lock-old"] if lock_old else []), algorithm=algorithm
    )
    near = neighbours(child, NEW_WORD)
    hits = sum(w.startswith(f"topic{PLANTED}word") for w in near)
    assert hits == 5, near  # 8 of the 64 words are the planted topic's
    p, c = load_artifact(parent), load_artifact(child)
    n = len(p.words)
    moved = np.asarray(c.vectors[:n]) != np.asarray(p.vectors)
    if lock_old:
        assert np.asarray(c.vectors[:n]).tobytes() == np.asarray(p.vectors).tobytes()  # no old row moves
        assert c.meta["init_from"]["lock_old"] is True
        assert p.output is not None and c.output is not None
        assert not np.array_equal(
            np.asarray(c.output[:n]), np.asarray(p.output)
        )  # they train the output layer
    else:
        assert moved.any(axis=1).all()  # every old word of the new corpus moved


def test_one_thread_fine_tuning_is_reproducible(
    parent: Path, corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    algorithm = algorithm_of(parent)
    runs = {
        name: train(
            corpora[1],
            tmp_path / name,
            "--init-from",
            str(parent),
            "--epochs",
            "2",
            "--seed",
            seed,
            algorithm=algorithm,
        )
        for name, seed in (("a", "9"), ("b", "9"), ("c", "10"))
    }
    a, b, c = (np.load(m / "vectors.npy") for m in runs.values())
    assert a.tobytes() == b.tobytes()
    assert np.load(runs["a"] / OUTPUT_FILE).tobytes() == np.load(runs["b"] / OUTPUT_FILE).tobytes()
    assert a.tobytes() != c.tobytes()


def test_the_parents_objective_is_inherited_and_given_flags_win(
    corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    parent = train(
        corpora[0], tmp_path / "p", "--dim", "12", "--epochs", "1", "--window", "3", "--negative", "7"
    )
    child = train(corpora[1], tmp_path / "c", "--init-from", str(parent), "--epochs", "1", "--negative", "4")
    meta = load_artifact(child).meta
    assert (
        meta["algorithm"]["dim"] == 12
        and meta["algorithm"]["window"] == 3
        and meta["algorithm"]["negative"] == 4
    )
    assert meta["init_from"]["inherited"] == {"window": 3, "sample": 1e-3}
    assert meta["standardize"] == load_artifact(parent).meta["standardize"]


def test_a_parent_without_output_layer_or_counts_warns_and_starts_it_at_zero(
    corpora: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An imported model (no output.npy, no counts): the output layer starts at zero with one
    warning line, and the child records no counts rather than the new corpus' alone."""
    words = [topic_word(t, i) for t in range(TOPICS) for i in range(TOPIC_WORDS)] + FILLER
    vectors = np.random.default_rng(0).standard_normal((len(words), 10)).astype(np.float32)
    parent = write_artifact(
        tmp_path / "imported",
        words,
        vectors,
        standardize="lower_and_strip_punctuation",
        meta={"source": "test"},
    )
    capsys.readouterr()
    child = train(corpora[1], tmp_path / "c", "--init-from", str(parent), "--epochs", "0")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"firth train: warning: {parent} has no output layer (output.npy)"
    )
    c = load_artifact(child)
    assert c.counts is None and c.meta["init_from"]["output_layer"] == "zero"
    assert c.output is not None and not np.asarray(c.output).any()
    assert np.asarray(c.vectors[: len(words)]).tobytes() == vectors.tobytes()
    # Trained, the new word still finds its group through the zero-started output layer.
    trained = train(corpora[1], tmp_path / "t", "--init-from", str(parent), "--epochs", "5")
    assert sum(w.startswith(f"topic{PLANTED}word") for w in neighbours(trained, NEW_WORD)) >= 3


# --- bad input: one line, exit 2, nothing written ---------------------------------------------


def refused(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """conftest's error_before_reading (a corpus that blocks if read), in a fresh directory a call."""
    work = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    work.mkdir()
    return error_before_reading(work, flags, capsys)


def classifier(tmp_path: Path, algorithm: object) -> Path:
    words = ["good", "bad", "film"]
    return write_artifact(
        tmp_path / "clf", words, np.eye(3, 4, dtype=np.float32) + 0.1, standardize="lower_and_strip_punctuation",
        meta={"algorithm": algorithm}, overwrite=True,
    )  # fmt: skip


@pytest.mark.parametrize("record", [{"name": "supervised", "dim": 4}, "supervised"])
def test_a_classifier_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record: object
) -> None:
    clf = classifier(tmp_path, record)
    err = refused(tmp_path, ["--init-from", str(clf)], capsys)
    assert err == (
        f"firth train: error: --init-from {clf}: a classifier (algorithm 'supervised'), not a "
        "word-embedding model; fine-tuning continues a skip-gram, CBOW or imported model\n"
    )


def test_conflicting_standardisation_or_dimension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_artifact(
        tmp_path / "p", ["a", "b"], np.ones((2, 4), np.float32), standardize="lower_and_strip_punctuation"
    )
    err = refused(tmp_path, ["--init-from", str(model), "--standardize", "none"], capsys)
    assert err.startswith("firth train: error: --standardize none differs from ") and err.count("\n") == 1
    err = refused(tmp_path, ["--init-from", str(model), "--dim", "5"], capsys)
    assert err == (
        f"firth train: error: --dim 5 differs from {model}'s dimension 4: the dimension comes from the "
        "parent (leave --dim out)\n"
    )
    # GloVe has no fine-tuning (its co-occurrence fit has no word rows to continue from).
    err = refused(tmp_path, ["--init-from", str(model), "--algorithm", "glove"], capsys)
    assert err == "firth train: error: --init-from applies to sgns, cbow and fasttext, not glove\n"


def test_a_missing_or_corrupt_parent_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(tmp_path, ["--init-from", str(tmp_path / "nope")], capsys)
    assert err == f"firth train: error: --init-from {tmp_path / 'nope'}: not a model directory\n"
    model = write_artifact(tmp_path / "p", ["a", "b"], np.ones((2, 4), np.float32))
    data = bytearray((model / "vectors.npy").read_bytes())
    data[-1] ^= 0xFF
    (model / "vectors.npy").write_bytes(bytes(data))
    err = refused(tmp_path, ["--init-from", str(model)], capsys)
    assert err == (
        f"firth train: error: --init-from {model / 'vectors.npy'}: sha256 does not match meta.json "
        "(file changed or corrupt)\n"
    )
    odd = write_artifact(
        tmp_path / "odd",
        ["a", "b"],
        np.ones((2, 4), np.float32),
        extras={OUTPUT_FILE: np.ones((3, 4), np.float32)},
    )
    err = refused(tmp_path, ["--init-from", str(odd)], capsys)
    assert err == f"firth train: error: --init-from {odd}: output.npy has 3 rows for 2 words\n"


def test_lock_old_needs_a_parent_and_something_to_train(
    corpora: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, ["--lock-old"], capsys)
    assert (
        err
        == "firth train: error: --lock-old keeps a parent model's rows fixed: it needs --init-from MODEL_DIR\n"
    )
    err = refused(tmp_path, ["--epochs", "0"], capsys)
    assert err == "firth train: error: epochs must be > 0, got 0\n"  # only a fine-tuning run may copy
    # The new corpus adds no word above --min-count: with every old row locked nothing could train.
    parent = train(corpora[0], tmp_path / "p", "--dim", "8", "--epochs", "1")
    out = tmp_path / "child"
    args = [
        "train",
        "--corpus",
        str(corpora[0]),
        "--out",
        str(out),
        "--init-from",
        str(parent),
        "--lock-old",
        "-q",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("firth train: error: --lock-old keeps every row of the parent fixed")
        and err.count("\n") == 1
    )
    assert not out.exists()


def test_the_help_explains_fine_tuning(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--init-from MODEL_DIR" in text and "--lock-old" in text and "vectors_lockf" in text


def test_a_subword_parent_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from firth_core.artifact import NGRAMS_FILE
    from firth_core.subwords import SubwordSpec

    spec = SubwordSpec(minn=3, maxn=5, bucket=16)
    model = write_artifact(
        tmp_path / "sub", ["alpha", "beta"], np.ones((2, 4), np.float32),
        meta={"subwords": spec.to_meta()}, extras={NGRAMS_FILE: np.ones((16, 4), np.float32)},
    )  # fmt: skip
    err = refused(tmp_path, ["--init-from", str(model)], capsys)
    assert err == (
        f"firth train: error: --init-from {model}: a subword model (its n-gram rows would be dropped); "
        "sgns continues word-only models (use --algorithm fasttext)\n"
    )
