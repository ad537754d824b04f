"""`firth train --algorithm supervised`, `firth test`, `firth predict`: the kernel against finite
differences, reproducibility, planted data that can and cannot be learned, word order through
bigrams, --pretrained and --freeze-embeddings, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import load_artifact, write_artifact
from firth_core.classifier import WORD_NGRAMS_FILE, Classifier
from firth_core.label_tree import empty_tree, huffman_tree
from firth_core.labelled_text import EOS
from firth_trainer.supervised_kernels import HS, LOSS_KINDS, OVA, example_step
from tests.cli_process import firth, one_error_line
from tests.labelled_data import SIGNS, order_lines, planted_lines, write_lines

SUPERVISED = ("train", "--algorithm", "supervised", "--quiet")


TREE_COUNTS = [9, 5, 3, 1]  # the four labels' counts: the hs tree of the gradient checks


def _loss(
    w_in: np.ndarray, w_out: np.ndarray, rows: list[int], labels: list[int], target: int, kind: int
) -> float:
    """The model's loss for one example, in float64, written apart from the kernel."""
    hidden = w_in[rows].astype(np.float64).mean(axis=0)
    scores = w_out.astype(np.float64) @ hidden
    if kind == HS:
        tree = huffman_tree(TREE_COUNTS)
        lo, hi = tree.offsets[target], tree.offsets[target + 1]
        s, yes = scores[tree.nodes[lo:hi]], tree.codes[lo:hi] == 1
        return float(np.sum(np.logaddexp(0.0, np.where(yes, -s, s))))
    if kind == OVA:
        y = np.isin(np.arange(len(scores)), labels)
        return float(np.sum(np.logaddexp(0.0, np.where(y, -scores, scores))))
    return float(np.logaddexp.reduce(scores) - scores[target])


@pytest.mark.parametrize("loss", list(LOSS_KINDS))
def test_example_step_is_minus_lr_times_the_gradient(loss: str) -> None:
    kind = LOSS_KINDS[loss]
    tree = huffman_tree(TREE_COUNTS) if kind == HS else empty_tree()
    rng = np.random.default_rng(3)
    w_in = rng.normal(0, 0.5, (7, 5)).astype(np.float32)
    w_out = rng.normal(0, 0.5, (4, 5)).astype(np.float32)
    rows, labels, target, lr = [1, 4, 4, 6], [2, 0], 2, 1e-3
    grad = np.zeros_like(w_in, dtype=np.float64), np.zeros_like(w_out, dtype=np.float64)
    eps = 1e-3
    for matrix, g in zip((w_in, w_out), grad, strict=True):
        for idx in np.ndindex(matrix.shape):
            saved = matrix[idx]
            matrix[idx] = saved + eps
            up = _loss(w_in, w_out, rows, labels, target, kind)
            matrix[idx] = saved - eps
            down = _loss(w_in, w_out, rows, labels, target, kind)
            matrix[idx] = saved
            g[idx] = (up - down) / (2 * eps)
    before_in, before_out = w_in.copy(), w_out.copy()
    value = example_step(
        w_in, w_out, np.array(rows, np.int64), 0, len(rows), np.array(labels, np.int32), 0, len(labels),
        target, lr, kind, tree, True, np.empty(5, np.float32), np.empty(5, np.float32), np.empty(4, np.float32),
    )  # fmt: skip
    assert value == pytest.approx(_loss(before_in, before_out, rows, labels, target, kind), rel=1e-5)
    np.testing.assert_allclose(w_out - before_out, -lr * grad[1], atol=2e-7)
    np.testing.assert_allclose(w_in - before_in, -lr * grad[0], atol=2e-7)
    assert np.abs(w_in - before_in)[[0, 2, 3, 5]].max() == 0.0  # rows not in the example never move
    # A row seen twice moves twice as far as a row seen once (its share of the mean is double).
    np.testing.assert_allclose(w_in[4] - before_in[4], 2 * (w_in[1] - before_in[1]), atol=2e-7)


