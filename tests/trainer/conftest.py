"""Fixtures of the trainer tests. A synthetic corpus with planted structure: countries and their capitals.

Every country and its capital share words of their own (a river, a dish), countries appear in
"nation" contexts and capitals in "city" contexts, and each capital is named as the capital of
its country. So capital - country is about the same offset for every pair, and a country's
nearest capital is its own: a trainer that works recovers `a : capital(a) :: b : capital(b)`.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

PAIRS = [
    ("france", "paris"),
    ("italy", "rome"),
    ("spain", "madrid"),
    ("germany", "berlin"),
    ("japan", "tokyo"),
    ("egypt", "cairo"),
    ("peru", "lima"),
    ("kenya", "nairobi"),
]
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "in",
    "to",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "it",
]


def sentences(n: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        k = rnd.randrange(len(PAIRS))
        country, capital = PAIRS[k]
        river, dish = f"river{k}", f"dish{k}"
        template = rnd.randrange(6)
        if template == 0:
            words = ["the", "nation", country, "lies", "along", river]
        elif template == 1:
            words = ["the", "city", capital, "lies", "along", river]
        elif template == 2:
            words = ["people", "of", "the", "nation", country, "eat", dish]
        elif template == 3:
            words = ["people", "of", "the", "city", capital, "eat", dish]
        elif template == 4:
            words = [capital, "is", "the", "capital", "city", "of", "the", "nation", country]
        else:
            words = [
                "a",
                "nation",
                "such",
                "as",
                country,
                "has",
                "a",
                "capital",
                "city",
                "such",
                "as",
                capital,
            ]
        noisy = []
        for w in words:
            noisy.append(w)
            if rnd.random() < 0.3:
                noisy.append(rnd.choice(FILLER))
        out.append(" ".join(noisy))
    return out


def write_corpus(path: Path, n: int = 4000, seed: int = 0) -> Path:
    path.write_text("\n".join(sentences(n, seed)) + "\n", encoding="utf-8")
    return path


def write_questions(path: Path) -> Path:
    lines = [": capital-synthetic"]
    for a, b in PAIRS:
        for c, d in PAIRS:
            if a != c:
                lines.append(f"{a} {b} {c} {d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def planted_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "planted.txt")


@pytest.fixture(scope="session")
def planted_questions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_questions(tmp_path_factory.mktemp("questions") / "q.txt")


@pytest.fixture(scope="session")
def planted_pairs() -> list[tuple[str, str]]:
    return list(PAIRS)


TOPICS = 6
TOPIC_WORDS = 8


def topic_word(topic: int, i: int) -> str:
    return f"topic{topic}word{i}"


def write_topic_corpus(path: Path, n: int = 3000, seed: int = 1) -> Path:
    """Sentences of words drawn from one of TOPICS disjoint topics (plus filler words): the words
    of a topic share all their contexts, so each word's nearest neighbours are its topic mates."""
    rnd = random.Random(seed)
    lines = []
    for _ in range(n):
        topic = rnd.randrange(TOPICS)
        words = [topic_word(topic, rnd.randrange(TOPIC_WORDS)) for _ in range(rnd.randint(4, 9))]
        for _ in range(rnd.randint(0, 3)):
            words.insert(rnd.randrange(len(words) + 1), rnd.choice(FILLER))
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def topic_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_topic_corpus(tmp_path_factory.mktemp("topics") / "topics.txt")


def error_before_reading(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """`firth train` with `flags` on a corpus that would block if read: the check must fail first
    (exit 2, nothing written). Returns what went to stderr."""
    import os

    from firth_trainer.cli import main

    fifo = tmp_path / "never-read"
    os.mkfifo(fifo)
    out = tmp_path / "m"
    assert main(["train", "--corpus", str(fifo), "--out", str(out), "-q", *flags]) == 2
    assert not out.exists()
    return capsys.readouterr().err
