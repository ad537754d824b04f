"""Exporters: a firth model directory -> word2vec text or binary, as gensim and the C tool read
them, or a fastText `.bin` model, as Facebook's fastText and gensim's `load_facebook_model` read it.

Text rows hold the shortest of `%.6g` / `%.9g` that reads back to the same float32 (9 significant
digits always round-trip), so a GloVe model exports with its original digits. Binary entries are
`word<space>` + dim little-endian float32 + a newline, like the original word2vec C tool writes
(gensim skips that newline).

A fastText `.bin` (firth_core/fasttext_bin.py's layout) needs each word's own input row, which a
firth subword model does not store: it is recovered from the full vector and the n-gram rows
(firth_core/fasttext_rows.py). A model without subwords is written with bucket 0 and maxn 0,
its vectors as the own rows. The output matrix is output.npy when the model has one of the
vocabulary's size, zeros otherwise. The arguments are the imported file's when the model came
from a `.bin`, else what meta.json's training record says, else fastText's defaults.

Every file is written beside the target and renamed into place; an existing file is replaced
only with `overwrite`, and only when it is a regular file (firth_core/destination.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from firth_core.artifact import Artifact, load_artifact
from firth_core.destination import SwapIncomplete, check_destination, install, temporary_sibling
from firth_core.errors import ArtifactError
from firth_core.fasttext_bin import (
    FORMAT_NAME,
    LOSS_NAMES,
    FastTextArgs,
    encode_header,
    encode_output_header,
    encode_rows,
)
from firth_core.fasttext_rows import blocks, own_row_blocks

_BLOCK_ROWS = 1 << 14


def _text_rows(words: list[str], block: np.ndarray) -> list[str]:
    dim = block.shape[1]
    short = " ".join(["%.6g"] * dim)
    exact = " ".join(["%.9g"] * dim)
    lines = []
    for word, row in zip(words, block, strict=True):
        values = tuple(row.tolist())
        text = short % values
        if not np.array_equal(np.array(text.split(" "), dtype=np.float32), row):
            text = exact % values
        lines.append(f"{word} {text}\n")
    return lines


def _model_to_export(
    model_dir: str | os.PathLike[str], target: Path, overwrite: bool, forbidden: str, cannot: str
) -> Artifact:
    """The model to write at `target`, which is checked first (before reading the model, not
    after); refused, naming the first such word, when a word holds `forbidden` (the format
    `cannot` hold it)."""
    check_destination(target, overwrite, "file")
    model = load_artifact(model_dir)
    for index, word in enumerate(model.words):
        if forbidden in word:
            raise ArtifactError(f"{model.path}: word {index + 1} ({word!r}) {cannot}")
    return model


def export_word2vec(
    model_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    binary: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the model as a word2vec file (header `count dim`); return the output path."""
    target = Path(out_path)
    model = _model_to_export(model_dir, target, overwrite, " ", "has a space; word2vec files cannot hold it")
    count, dim = model.vectors.shape

    def write(handle: IO[bytes]) -> None:
        handle.write(f"{count} {dim}\n".encode())
        for start in range(0, count, _BLOCK_ROWS):
            words = model.words[start : start + _BLOCK_ROWS]
            block = np.asarray(model.vectors[start : start + _BLOCK_ROWS], dtype="<f4")
            if binary:
                handle.write(
                    b"".join(
                        word.encode("utf-8") + b" " + row.tobytes() + b"\n"
                        for word, row in zip(words, block, strict=True)
                    )
                )
            else:
                handle.write("".join(_text_rows(words, block)).encode("utf-8"))

    _write_file(target, overwrite, write)
    return target


def _write_file(target: Path, overwrite: bool, write: Callable[[IO[bytes]], None]) -> None:
    """Run `write` on a temporary file beside `target`, then rename it into place; on any
    failure nothing is left behind."""
    tmp = temporary_sibling(target, "tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        install(tmp, target, check_destination(target, overwrite, "file"), "file")
    except SwapIncomplete:
        raise  # `tmp` holds what was at the destination: it must stay
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ArtifactError(
            f"{target}: cannot be written ({exc.strerror or exc.__class__.__name__})"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _training_args(meta: dict[str, Any], dim: int) -> FastTextArgs:
    """The arguments to record: the imported `.bin`'s, else the training record's, else defaults."""
    source = meta.get("source")
    if isinstance(source, dict) and source.get("format") == FORMAT_NAME:
        with contextlib.suppress(KeyError, ValueError, TypeError, AttributeError):
            return FastTextArgs.from_meta(source["args"])
    algorithm = meta.get("algorithm")
    if not isinstance(algorithm, dict):
        return FastTextArgs(dim=dim)
    cbow = "cbow" in (algorithm.get("name"), algorithm.get("model"))
    known: dict[str, Any] = {"model": 1 if cbow else 2}
    for ours, theirs, kind in (
        ("window", "ws", int),
        ("epochs", "epoch", int),
        ("negative", "neg", int),
        ("min_count", "min_count", int),
        ("sample", "t", float),
    ):
        with contextlib.suppress(KeyError, ValueError, TypeError):
            known[theirs] = kind(algorithm[ours])
    return FastTextArgs(dim=dim, **known)


def _counts(model: Artifact) -> np.ndarray:
    """The words' counts (at least 1: gensim drops a word counted 0), or 1 each when unknown."""
    if model.counts is None:
        return np.ones(len(model.words), dtype=np.int64)
    return np.maximum(model.counts, 1)


def export_fasttext_bin(
    model_dir: str | os.PathLike[str], out_path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write the model as a fastText `.bin` (version 12, unsupervised, unquantized); return the path."""
    target = Path(out_path)
    model = _model_to_export(
        model_dir, target, overwrite, "\x00", "holds a NUL byte; a fastText .bin cannot hold it"
    )
    count, dim = model.vectors.shape
    spec, ngrams = model.subwords, model.ngrams
    args = dataclasses.replace(
        _training_args(model.meta, dim),
        dim=dim,
        bucket=spec.bucket if spec is not None else 0,
        minn=spec.minn if spec is not None else 0,
        maxn=spec.maxn if spec is not None else 0,
    )
    if args.loss not in LOSS_NAMES:
        args = dataclasses.replace(args, loss=2)
    counts = _counts(model)
    source = model.meta.get("source")
    ntokens = source.get("ntokens") if isinstance(source, dict) else None
    if not isinstance(ntokens, int):
        ntokens = int(counts.sum())
    output = model.output if model.output is not None and model.output.shape == (count, dim) else None

    def write(handle: IO[bytes]) -> None:
        handle.write(encode_header(args, model.words, counts, ntokens))
        if spec is not None and ngrams is not None:
            for own in own_row_blocks(model.vectors, ngrams, model.words, spec):
                handle.write(encode_rows(own))
        else:
            for start, stop in blocks(count):
                handle.write(encode_rows(model.vectors[start:stop]))
        if spec is not None and ngrams is not None:
            for start, stop in blocks(ngrams.shape[0]):
                handle.write(encode_rows(ngrams[start:stop]))
        handle.write(encode_output_header(count, dim))
        zeros = np.zeros((min(count, 1 << 14), dim), dtype=np.float32)
        for start, stop in blocks(count):
            block = output[start:stop] if output is not None else zeros[: stop - start]
            handle.write(encode_rows(block))

    _write_file(target, overwrite, write)
    return target