def test_frozen_step_moves_only_the_output_layer() -> None:
    rng = np.random.default_rng(4)
    w_in = rng.normal(0, 0.5, (3, 4)).astype(np.float32)
    w_out = rng.normal(0, 0.5, (2, 4)).astype(np.float32)
    before_in, before_out = w_in.copy(), w_out.copy()
    example_step(
        w_in, w_out, np.array([0, 2], np.int64), 0, 2, np.array([1], np.int32), 0, 1, 1, 0.5, 0, empty_tree(), False,
        np.empty(4, np.float32), np.empty(4, np.float32), np.empty(2, np.float32),
    )  # fmt: skip
    assert np.array_equal(w_in, before_in)
    assert not np.array_equal(w_out, before_out)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("planted")
    return {
        "train": write_lines(d / "train.txt", planted_lines(1500, seed=1)),
        "test": write_lines(d / "test.txt", planted_lines(400, seed=2)),
        "noise_train": write_lines(d / "noise-train.txt", planted_lines(1500, seed=3, learnable=False)),
        "noise_test": write_lines(d / "noise-test.txt", planted_lines(400, seed=4, learnable=False)),
        "order_train": write_lines(d / "order-train.txt", order_lines(1500, seed=5)),
        "order_test": write_lines(d / "order-test.txt", order_lines(400, seed=6)),
    }


def _train(corpus: Path, out: Path, *flags: str) -> None:
    done = firth(*SUPERVISED, "--corpus", corpus, "--out", out, "--dim", "16", "--threads", "1", *flags)
    assert done.returncode == 0, done.stderr


def _p_at_1(model: Path, test: Path) -> float:
    done = firth("test", model, test, "--json")
    assert done.returncode == 0, done.stderr
    return float(json.loads(done.stdout)["precision_at_1"])


def test_planted_labels_are_learned_and_random_labels_are_not(
    planted: dict[str, Path], tmp_path: Path
) -> None:
    _train(planted["train"], tmp_path / "m", "--epochs", "10", "--alpha", "0.5")
    _train(planted["noise_train"], tmp_path / "n", "--epochs", "10", "--alpha", "0.5")
    assert _p_at_1(tmp_path / "m", planted["test"]) > 0.97
    assert _p_at_1(tmp_path / "n", planted["noise_test"]) < 0.5  # three labels: chance is 1/3
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["classifier"]["labels"] == sorted(
        meta["classifier"]["labels"],
        key=lambda x: -meta["classifier"]["label_counts"][meta["classifier"]["labels"].index(x)],
    )
    assert meta["algorithm"]["name"] == "supervised" and meta["algorithm"]["epochs"] == 10
    assert meta["training"]["epoch_loss"][-1] < meta["training"]["epoch_loss"][0]
    # The word rows are the task's embeddings: a label's own words sit nearer each other than noise.
    artifact = load_artifact(tmp_path / "m")
    index = {w: i for i, w in enumerate(artifact.words)}
    unit = artifact.vectors / np.linalg.norm(artifact.vectors, axis=1, keepdims=True)
    ani = unit[[index[w] for w in SIGNS["animal"]]]
    pla = unit[[index[w] for w in SIGNS["plant"]]]
    assert (ani @ ani.T).mean() > (ani @ pla.T).mean() + 0.3


def test_word_order_needs_bigrams(planted: dict[str, Path], tmp_path: Path) -> None:
    _train(planted["order_train"], tmp_path / "uni", "--epochs", "10", "--alpha", "0.5")
    _train(
        planted["order_train"],
        tmp_path / "bi",
        "--epochs",
        "10",
        "--alpha",
        "0.5",
        "--word-ngrams",
        "2",
        "--bucket",
        "5000",
    )
    assert _p_at_1(tmp_path / "uni", planted["order_test"]) < 0.65
    assert _p_at_1(tmp_path / "bi", planted["order_test"]) > 0.97
    artifact = load_artifact(tmp_path / "bi")
    assert artifact.extras[WORD_NGRAMS_FILE].shape == (5000, 16)
    assert json.loads((tmp_path / "bi" / "meta.json").read_text())["classifier"]["bucket"] == 5000


def test_one_thread_and_a_seed_reproduce_bit_for_bit(planted: dict[str, Path], tmp_path: Path) -> None:
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        _train(planted["train"], tmp_path / name, "--seed", seed, "--word-ngrams", "2", "--bucket", "3000")
    files = ("vectors.npy", "output.npy", WORD_NGRAMS_FILE)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert (tmp_path / "a" / "vectors.npy").read_bytes() != (tmp_path / "c" / "vectors.npy").read_bytes()


