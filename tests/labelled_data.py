"""Planted labelled text in fastText's format, made in the test: labels that the words decide,
labels drawn at random (nothing to learn), and labels only word order decides (bigrams)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABELS = ("animal", "plant", "rock")
SIGNS = {label: [f"{label[:3]}{i}" for i in range(6)] for label in LABELS}
NOISE = [f"noise{i}" for i in range(60)]


def planted_lines(n: int, seed: int, learnable: bool = True) -> list[str]:
    """Each line: two of its label's own words among four shared noise words. With learnable
    False the label is drawn at random, independent of the words."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        label = LABELS[int(rng.integers(len(LABELS)))]
        words = [*rng.choice(SIGNS[label], 2), *rng.choice(NOISE, 4)]
        rng.shuffle(words)
        shown = LABELS[int(rng.integers(len(LABELS)))] if not learnable else label
        lines.append(f"__label__{shown} {' '.join(words)}")
    return lines


def order_lines(n: int, seed: int) -> list[str]:
    """Both labels use the same two words; only their order tells them apart: `red fox` is
    `__label__ab`, `fox red` is `__label__ba`. A bag of words cannot learn it; bigrams can."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        ab = bool(rng.integers(2))
        pair = "red fox" if ab else "fox red"
        noise = " ".join(rng.choice(NOISE, 3))
        lines.append(f"__label__{'ab' if ab else 'ba'} {noise} {pair} {noise}")
    return lines


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
