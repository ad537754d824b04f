"""Subword (fastText) test models with gensim's FastTextKeyedVectors as their oracle.

The words are made of a few syllables, so a word outside the vocabulary ("talomi" beside "talo"
and "lomi") shares n-grams with words inside it and its neighbours mean something."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from firth_core.artifact import NGRAMS_FILE, write_artifact
from firth_core.subwords import SubwordSpec

SYLLABLES = ["ta", "lo", "mi", "ke", "ru", "sa", "no", "pe", "vi", "du", "ga", "zo"]
SPEC = SubwordSpec(minn=3, maxn=5, bucket=4000)
DIM = 16
OOV_WORDS = ["talomike", "rusano", "pevidu", "zogata", "mimimi", "kerutalo"]


def syllable_words(n: int = 1500, seed: int = 11) -> list[str]:
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < n:
        word = "".join(rng.choice(SYLLABLES, size=int(rng.integers(1, 4))))
        if word not in OOV_WORDS:
            words[word] = None
    return list(words)


def gensim_fasttext(words: list[str], spec: SubwordSpec = SPEC, dim: int = DIM, seed: int = 5) -> Any:
    """gensim's FastTextKeyedVectors with random word and n-gram rows (full vectors composed by gensim)."""
    from gensim.models.fasttext import FastTextKeyedVectors

    rng = np.random.default_rng(seed)
    kv = FastTextKeyedVectors(dim, spec.minn, spec.maxn, spec.bucket)
    kv.add_vectors(words, np.zeros((len(words), dim), np.float32))
    kv.vectors_vocab = rng.standard_normal((len(words), dim)).astype(np.float32)
    kv.vectors_ngrams = rng.standard_normal((spec.bucket, dim)).astype(np.float32)
    kv.recalc_char_ngram_buckets()
    kv.adjust_vectors()
    return kv


def write_subword_model(
    out: Path, theirs: Any, spec: SubwordSpec = SPEC, name: str = "subword", standardize: str = "none"
) -> Path:
    """The firth artifact of a gensim FastTextKeyedVectors: its full vectors and n-gram rows."""
    return write_artifact(
        out,
        list(theirs.index_to_key),
        np.asarray(theirs.vectors, dtype=np.float32),
        name=name,
        standardize=standardize,
        counts=list(range(10 * len(theirs.index_to_key), 0, -10)),
        meta={"subwords": spec.to_meta()},
        extras={NGRAMS_FILE: np.asarray(theirs.vectors_ngrams, dtype=np.float32)},
    )