def test_one_vs_all_learns_several_labels_a_line(tmp_path: Path) -> None:
    base = planted_lines(1500, seed=7)
    # Lines whose words belong to two labels carry both labels.
    mixed = [
        f"__label__animal __label__rock {a.split(' ', 1)[1]} {r.split(' ', 1)[1]}"
        for a, r in zip(
            [x for x in base if x.startswith("__label__animal")],
            [x for x in base if x.startswith("__label__rock")],
            strict=False,
        )
    ]
    train = write_lines(tmp_path / "train.txt", base + mixed)
    _train(train, tmp_path / "m", "--loss", "ova", "--epochs", "10", "--alpha", "0.5")
    model = Classifier.from_artifact(load_artifact(tmp_path / "m"))
    (both,) = model.predict([f"{SIGNS['animal'][0]} {SIGNS['rock'][1]} noise3"], k=3, threshold=0.5)
    assert {label for label, _ in both.labels} == {"animal", "rock"}
    (one,) = model.predict([f"{SIGNS['plant'][0]} {SIGNS['plant'][2]}"], k=3, threshold=0.5)
    assert [label for label, _ in one.labels] == ["plant"]


def test_predict_prints_labels_with_probabilities(planted: dict[str, Path], tmp_path: Path) -> None:
    _train(planted["train"], tmp_path / "m", "--epochs", "10", "--alpha", "0.5")
    text = tmp_path / "texts.txt"
    text.write_text(
        f"{SIGNS['rock'][0]} {SIGNS['rock'][3]} noise1\n__label__plant {SIGNS['animal'][2]} noise2\n\n"
    )
    done = firth("predict", tmp_path / "m", text, "--k", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3  # one output line an input line, the blank one too
    first = lines[0].split()
    assert first[0] == "__label__rock" and float(first[1]) > 0.9 and len(first) == 4
    assert lines[1].split()[0] == "__label__animal"  # the __label__ token in the input is not a word
    assert float(first[1]) + float(first[3]) <= 1.0 + 1e-5
    done = firth("test", tmp_path / "m", planted["test"], "--k", "1")
    assert done.stdout.splitlines()[0] == "N\t400"
    assert done.stdout.splitlines()[1].startswith("P@1\t")
    assert any(line.startswith("animal") for line in done.stdout.splitlines())


def _glove_like(path: Path, words: list[str], dim: int) -> Path:
    rng = np.random.default_rng(11)
    return write_artifact(
        path,
        words,
        rng.normal(0, 1, (len(words), dim)).astype(np.float32),
        meta={"source": {"format": "test"}},
    )


def test_pretrained_rows_match_by_word_and_freeze_keeps_them(
    planted: dict[str, Path], tmp_path: Path
) -> None:
    known = [*SIGNS["animal"], *SIGNS["plant"], "noise1", "unused"]
    start = _glove_like(tmp_path / "start", known, 16)
    _train(
        planted["train"],
        tmp_path / "frozen",
        "--pretrained",
        start,
        "--freeze-embeddings",
        "--epochs",
        "5",
        "--alpha",
        "0.5",
    )
    _train(planted["train"], tmp_path / "free", "--pretrained", start, "--epochs", "5", "--alpha", "0.5")
    source = load_artifact(start)
    for name in ("frozen", "free"):
        model = load_artifact(tmp_path / name)
        index = {w: i for i, w in enumerate(model.words)}
        moved = [
            not np.array_equal(model.vectors[index[w]], source.vectors[i])
            for i, w in enumerate(source.words)
            if w in index
        ]
        assert len(moved) == len(known) - 1  # every pretrained word the data holds ("unused" it does not)
        assert not any(moved) if name == "frozen" else all(moved)
        meta = json.loads((tmp_path / name / "meta.json").read_text())
        assert (
            meta["pretrained"]["matched_words"] == len(known) - 1
            and meta["pretrained"]["sha256"] == source.sha256
        )
        assert meta["algorithm"]["freeze_embeddings"] is (name == "frozen")
    # Frozen: the words the pretrained model lacked keep their random start too, yet labels are learned.
    assert _p_at_1(tmp_path / "frozen", planted["test"]) > 0.9


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("__label__a one two\nthree four\n", "line 2 has no label"),
        ("__label__a one two\n__label__b\n", "line 2 has labels but no text"),
        ("__label__a one\n__label__b ,,, !!\n", "line 2 has labels but no text"),
        ("", "holds no examples"),
        ("\n\n", "holds no examples"),
    ],
)
def test_bad_labelled_input_is_one_line_and_leaves_nothing(
    content: str, message: str, tmp_path: Path
) -> None:
    corpus = tmp_path / "train.txt"
    corpus.write_text(content)
    done = firth(*SUPERVISED, "--corpus", corpus, "--out", tmp_path / "out")
    assert message in one_error_line(done, "train")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.txt"]


