"""Exporters: a firth model directory -> word2vec text or binary, as gensim and the C tool read them.

Text rows hold the shortest of `%.6g` / `%.9g` that reads back to the same float32 (9 significant
digits always round-trip), so a GloVe model exports with its original digits. Binary entries are
`word<space>` + dim little-endian float32 + a newline, like the original word2vec C tool writes
(gensim skips that newline). The file is written beside the target and renamed into place; an
existing file is replaced only with `overwrite`, and only when it is a regular file
(firth_core/destination.py).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from firth_core.artifact import load_artifact
from firth_core.destination import SwapIncomplete, check_destination, install, temporary_sibling
from firth_core.errors import ArtifactError

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


def export_word2vec(
    model_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    binary: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the model as a word2vec file (header `count dim`); return the output path."""
    target = Path(out_path)
    check_destination(target, overwrite, "file")  # before reading the model, not after
    model = load_artifact(model_dir)
    for index, word in enumerate(model.words):
        if " " in word:
            raise ArtifactError(
                f"{model.path}: word {index + 1} ({word!r}) has a space; word2vec files cannot hold it"
            )
    count, dim = model.vectors.shape
    tmp = temporary_sibling(target, "tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
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
    return target
