"""`firth train` and `firth evaluate` end to end on small corpora: planted structure is recovered,
one thread is bit-for-bit reproducible, the artifact records the run, bad input fails early."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from firth_core.artifact import load_artifact
from firth_core.errors import TrainingDiverged
from firth_core.keyed_vectors import KeyedVectors
from firth_trainer.cli import main

from .conftest import TOPIC_WORDS, TOPICS, topic_word

SMALL = ["--dim", "24", "--min-count", "2", "--quiet"]
EPOCHS = {"sgns": "5", "cbow": "5", "glove": "30"}


@pytest.fixture
def corpus(planted_corpus: Path) -> Path:
    return planted_corpus


def train(corpus: Path, out: Path, algorithm: str, *extra: str) -> Path:
    args = ["train", "--algorithm", algorithm, "--corpus", str(corpus), "--out", str(out)]
    code = main([*args, "--epochs", EPOCHS[algorithm], *SMALL, *extra])
    assert code == 0
    return out


@pytest.mark.parametrize(
    ("algorithm", "extra"),
    [
        ("sgns", []),
        ("sgns", ["--batch-negatives", "off"]),
        ("sgns", ["--hot-rows", "8"]),
        ("cbow", []),
        ("cbow", ["--batch-negatives", "on"]),
        ("cbow", ["--batch-negatives", "on", "--hot-rows", "8"]),
        ("glove", []),
    ],
)
def test_recovers_planted_analogies(
    corpus: Path,
    planted_questions: Path,
    planted_pairs: list[tuple[str, str]],
    tmp_path: Path,
    algorithm: str,
    extra: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = train(
        corpus, tmp_path / "m", algorithm, "--threads", "1", *extra
    )  # deterministic: no flaky scores
    kv = KeyedVectors.from_artifact(load_artifact(model))
    # a : capital(a) :: b : ?  answered through `firth evaluate --file` (gensim's accounting).
    assert main(["evaluate", str(model), "--file", str(planted_questions)]) == 0
    assert "accuracy" in capsys.readouterr().out
    result = json.loads((model / "meta.json").read_text())["evaluation"]["file:q.txt"]
    assert result["oov"] == 0 and result["correct"] + result["incorrect"] == 56
    if algorithm == "glove":
        # GloVe fits only the observed co-occurrences of this tiny corpus: well above chance (1/60).
        assert result["score"] >= 0.25, result["score"]
        return
    assert result["score"] >= 0.8, result["score"]  # chance is 1/60
    # ... and each country's nearest capital is its own.
    capitals = [cap for _, cap in planted_pairs]
    for country, capital in planted_pairs:
        assert max(capitals, key=lambda c, country=country: kv.similarity(country, c)) == capital


@pytest.mark.parametrize(
    ("algorithm", "extra"),
    [("sgns", []), ("cbow", []), ("cbow", ["--batch-negatives", "on", "--hot-rows", "20"]), ("glove", [])],
)
def test_recovers_planted_topics(
    topic_corpus: Path, tmp_path: Path, algorithm: str, extra: list[str]
) -> None:
    model = train(topic_corpus, tmp_path / "m", algorithm, "--threads", "2", *extra)
    kv = KeyedVectors.from_artifact(load_artifact(model))
    hits = total = 0
    for t in range(TOPICS):
        for i in range(TOPIC_WORDS):
            neighbours = [w for w, _ in kv.most_similar(positive=[topic_word(t, i)], topn=3)]
            hits += sum(w.startswith(f"topic{t}word") for w in neighbours)
            total += 3
    assert hits / total >= 0.85


def test_meta_records_the_run(corpus: Path, tmp_path: Path) -> None:
    model = train(corpus, tmp_path / "m", "sgns", "--threads", "1", "--seed", "7", "--evaluate")
    meta = load_artifact(model).meta
    algo = meta["algorithm"]
    assert algo["name"] == "sgns"
    for key, value in {
        "dim": 24,
        "window": 5,
        "negative": 5,
        "epochs": 5,
        "sample": 1e-3,
        "alpha": 0.025,
        "min_alpha": 1e-4,
        "threads": 1,
        "seed": 7,
        "min_count": 2,
    }.items():
        assert algo[key] == value, key
    assert meta["standardize"] == "lower_and_strip_punctuation"
    c = meta["corpus"]
    assert c["lines"] == 4000 and c["tokens"] == sum(len(s.split()) for s in corpus.read_text().splitlines())
    assert c["files"][0]["sha256"] == __import__("hashlib").sha256(corpus.read_bytes()).hexdigest()
    assert c["vocab_size"] == meta["count"]
    t = meta["training"]
    assert t["seconds"] > 0 and t["words_per_second"] > 0 and np.isfinite(t["final_loss"])
    assert t["epoch_loss"][-1] < t["epoch_loss"][0]  # it learns
    assert set(meta["evaluation"]) == {"questions-words", "wordsim353", "simlex999"}


@pytest.mark.parametrize(
    ("algorithm", "extra"),
    [("sgns", []), ("cbow", []), ("cbow", ["--batch-negatives", "on"]), ("glove", [])],
)
def test_one_thread_is_bit_for_bit_reproducible(
    corpus: Path, tmp_path: Path, algorithm: str, extra: list[str]
) -> None:
    a = train(corpus, tmp_path / "a", algorithm, "--threads", "1", "--seed", "3", "--epochs", "2", *extra)
    b = train(corpus, tmp_path / "b", algorithm, "--threads", "1", "--seed", "3", "--epochs", "2", *extra)
    c = train(corpus, tmp_path / "c", algorithm, "--threads", "1", "--seed", "4", "--epochs", "2", *extra)
    va, vb, vc = (np.load(m / "vectors.npy") for m in (a, b, c))
    assert va.tobytes() == vb.tobytes()
    assert va.tobytes() != vc.tobytes()


def test_evaluate_command_records_scores_and_reports_unscorable(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = train(corpus, tmp_path / "m", "cbow", "--threads", "1", "--epochs", "1")
    capsys.readouterr()
    # The planted vocabulary knows too few of wordsim353's words: one clear line, exit 2.
    assert main(["evaluate", str(model), "--benchmark", "wordsim353"]) == 2
    assert capsys.readouterr().err.startswith("firth evaluate: error: wordsim353: ")
    # All three: the analogy set is scored (the planted capitals answer a few questions), the
    # pair sets say why they are not.
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("questions-words: accuracy ")
    assert out[1].startswith("wordsim353: not scored")
    evaluation = json.loads((model / "meta.json").read_text())["evaluation"]
    analogies = evaluation["questions-words"]
    assert analogies["correct"] + analogies["incorrect"] + analogies["oov"] == 19544
    assert 0 < analogies["correct"] + analogies["incorrect"] < 19544
    assert "error" in evaluation["simlex999"]
    assert load_artifact(model).meta["evaluation"] == evaluation  # checksums still hold
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_memory_mapped_stream_trains_the_same_model(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = train(corpus, tmp_path / "a", "sgns", "--threads", "1", "--epochs", "1")
    import firth_trainer.pipeline

    monkeypatch.setattr(firth_trainer.pipeline, "IN_MEMORY_ENTRIES", 0)  # as for a corpus too big for memory
    b = train(corpus, tmp_path / "b", "sgns", "--threads", "1", "--epochs", "1")
    assert np.load(a / "vectors.npy").tobytes() == np.load(b / "vectors.npy").tobytes()


def test_glove_divergence_fails_clearly_and_writes_nothing(
    planted_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "models" / "diverged"
    args = ["train", "--algorithm", "glove", "--corpus", str(planted_corpus), "--out", str(out)]
    code = main([*args, "--eta", "10", "--epochs", "5", "--quiet"])  # a step size that blows up
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("firth train: error: GloVe diverged: the loss went from")
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []  # no half-written model


@pytest.mark.parametrize("algorithm", ["sgns", "cbow"])
def test_word2vec_divergence_fails_clearly_and_writes_nothing(
    planted_corpus: Path, tmp_path: Path, algorithm: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "diverged"
    args = ["train", "--algorithm", algorithm, "--corpus", str(planted_corpus), "--out", str(out)]
    code = main([*args, "--alpha", "1e30", "--min-alpha", "1", "--epochs", "1", "--quiet", "--threads", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == (
        f"firth train: error: {algorithm} diverged: the vectors overflowed to NaN or Inf; "
        "no model was written (try a smaller --alpha than 1e+30)"
    )
    assert not out.exists()


def test_glove_convergence_check_accepts_a_falling_loss() -> None:
    from firth_trainer.glove import check_converging

    check_converging([0.4, 0.1, 0.08])
    with pytest.raises(TrainingDiverged):
        check_converging([0.4, 0.1, 100611.0])
    with pytest.raises(TrainingDiverged):
        check_converging([0.4, float("nan")])


def test_glove_gives_the_same_vectors_on_any_number_of_threads(tmp_path: Path) -> None:
    """Threads fit blocks of records that share no row, so their timing cannot change a bit
    (under Hogwild, two threads racing over the same rows gave different vectors every run)."""
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(3000)])
    corpus = tmp_path / "random.txt"
    corpus.write_text("\n".join(" ".join(words[rng.zipf(1.3, 30) % 3000]) for _ in range(6000)) + "\n")
    one = train(corpus, tmp_path / "one", "glove", "--threads", "1", "--seed", "5", "--epochs", "3")
    two = train(corpus, tmp_path / "two", "glove", "--threads", "2", "--seed", "5", "--epochs", "3")
    meta = load_artifact(two).meta["training"]
    assert meta["row_groups"] == 8 and meta["cooccurrence_records"] > 100_000  # 64 blocks, busy threads
    assert np.load(one / "vectors.npy").tobytes() == np.load(two / "vectors.npy").tobytes()
    assert load_artifact(one).meta["training"]["epoch_loss"] == meta["epoch_loss"]


def test_glove_fits_every_record_once_an_iteration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import firth_trainer.glove

    fitted: list[tuple[int, int]] = []
    real = firth_trainer.glove.fit_chunk

    def spy(*args: object) -> tuple[float, int]:
        fitted.append((int(args[6]), int(args[7])))  # type: ignore[call-overload]
        return real(*args)  # type: ignore[no-any-return]

    monkeypatch.setattr(firth_trainer.glove, "fit_chunk", spy)
    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(1500)])
    corpus = tmp_path / "random.txt"
    corpus.write_text("\n".join(" ".join(words[rng.zipf(1.3, 20) % 1500]) for _ in range(2000)) + "\n")
    model = train(corpus, tmp_path / "m", "glove", "--threads", "2", "--epochs", "3")
    n_rec = load_artifact(model).meta["training"]["cooccurrence_records"]
    per_epoch = len(fitted) // 3
    assert per_epoch == 64 * firth_trainer.glove.ROUNDS  # 8 x 8 blocks, each in ROUNDS pieces
    for epoch in range(3):
        counts = np.zeros(n_rec, dtype=np.int64)
        for s, e in fitted[epoch * per_epoch : (epoch + 1) * per_epoch]:
            counts[s:e] += 1
        assert counts.min() == 1 and counts.max() == 1, epoch


def test_glove_block_pieces_come_in_order_then_in_seeded_permutations() -> None:
    from firth_trainer.glove import ROUNDS, block_piece

    def pieces(epoch: int, block: int = 3, seed: int = 1) -> list[tuple[int, int]]:
        return [block_piece(100, 595, epoch, block, r, seed) for r in range(ROUNDS)]

    first = pieces(0)
    assert first[0][0] == 100 and first[-1][1] == 595
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in pairwise(first))  # in order, no gap
    later = [pieces(epoch) for epoch in (1, 2)]
    for order in later:
        assert sorted(order) == first and order != first
    assert later[0] != later[1]
    assert pieces(1) == later[0]  # reproducible
    assert pieces(1, seed=2) != later[0]
    assert pieces(1, block=4) != later[0]  # each block its own order


def test_unwritable_output_fails_before_training(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "models.txt"
    blocker.write_text("x\n")
    args = ["train", "--corpus", str(corpus), "--out", str(blocker / "m"), "--quiet", "--epochs", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"firth train: error: {blocker / 'm'}: cannot create it under {blocker}, which is not a directory"
    )
    assert blocker.read_text() == "x\n"


def test_a_failed_run_creates_no_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "new" / "deeper" / "m"
    assert main(["train", "--corpus", str(empty), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "new").exists()
