"""The model artifact: the one thing that passes from trainer/importer to the service.

A model is a directory:

    vectors.npy   float32, n x d, rows ordered by frequency (most frequent first)
    vocab.txt     one word a line, `word<TAB>count` when the count is known
    *.npy         optional further float32 matrices a producer keeps, memory-mapped like the
                  vectors: `ngrams.npy` (a subword model's bucket rows; meta.json's `subwords`
                  says how words map to them), `output.npy` (the output layer: word2vec's
                  context vectors, a classifier's label rows)
    meta.json     format version, name, dimension, count, source or algorithm and its
                  hyperparameters, the standardisation applied to words, sha256 of every
                  file, creation time, evaluation scores when known

Writers build the directory under a temporary name beside the target and rename it into
place, so a reader never sees half a model. The loader memory-maps the vectors and refuses a
bad artifact with one ArtifactError naming the file and the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import operator
import os
import shutil
import stat
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firth_core.destination import (
    SwapIncomplete,
    check_destination,
    check_plain_name,
    describe,
    install,
    temporary_sibling,
)
from firth_core.errors import ArtifactError
from firth_core.standardize import STANDARDIZERS
from firth_core.subwords import SubwordSpec

FORMAT = "firth-model"
FORMAT_VERSION = 1
VECTORS_FILE = "vectors.npy"
VOCAB_FILE = "vocab.txt"
META_FILE = "meta.json"
NGRAMS_FILE = "ngrams.npy"
OUTPUT_FILE = "output.npy"
_FORBIDDEN_IN_WORDS = ("\t", "\n", "\r")


@dataclass(frozen=True)
class Artifact:
    """A loaded model directory. `vectors` is a read-only memory map."""

    path: Path
    meta: dict[str, Any]
    words: list[str]
    counts: np.ndarray | None
    vectors: np.ndarray = field(repr=False)
    extras: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # file name -> memory map

    @property
    def ngrams(self) -> np.ndarray | None:
        """A subword model's bucket rows (bucket x d), or None."""
        return self.extras.get(NGRAMS_FILE)

    @property
    def output(self) -> np.ndarray | None:
        """The output layer's matrix when the producer kept it, or None."""
        return self.extras.get(OUTPUT_FILE)

    @property
    def subwords(self) -> SubwordSpec | None:
        """How words map to n-gram rows, for a model that has them (None for plain models)."""
        spec = self.meta.get("subwords")
        if not isinstance(spec, dict) or self.ngrams is None:
            return None
        parsed = SubwordSpec.from_meta(spec)
        return parsed if parsed.enabled else None

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def standardize(self) -> str:
        return str(self.meta.get("standardize", "none"))

    @property
    def sha256(self) -> str:
        """One digest for the whole model: the digest of its vectors file."""
        return str(self.meta["files"][VECTORS_FILE])


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _check_words(words: Sequence[str]) -> None:
    # one pass in C for the common case (2,000,000 words in a fraction of a second); the loop
    # below finds and names the first bad word
    joined = "".join(words)
    if all(words) and not any(ch in joined for ch in _FORBIDDEN_IN_WORDS) and len(set(words)) == len(words):
        return
    seen: set[str] = set()
    for line_no, word in enumerate(words, start=1):
        if not word:
            raise ArtifactError(f"{VOCAB_FILE}: word {line_no} is empty")
        if any(ch in word for ch in _FORBIDDEN_IN_WORDS):
            raise ArtifactError(f"{VOCAB_FILE}: word {line_no} contains a tab or line break")
        if word in seen:
            raise ArtifactError(f"{VOCAB_FILE}: word {word!r} appears twice (line {line_no})")
        seen.add(word)


def _check_vectors(vectors: np.ndarray, file: str = VECTORS_FILE, scan_values: bool = True) -> None:
    if vectors.dtype != np.float32:
        raise ArtifactError(f"{file}: dtype is {vectors.dtype}, expected float32")
    if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise ArtifactError(f"{file}: shape is {vectors.shape}, expected a non-empty n x d matrix")
    if not scan_values:
        return
    # Scan in blocks so a memory-mapped file is not pulled into one temporary copy.
    for start in range(0, vectors.shape[0], 1 << 16):
        block = np.asarray(vectors[start : start + (1 << 16)])
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.argmin(finite))
            raise ArtifactError(f"{file}: row {row} holds NaN or Inf")
        zero = ~block.any(axis=1)
        if zero.any():
            row = start + int(np.argmax(zero))
            raise ArtifactError(f"{file}: row {row} is all zeros (cosine is undefined)")