def test_pretrained_of_another_dimension_is_refused_before_reading(
    planted: dict[str, Path], tmp_path: Path
) -> None:
    start = _glove_like(tmp_path / "start", ["anything"], 8)
    done = firth(*SUPERVISED, "--corpus", planted["train"], "--out", tmp_path / "out", "--pretrained", start)
    line = one_error_line(done, "train")
    assert "has 8 dimensions and this run 100" in line and "--dim 8" in line
    assert not (tmp_path / "out").exists()
    done = firth(
        *SUPERVISED,
        "--corpus",
        planted["train"],
        "--out",
        tmp_path / "out",
        "--pretrained",
        tmp_path / "nope",
    )
    assert "nope" in one_error_line(done, "train")
    done = firth("train", "--corpus", planted["train"], "--out", tmp_path / "out", "--freeze-embeddings")
    assert "supervised only" in one_error_line(done, "train")
    assert not (tmp_path / "out").exists()


def test_a_model_that_is_not_a_classifier_says_what_it_is(tmp_path: Path, planted: dict[str, Path]) -> None:
    plain = _glove_like(tmp_path / "plain", ["a", "b"], 4)
    line = one_error_line(firth("test", plain, planted["test"]), "test")
    assert "is not a classifier" in line and "imported from a test file" in line
    assert "is not a classifier" in one_error_line(firth("predict", plain, planted["test"]), "predict")


def test_end_of_line_row_is_in_the_vocabulary(planted: dict[str, Path], tmp_path: Path) -> None:
    _train(planted["train"], tmp_path / "m", "--epochs", "1")
    words = load_artifact(tmp_path / "m").words
    assert EOS in words and "__label__animal" not in words and "labelanimal" not in words


def test_prediction_builds_the_rows_training_built(planted: dict[str, Path], tmp_path: Path) -> None:
    """The trainer's rows (words, </s>, word n-gram buckets) equal the predictor's for every line."""
    from firth_trainer.supervised_data import read_labelled

    _train(planted["order_train"], tmp_path / "m", "--epochs", "1", "--word-ngrams", "3", "--bucket", "7919")
    model = Classifier.from_artifact(load_artifact(tmp_path / "m"))
    data = read_labelled(planted["order_train"], "lower_and_strip_punctuation", 1, None, 3, 7919)
    assert data.words == list(model.words)
    n_words = len(data.words)
    lines = planted["order_train"].read_text().splitlines()
    for i, line in enumerate(lines):
        rows = data.rows[data.offsets[i] : data.offsets[i + 1]].copy()
        grams = rows >= n_words
        rows[grams] = n_words + data.buckets_used[rows[grams] - n_words]
        assert rows.tolist() == model.text_rows(line).rows.tolist()


def test_hierarchical_softmax_learns_the_planted_labels(planted: dict[str, Path], tmp_path: Path) -> None:
    _train(planted["train"], tmp_path / "hs", "--loss", "hs", "--epochs", "10", "--alpha", "0.5")
    assert _p_at_1(tmp_path / "hs", planted["test"]) > 0.97
    model = Classifier.from_artifact(load_artifact(tmp_path / "hs"))
    assert model.loss == "hs" and model.tree is not None
    (answer,) = model.predict([f"{SIGNS['rock'][1]} noise4"], k=3)
    assert answer.labels[0][0] == "rock"
    assert sum(p for _, p in answer.labels) == pytest.approx(1.0, abs=1e-6)  # the leaves of one tree


def test_a_single_label_is_refused(tmp_path: Path) -> None:
    corpus = write_lines(tmp_path / "train.txt", ["__label__only a b c", "__label__only d e"])
    done = firth(*SUPERVISED, "--corpus", corpus, "--out", tmp_path / "out")
    assert "a classifier needs two or more labels" in one_error_line(done, "train")
    assert not (tmp_path / "out").exists()
