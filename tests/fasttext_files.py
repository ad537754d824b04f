"""Small fastText `.bin` models made in the tests with gensim (whose writer is byte for byte the
layout Facebook's fastText saves: fastText's load_model + save_model gives back the same bytes),
and the byte offsets of each part, for tests that cut or patch a file.

`make_bin(path)` trains a tiny gensim FastText on a random corpus with non-ASCII words and
fastText's `</s>` token and saves it; the model is returned as the oracle.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

from gensim.models.fasttext import FastText, save_facebook_model

WORDS = [f"w{i}" for i in range(60)] + ["naïve", "straße", "東京", "emoji🙂", "Paris", "paris", "</s>"]


def make_model(
    *, dim: int = 12, bucket: int = 500, minn: int = 3, maxn: int = 6, sg: int = 1, seed: int = 1
) -> FastText:
    rng = random.Random(seed)
    sentences = [[rng.choice(WORDS) for _ in range(10)] for _ in range(300)]
    return FastText(
        sentences=sentences,
        vector_size=dim,
        min_count=1,
        bucket=bucket,
        min_n=minn,
        max_n=maxn,
        sg=sg,
        epochs=2,
        workers=1,
        seed=seed,
    )


def make_bin(path: Path, **kwargs: int) -> FastText:
    """Save a tiny model as a fastText .bin at `path`; return the gensim model written."""
    model = make_model(**kwargs)
    save_facebook_model(model, str(path))
    return model


@dataclass(frozen=True)
class Layout:
    """Where each part of a .bin starts (dictionary entries are `word NUL int64 int8`)."""

    words: list[str]
    dim: int
    bucket: int

    ARGS = 8
    DIM = 8
    LOSS = 32
    MODEL = 36
    BUCKET = 40
    DICT = 64
    NLABELS = 72
    PRUNEIDX = 84
    ENTRIES = 92

    @property
    def quant(self) -> int:
        return self.ENTRIES + sum(len(w.encode()) + 10 for w in self.words)

    @property
    def input_header(self) -> int:
        return self.quant + 1

    @property
    def input_rows(self) -> int:
        return self.input_header + 16

    @property
    def ngram_rows(self) -> int:
        return self.input_rows + len(self.words) * self.dim * 4

    @property
    def qout(self) -> int:
        return self.ngram_rows + self.bucket * self.dim * 4

    @property
    def output_header(self) -> int:
        return self.qout + 1

    @property
    def output_rows(self) -> int:
        return self.output_header + 16

    @property
    def end(self) -> int:
        return self.output_rows + len(self.words) * self.dim * 4


def layout_of(model: FastText) -> Layout:
    return Layout(list(model.wv.index_to_key), model.wv.vector_size, model.wv.bucket)


def patched(data: bytes, offset: int, fmt: str, *values: int | float) -> bytes:
    packed = struct.pack(fmt, *values)
    return data[:offset] + packed + data[offset + len(packed) :]