def _check_extra(file: str, matrix: np.ndarray, dim: int) -> None:
    check_plain_name(file, "extras")
    if not file.endswith(".npy") or file == VECTORS_FILE:
        raise ArtifactError(f"{file}: an extra matrix must be a .npy file other than {VECTORS_FILE}")
    if matrix.ndim != 2 or matrix.shape[1] != dim or matrix.shape[0] == 0:
        raise ArtifactError(f"{file}: shape is {matrix.shape}, expected a non-empty n x {dim} matrix")
    for start in range(0, matrix.shape[0], 1 << 16):  # in blocks, as _check_vectors: no full-size temporary
        if not np.isfinite(matrix[start : start + (1 << 16)]).all():
            raise ArtifactError(f"{file}: holds NaN or Inf")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_artifact(
    out_dir: str | os.PathLike[str],
    words: Sequence[str],
    vectors: np.ndarray,
    *,
    name: str | None = None,
    standardize: str = "none",
    counts: Sequence[int] | np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
    extras: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a model directory atomically and return its path.

    `meta` carries what the producer knows (source or algorithm, hyperparameters, corpus
    statistics, evaluation); the format fields, dimension, count, checksums and creation time
    are filled in here. `extras` maps further `.npy` file names (NGRAMS_FILE, OUTPUT_FILE) to
    float32 matrices of the model's dimension. On any failure nothing is left at `out_dir`.
    """
    extras = dict(extras or {})
    for file, matrix in extras.items():
        _check_extra(file, matrix, vectors.shape[1])
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(words) != vectors.shape[0]:
        raise ArtifactError(f"{VECTORS_FILE}: {vectors.shape[0]} rows for {len(words)} words")
    _check_fields(words, counts, standardize)
    _check_vectors(vectors)
    with draft_artifact(out_dir, overwrite=overwrite) as draft:
        draft.save(VECTORS_FILE, vectors)
        for file, matrix in extras.items():
            draft.save(file, matrix)
        path = draft.commit(
            words, name=name, standardize=standardize, counts=counts, meta=meta, fields_checked=True
        )
    return path


def _check_fields(words: Sequence[str], counts: Sequence[int] | np.ndarray | None, standardize: str) -> None:
    if counts is not None and len(counts) != len(words):
        raise ArtifactError(f"{VOCAB_FILE}: {len(counts)} counts for {len(words)} words")
    if standardize not in STANDARDIZERS:
        raise ArtifactError(f"{META_FILE}: unknown standardize {standardize!r}")
    _check_words(words)


def _cannot_write(target: Path, exc: OSError) -> ArtifactError:
    return ArtifactError(f"{target}: cannot be written ({exc.strerror or exc.__class__.__name__})")


class ArtifactDraft:
    """A model directory being built under a temporary name beside its target (draft_artifact).

    A matrix is either saved whole (`save`, checked by the caller) or made as a memory-mapped
    .npy file to be filled in place (`allocate`), so a producer streaming a large model writes
    it once, into the model's own file; `keep_rows` cuts such a file to its first rows, and
    `commit` checks the allocated matrices, writes vocab.txt and meta.json with every file's
    sha256 and renames the directory into place."""

    def __init__(self, target: Path, path: Path, overwrite: bool) -> None:
        self.target = target
        self.path = path
        self._overwrite = overwrite
        self._allocated: dict[str, np.memmap] = {}
        self._files: list[str] = []

    def save(self, file: str, matrix: np.ndarray) -> None:
        """Write a whole float32 matrix as `file` (the caller has checked its values)."""
        self._add(file)
        try:
            with open(self.path / file, "wb") as handle:
                np.save(handle, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise _cannot_write(self.target, exc) from None

    def allocate(self, file: str, shape: tuple[int, int]) -> np.ndarray:
        """A writable float32 memory map that becomes `file`; its values are checked at commit."""
        self._add(file)
        try:
            matrix = np.lib.format.open_memmap(self.path / file, mode="w+", dtype=np.float32, shape=shape)
        except OSError as exc:
            raise _cannot_write(self.target, exc) from None
        self._allocated[file] = matrix
        return matrix

    def keep_rows(self, file: str, rows: int) -> None:
        """Cut the allocated `file` to its first `rows` rows (earlier maps of it must go unused)."""
        matrix = self._allocated[file]
        if rows == matrix.shape[0]:
            return
        if rows == 0:
            raise ArtifactError(f"{file}: shape is {(0, matrix.shape[1])}, expected a non-empty n x d matrix")
        matrix.flush()
        _truncate_npy(self.path / file, rows)
        self._allocated[file] = np.load(self.path / file, mmap_mode="r+", allow_pickle=False)

    def _add(self, file: str) -> None:
        check_plain_name(file, "the model's files")
        if not file.endswith(".npy") or file in self._files:
            raise ArtifactError(f"{file}: a matrix is a .npy file, written once")
        self._files.append(file)

    def commit(
        self,
        words: Sequence[str],
        *,
        name: str | None = None,
        standardize: str = "none",
        counts: Sequence[int] | np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
        fields_checked: bool = False,
    ) -> Path:
        """Finish the model (its VECTORS_FILE and extras are in the draft) and put it in place.
        `fields_checked`: the caller checked words, counts and standardize before writing."""
        if VECTORS_FILE not in self._files:
            raise ArtifactError(f"{VECTORS_FILE}: not written")
        if not fields_checked:
            _check_fields(words, counts, standardize)
        vectors = self._allocated.get(VECTORS_FILE)
        if vectors is not None:
            _check_vectors(vectors)
        shape = np.load(self.path / VECTORS_FILE, mmap_mode="r", allow_pickle=False).shape
        if len(words) != shape[0]:
            raise ArtifactError(f"{VECTORS_FILE}: {shape[0]} rows for {len(words)} words")
        for file, matrix in self._allocated.items():
            if file != VECTORS_FILE:
                _check_extra(file, matrix, shape[1])
        try:
            for file, matrix in self._allocated.items():
                matrix.flush()  # msync: the pages reach the file; fsync below puts them on disk
                with open(self.path / file, "rb") as handle:
                    os.fsync(handle.fileno())
            with open(self.path / VOCAB_FILE, "w", encoding="utf-8", newline="\n") as handle:
                if counts is None:
                    handle.writelines(f"{word}\n" for word in words)
                else:
                    handle.writelines(
                        f"{word}\t{int(count)}\n" for word, count in zip(words, counts, strict=True)
                    )
                handle.flush()
                os.fsync(handle.fileno())
            full_meta: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "name": name or self.target.name,
                "dim": int(shape[1]),
                "count": int(shape[0]),
                "standardize": standardize,
                "created": _now(),
            }
            full_meta.update(meta or {})
            written = (VECTORS_FILE, VOCAB_FILE, *(f for f in self._files if f != VECTORS_FILE))
            full_meta["files"] = {f: sha256_file(self.path / f) for f in written}
            _check_file_names(full_meta["files"], str(self.target / META_FILE))
            _write_json(self.path / META_FILE, full_meta)
            _fsync_dir(self.path)
            self._allocated.clear()  # the maps stay valid after the rename; the draft is done
            # Checked again: training may have taken hours, and the destination may have changed.
            install(self.path, self.target, check_destination(self.target, self._overwrite), "model")
            _fsync_dir(self.target.parent)
        except OSError as exc:  # a full disk, a permission changed mid-write: nothing is left behind
            raise _cannot_write(self.target, exc) from None
        return self.target


@contextlib.contextmanager
def draft_artifact(out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[ArtifactDraft]:
    """An ArtifactDraft for `out_dir`, whose destination is checked first; leaving the block
    without `commit` (or by an error) removes the draft, so nothing is left behind."""
    target = Path(out_dir)
    check_destination(target, overwrite)
    tmp = temporary_sibling(target, "tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        yield ArtifactDraft(target, tmp, overwrite)
    except SwapIncomplete:
        raise  # `tmp` holds what was at the destination: it must stay
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # not committed (committed: it is gone already)


def _truncate_npy(path: Path, rows: int) -> None:
    """Keep the first `rows` rows of a C-order .npy matrix in place: the header is rewritten
    (numpy pads it so that the row count can change without moving the data) and the file is cut
    after those rows."""
    with open(path, "r+b") as handle:
        version = np.lib.format.read_magic(handle)
        if version != (1, 0):
            raise ArtifactError(f"{path.name}: .npy format {version}, expected 1.0")
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
        data_at = handle.tell()
        if fortran_order or len(shape) != 2 or not 0 < rows <= shape[0]:
            raise ArtifactError(f"{path.name}: cannot keep {rows} rows of a {shape} matrix")
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header,
            {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows, shape[1])},
        )
        if header.tell() != data_at:
            raise ArtifactError(f"{path.name}: the shorter header does not fit where the longer one was")
        handle.seek(0)
        handle.write(header.getvalue())
        handle.truncate(data_at + rows * shape[1] * dtype.itemsize)


def read_meta(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(model_dir)
    meta_path = path / META_FILE
    if not path.is_dir():
        raise ArtifactError(f"{path}: not a model directory")
    _require_regular_file(meta_path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{meta_path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_path}: not a {FORMAT} metadata file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{meta_path}: format version {meta.get('format_version')!r}, this firth reads {FORMAT_VERSION}"
        )
    for key, kind in (("name", str), ("dim", int), ("count", int), ("files", dict)):
        if not isinstance(meta.get(key), kind):
            raise ArtifactError(f"{meta_path}: field {key!r} is missing or not a {kind.__name__}")
    if meta.get("standardize", "none") not in STANDARDIZERS:
        raise ArtifactError(f"{meta_path}: unknown standardize {meta.get('standardize')!r}")
    _check_file_names(meta["files"], str(meta_path))
    return meta


def _check_file_names(files: dict[str, Any], where: str) -> None:
    """meta.json's `files`: plain names of files inside the model directory, each with a digest."""
    for name, digest in files.items():
        check_plain_name(name, where)
        if not isinstance(digest, str):
            raise ArtifactError(f"{where}: the sha256 of {name!r} is not a string")


def _require_regular_file(path: Path) -> None:
    """Raise unless `path` is a regular file (or a link to one), naming what it is instead."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if not stat.S_ISREG(mode):
        raise ArtifactError(f"{path}: is {describe(mode)}, expected a regular file")


def _read_vocab(path: Path, expected: int, trusted: bool = False) -> tuple[list[str], np.ndarray | None]:
    """The words and counts; `trusted` (verified unchanged since a full load) skips the checks."""
    try:
        found = _read_vocab_fast(path, trusted)
    except (OSError, UnicodeDecodeError, ValueError):
        found = None  # the line-by-line reader names the problem
    if found is not None and len(found[0]) == expected:
        if not trusted:
            try:
                _check_words(found[0])
            except ArtifactError as exc:
                raise ArtifactError(f"{path.parent}/{exc}") from None
        return found
    return _read_vocab_by_line(path, expected)


def _read_vocab_fast(path: Path, trusted: bool = False) -> tuple[list[str], np.ndarray | None] | None:
    """vocab.txt split in C: every line `word` or every line `word<TAB>count` (None otherwise)."""
    text = path.read_bytes().decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    tabs = text.count("\t")
    if tabs == 0:
        return text.split("\n") if text else [], None
    lines = text.count("\n") + 1
    if tabs != lines:
        return None
    # one tab in each line: checked line by line unless the file was verified before
    if not trusted and min(map(operator.methodcaller("count", "\t"), text.split("\n"))) != 1:
        return None
    fields = text.replace("\t", "\n").split("\n")
    counts = fields[1::2]
    return fields[0::2], np.fromiter(map(int, counts), dtype=np.int64, count=len(counts))


def _read_vocab_by_line(path: Path, expected: int) -> tuple[list[str], np.ndarray | None]:
    words: list[str] = []
    counts: list[int] = []
    try:
        with open(path, encoding="utf-8", newline="\n") as handle:
            for line_no, line in enumerate(handle, start=1):
                word, tab, count = line.rstrip("\n").partition("\t")
                words.append(word)
                if tab:
                    try:
                        counts.append(int(count))
                    except ValueError:
                        raise ArtifactError(
                            f"{path}: line {line_no}: count {count!r} is not an integer"
                        ) from None
    except UnicodeDecodeError:
        raise ArtifactError(f"{path}: not UTF-8 text") from None
    if len(words) != expected:
        raise ArtifactError(f"{path}: {len(words)} words, meta.json says {expected}")
    if counts and len(counts) != len(words):
        raise ArtifactError(f"{path}: some lines have counts and some do not")
    try:
        _check_words(words)
    except ArtifactError as exc:
        raise ArtifactError(f"{path.parent}/{exc}") from None
    return words, (np.asarray(counts, dtype=np.int64) if counts else None)


def load_artifact(
    model_dir: str | os.PathLike[str], *, verify_checksums: bool = True, trusted: bool = False
) -> Artifact:
    """Load and verify a model directory, or raise one ArtifactError naming file and reason.

    `trusted`: the caller vouches that these very files passed a full load before (the service's
    verified-once marker, service/verified.py): their sha256 and the scan of every vector for
    NaN, Inf and zero rows are skipped; shapes, dtypes and the vocabulary are still checked."""
    path = Path(model_dir)
    meta = read_meta(path)
    files: dict[str, str] = meta["files"]
    for required in (VECTORS_FILE, VOCAB_FILE):
        if required not in files:
            raise ArtifactError(f"{path / META_FILE}: no checksum for {required}")
    for file, digest in files.items():
        file_path = path / file
        _require_regular_file(file_path)
        if verify_checksums and not trusted and sha256_file(file_path) != digest:
            raise ArtifactError(f"{file_path}: sha256 does not match meta.json (file changed or corrupt)")
    vectors_path = path / VECTORS_FILE
    try:
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    except EOFError:
        raise ArtifactError(f"{vectors_path}: empty or truncated, not a .npy array") from None
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{vectors_path}: not a readable .npy array ({exc.__class__.__name__})") from None
    if vectors.shape != (meta["count"], meta["dim"]):
        raise ArtifactError(
            f"{vectors_path}: shape {vectors.shape}, meta.json says ({meta['count']}, {meta['dim']})"
        )
    _check_vectors(vectors, str(vectors_path), scan_values=not trusted)
    words, counts = _read_vocab(path / VOCAB_FILE, meta["count"], trusted)
    extras = {
        file: _load_extra(path / file, meta["dim"])
        for file in files
        if file.endswith(".npy") and file != VECTORS_FILE
    }
    artifact = Artifact(path=path, meta=meta, words=words, counts=counts, vectors=vectors, extras=extras)
    _check_subwords(artifact)
    return artifact


def _load_extra(file_path: Path, dim: int) -> np.ndarray:
    """Memory-map one extra matrix; its digest was checked above when checksums are on."""
    try:
        matrix = np.load(file_path, mmap_mode="r", allow_pickle=False)
    except EOFError:
        raise ArtifactError(f"{file_path}: empty or truncated, not a .npy array") from None
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{file_path}: not a readable .npy array ({exc.__class__.__name__})") from None
    if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[1] != dim or matrix.shape[0] == 0:
        raise ArtifactError(
            f"{file_path}: {matrix.dtype} of shape {matrix.shape}, expected float32 n x {dim}"
        )
    return matrix


def _check_subwords(artifact: Artifact) -> None:
    spec = artifact.meta.get("subwords")
    where = artifact.path / META_FILE
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise ArtifactError(f"{where}: field 'subwords' is not an object")
    try:
        parsed = SubwordSpec.from_meta(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: field 'subwords' is unusable ({exc})") from None
    problem = parsed.problem()
    if problem is not None:
        raise ArtifactError(f"{where}: field 'subwords': {problem}")
    ngrams = artifact.ngrams
    if parsed.enabled and (ngrams is None or ngrams.shape[0] != parsed.bucket):
        found = "missing" if ngrams is None else f"{ngrams.shape[0]} rows"
        raise ArtifactError(
            f"{artifact.path / NGRAMS_FILE}: {found}, meta.json's subwords say {parsed.bucket}"
        )


def update_meta(model_dir: str | os.PathLike[str], updates: dict[str, Any]) -> dict[str, Any]:
    """Merge `updates` into meta.json (top-level keys; nested dicts merged one level) atomically."""
    path = Path(model_dir)
    meta = read_meta(path)
    for key, value in updates.items():
        if key in ("format", "format_version", "files", "dim", "count"):
            raise ArtifactError(f"{path / META_FILE}: field {key!r} is managed by the writer")
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    tmp = path / f".{META_FILE}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _write_json(tmp, meta)
        os.replace(tmp, path / META_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    return meta
