"""Corpus readers on every supported format, and bad input failing early with one clear line."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from firth_trainer.cli import main
from firth_trainer.corpus import MAX_SENTENCE_TOKENS, CorpusStats, iter_sentences

from .conftest import error_before_reading

TEXT = "The Cat's hat, the DOG!\n\nthe cat and the dog\n  a cat -- a dog  \n"
EXPECTED = [
    ["the", "cats", "hat", "the", "dog"],
    ["the", "cat", "and", "the", "dog"],
    ["a", "cat", "a", "dog"],
]
WRITERS = {
    "plain.txt": lambda p, b: p.write_bytes(b),
    "c.gz": lambda p, b: p.write_bytes(gzip.compress(b)),
    "c.bz2": lambda p, b: p.write_bytes(bz2.compress(b)),
    "c.xz": lambda p, b: p.write_bytes(lzma.compress(b)),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_reads_the_same_sentences(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    WRITERS[name](path, TEXT.encode())
    stats = CorpusStats()
    assert list(iter_sentences(path, "lower_and_strip_punctuation", stats)) == EXPECTED
    assert stats.lines == 4 and stats.sentences == 3 and stats.tokens == 14
    assert stats.files[0]["bytes"] == path.stat().st_size  # hashed as stored


def test_directory_reads_every_file_in_order_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("one two\n")
    (tmp_path / "b" / "c.gz").write_bytes(gzip.compress(b"three four\n"))
    (tmp_path / ".hidden").write_text("secret words\n")
    stats = CorpusStats()
    assert list(iter_sentences(tmp_path, "none", stats)) == [["one", "two"], ["three", "four"]]
    assert [Path(str(f["path"])).name for f in stats.files] == ["a.txt", "c.gz"]


def test_long_lines_are_split(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text(" ".join(f"w{i % 50}" for i in range(25_000)) + "\n")
    lengths = [len(s) for s in iter_sentences(path, "none")]
    assert lengths == [MAX_SENTENCE_TOKENS, MAX_SENTENCE_TOKENS, 5_000]


def test_compressed_corpus_trains_the_same_model_as_plain(tmp_path: Path, planted_corpus: Path) -> None:
    gz = tmp_path / "planted.txt.gz"
    gz.write_bytes(gzip.compress(planted_corpus.read_bytes()))
    common = [
        "--algorithm",
        "cbow",
        "--dim",
        "8",
        "--epochs",
        "1",
        "--min-count",
        "2",
        "--threads",
        "1",
        "-q",
    ]
    assert main(["train", "--corpus", str(planted_corpus), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["train", "--corpus", str(gz), "--out", str(tmp_path / "b"), *common]) == 0
    assert np.array_equal(np.load(tmp_path / "a" / "vectors.npy"), np.load(tmp_path / "b" / "vectors.npy"))


def test_stdin_corpus_through_the_console_script(tmp_path: Path, planted_corpus: Path) -> None:
    firth = Path(sys.executable).parent / "firth"
    out = tmp_path / "m"
    cmd = [
        str(firth),
        "train",
        "--corpus",
        "-",
        "--out",
        str(out),
        "--dim",
        "8",
        "--epochs",
        "1",
        "--min-count",
        "2",
    ]
    done = subprocess.run(
        cmd, input=planted_corpus.read_bytes(), capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith(f"wrote {out}")
    import json

    meta = json.loads((out / "meta.json").read_text())
    assert meta["corpus"]["files"][0]["path"] == "standard input"
    assert meta["corpus"]["lines"] == len(planted_corpus.read_text().splitlines())


def _garbage() -> bytes:
    return np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()


BAD_CORPORA = {
    "empty": (lambda p: p.write_bytes(b""), "holds no words"),
    "blank lines": (lambda p: p.write_text("\n   \n\t\n"), "holds no words"),
    "punctuation only": (lambda p: p.write_text("-- !! ??\n"), "holds no words"),
    "binary garbage": (lambda p: p.write_bytes(_garbage()), "binary"),
    "NUL bytes": (lambda p: p.write_bytes(b"hello world\n\x00\x00\x00 text\n"), "NUL"),
    "rare words only": (lambda p: p.write_text("every word here is unique\n"), "vocabulary is empty"),
}


@pytest.mark.parametrize("case", list(BAD_CORPORA))
def test_bad_corpus_fails_early_and_leaves_nothing(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = BAD_CORPORA[case]
    corpus = tmp_path / "corpus.txt"
    make(corpus)
    out = tmp_path / "models" / "m"
    code = main(["train", "--corpus", str(corpus), "--out", str(out), "-q", "--tmp-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("firth train: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not out.exists()
    leftovers = [p for p in tmp_path.rglob("*") if p.name not in {"corpus.txt", "models"}]
    assert leftovers == []


def test_bad_gzip_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.gz"
    corpus.write_bytes(b"this is not gzip data at all\n")
    assert main(["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dim", "0"], "dim must be > 0"),
        (["--dim", "-3", "--algorithm", "glove"], "dim must be > 0"),
        (["--window", "0"], "window must be > 0"),
        (["--epochs", "0", "--algorithm", "cbow"], "epochs must be > 0"),
        (["--negative", "0"], "negative must be > 0"),
        (["--alpha", "-1.5"], "alpha must be > 0"),
        (["--x-max", "0.0", "--algorithm", "glove"], "x-max must be > 0"),
        (["--min-count", "0"], "min-count must be >= 1"),
        (["--alpha", "nan"], "alpha must be a finite number > 0"),
        (["--eta", "inf", "--algorithm", "glove"], "eta must be a finite number > 0"),
        (["--sample", "nan"], "sample must be a finite number >= 0"),
        (
            ["--min-alpha", "1.0"],
            "min-alpha must not exceed alpha (0.025): the rate decays from alpha to min-alpha",
        ),
        (["--threads", "-2", "--algorithm", "glove"], "threads must be >= 0 (0: every core)"),
        (["--seed", "-1"], "seed must be between 0 and 4294967295"),
        (["--seed", "4294967296", "--algorithm", "glove"], "seed must be between 0 and 4294967295"),
    ],
)
def test_bad_hyperparameters_fail_before_reading(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = error_before_reading(tmp_path, flags, capsys)
    assert err == f"firth train: error: {message}, got {flags[1]}\n"


def test_missing_corpus_and_existing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--corpus", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "m"), "-q"]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "m").mkdir()
    (tmp_path / "c.txt").write_text("a b c\n" * 10)
    assert main(["train", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m"), "-q"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_named_pipe_is_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """<(zcat big.gz) and /dev/stdin are pipes, not regular files: they are read as streams."""
    import threading

    from firth_core.artifact import load_artifact

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    text = "the cat sat on the mat\nthe dog sat on the log\n" * 20

    def feed() -> None:
        with open(fifo, "w") as writer:
            writer.write(text)

    feeder = threading.Thread(target=feed)
    feeder.start()
    out = tmp_path / "m"
    code = main(
        ["train", "--corpus", str(fifo), "--out", str(out), "-q", "--min-count", "1", "--epochs", "1"]
    )
    feeder.join(timeout=30)
    assert code == 0, capsys.readouterr().err
    assert load_artifact(out).meta["corpus"]["lines"] == 40
    # /dev/null is a character device: an empty corpus, said as such, not "no such file".
    assert main(["train", "--corpus", "/dev/null", "--out", str(tmp_path / "n"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "no such file" not in err and err.count("\n") == 1


@pytest.mark.parametrize("piece_chars", [1, 2, 7, 64, 1 << 20])
def test_lines_read_in_pieces_give_the_same_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece_chars: int
) -> None:
    """Lines are read in pieces of at most MAX_PIECE_CHARS characters (a corpus without line
    breaks costs bounded memory); the sentences are those of whole lines, whatever the piece size."""
    import firth_trainer.corpus as corpus_module
    from firth_core.standardize import get_standardizer

    rnd = np.random.default_rng(piece_chars)
    words = ["the", "Cat's", "sat", "on", "a", "mat!", "x" * 30, "é", "--", "naïve"]
    lines = []
    for _ in range(200):
        n = int(rnd.integers(0, 40))
        seps = rnd.choice([" ", "  ", "\t", " \t "], size=n)
        lines.append("".join(str(rnd.choice(words)) + str(sep) for sep in seps))
    text = "\r\n".join(lines[:100]) + "\n" + "\n".join(lines[100:])  # no break after the last line
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr(corpus_module, "MAX_PIECE_CHARS", piece_chars)
    monkeypatch.setattr(corpus_module, "MAX_SENTENCE_TOKENS", 7)
    std = get_standardizer("lower_and_strip_punctuation")
    expected = []
    for line in text.replace("\r\n", "\n").split("\n"):
        tokens = std(line).split()
        expected += [tokens[s : s + 7] for s in range(0, len(tokens), 7)]
    stats = corpus_module.CorpusStats()
    assert list(corpus_module.iter_sentences(path, "lower_and_strip_punctuation", stats)) == expected
    assert stats.lines == 200
    assert stats.tokens == sum(map(len, expected)) and stats.sentences == len(expected)
