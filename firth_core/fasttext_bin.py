"""Facebook's fastText `.bin` model format: a streaming parser and the writer's pieces.

Pure format code: bytes in, arrays out (and arrays in, bytes out), no files of its own, no
logging. The layout, from fastText's sources (fasttext.cc saveModel/loadModel, args.cc,
dictionary.cc, densematrix.cc), all little-endian as x86 writes it:

    int32 magic 793712314, int32 version (11 or 12; they differ only for supervised models)
    args: int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
          lrUpdateRate; float64 t
    dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size (-1: not pruned);
          `size` entries of (UTF-8 bytes, NUL, int64 count, int8 type: 0 word, 1 label);
          pruneidx_size pairs of int32
    bool quant_input; input matrix: int64 rows (nwords + bucket), int64 cols (dim), float32 data
    bool qout; output matrix: int64 rows (nwords for cbow/skipgram), int64 cols, float32 data

The parser streams: the matrices go straight from the input into arrays the caller allocates
(memory maps, for a 7 GB model), a block at a time, each block checked for NaN and Inf; when the
input's size is known, every count in a header is checked against the bytes left before
anything is allocated. A malformed file is refused with one InputFormatError naming the byte
offset and the reason. Only unsupervised (cbow/skipgram) models are accepted, unquantized.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from firth_core.errors import InputFormatError
from firth_core.resources import require_memory

MAGIC = 793712314
VERSION = 12  # what the writer writes
READABLE_VERSIONS = (11, 12)
FORMAT_NAME = "fasttext-bin"
MAX_DIM = 1_000_000  # as firth_core.vector_parsers: 4 MB a row
MAX_WORD_BYTES = 1 << 16
EOS = "</s>"  # fastText's end-of-line token: the one word without character n-grams

MODEL_NAMES = {1: "cbow", 2: "skipgram", 3: "supervised"}
LOSS_NAMES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}
_WORD, _LABEL = 0, 1
_ARGS = struct.Struct("<12id")
_DICT_HEADER = struct.Struct("<3i2q")
_ENTRY_TAIL = struct.Struct("<qb")
_MATRIX_HEADER = struct.Struct("<2q")
_BLOCK_BYTES = 1 << 24  # a matrix is read and checked 16 MiB at a time
SUPERVISED = "a supervised fastText model; firth imports unsupervised (cbow/skipgram) models"


@dataclass(frozen=True)
class FastTextArgs:
    """The hyperparameters a `.bin` file records (fastText's `Args::save`), by fastText's names."""

    dim: int
    ws: int = 5
    epoch: int = 5
    min_count: int = 5
    neg: int = 5
    word_ngrams: int = 1
    loss: int = 2  # ns
    model: int = 2  # skipgram
    bucket: int = 2_000_000
    minn: int = 3
    maxn: int = 6
    lr_update_rate: int = 100
    t: float = 1e-4

    def pack(self) -> bytes:
        return _ARGS.pack(
            self.dim,
            self.ws,
            self.epoch,
            self.min_count,
            self.neg,
            self.word_ngrams,
            self.loss,
            self.model,
            self.bucket,
            self.minn,
            self.maxn,
            self.lr_update_rate,
            self.t,
        )

    def to_meta(self) -> dict[str, Any]:
        """As fastText's command line names them (`loss` and `model` by name)."""
        return {
            "dim": self.dim,
            "ws": self.ws,
            "epoch": self.epoch,
            "minCount": self.min_count,
            "neg": self.neg,
            "wordNgrams": self.word_ngrams,
            "loss": LOSS_NAMES.get(self.loss, self.loss),
            "model": MODEL_NAMES.get(self.model, self.model),
            "bucket": self.bucket,
            "minn": self.minn,
            "maxn": self.maxn,
            "lrUpdateRate": self.lr_update_rate,
            "t": self.t,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> FastTextArgs:
        """The inverse of to_meta (KeyError or ValueError on a bad entry)."""
        loss = {name: code for code, name in LOSS_NAMES.items()}[meta["loss"]]
        model = {name: code for code, name in MODEL_NAMES.items()}[meta["model"]]
        return cls(
            dim=int(meta["dim"]),
            ws=int(meta["ws"]),
            epoch=int(meta["epoch"]),
            min_count=int(meta["minCount"]),
            neg=int(meta["neg"]),
            word_ngrams=int(meta["wordNgrams"]),
            loss=loss,
            model=model,
            bucket=int(meta["bucket"]),
            minn=int(meta["minn"]),
            maxn=int(meta["maxn"]),
            lr_update_rate=int(meta["lrUpdateRate"]),
            t=float(meta["t"]),
        )

    @property
    def has_subwords(self) -> bool:
        return self.maxn > 0 and self.bucket > 0


# (what the matrix is: "words", "ngrams" or "output"; its shape) -> a writable float32 C array
Allocate = Callable[[str, tuple[int, int]], np.ndarray]


def allocate_in_memory(what: str, shape: tuple[int, int]) -> np.ndarray:
    """The default Allocate: an array in memory, after checking the memory available."""
    require_memory(shape[0] * shape[1] * 4, f"the {what} matrix ({shape[0]:,} x {shape[1]:,})")
    return np.empty(shape, dtype=np.float32)


@dataclass(frozen=True)
class FastTextModel:
    """What a `.bin` file holds. `word_rows` are the words' own input rows (not yet averaged
    with their n-grams), `ngram_rows` the bucket rows (None without subwords), `output` the
    output matrix (None when the caller did not keep it)."""

    version: int
    args: FastTextArgs
    words: list[str]
    counts: np.ndarray  # int64, one a word
    ntokens: int
    word_rows: np.ndarray
    ngram_rows: np.ndarray | None
    output: np.ndarray | None
    replaced_words: int  # words whose bytes were not UTF-8 (decoded with backslash escapes, as gensim)


class _Reader:
    """Exact reads from a stream, counting the offset, with errors that name it."""

    def __init__(self, stream: IO[bytes], label: str, size: int | None) -> None:
        self.stream = stream
        self.label = label
        self.size = size
        self.offset = 0
        self._buffer = b""
        self._pos = 0

    def error(self, at: int, reason: str) -> InputFormatError:
        return InputFormatError(f"{self.label}: byte {at}: {reason}")

    def remaining(self) -> int | None:
        return None if self.size is None else self.size - self.offset

    def require(self, needed: int, what: str) -> None:
        """Refuse a header whose counts need more bytes than the file holds, before allocating."""
        left = self.remaining()
        if left is not None and needed > left:
            raise self.error(
                self.offset, f"{what} needs {needed:,} bytes, the file has {max(left, 0):,} left (truncated?)"
            )

    def _fill(self, n: int) -> None:
        """Have at least `n` unread bytes in the buffer, or as many as the stream still holds."""
        if len(self._buffer) - self._pos >= n:
            return
        chunks = [self._buffer[self._pos :]]
        have = len(chunks[0])
        while have < n:
            chunk = self.stream.read(max(n - have, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        self._buffer = b"".join(chunks)
        self._pos = 0

    def take(self, n: int, what: str) -> bytes:
        self._fill(n)
        got = len(self._buffer) - self._pos
        if got < n:
            raise self.error(self.offset, f"the file ends inside {what} ({n} bytes needed, {got} left)")
        data = self._buffer[self._pos : self._pos + n]
        self._pos += n
        self.offset += n
        return data

    def unpack(self, layout: struct.Struct, what: str) -> tuple[Any, ...]:
        return layout.unpack(self.take(layout.size, what))

    def flag(self, what: str) -> bool:
        at = self.offset
        value = self.take(1, what)[0]
        if value > 1:
            raise self.error(at, f"{what} is {value}, expected a boolean 0 or 1 (not a fastText .bin?)")
        return bool(value)

    def cstring(self, what: str) -> bytes:
        """Bytes up to a NUL (consumed, not returned)."""
        searched = self._pos
        while True:
            end = self._buffer.find(b"\x00", searched)
            if end >= 0:
                data = self._buffer[self._pos : end]
                self.offset += end + 1 - self._pos
                self._pos = end + 1
                return data
            have = len(self._buffer) - self._pos
            if have > MAX_WORD_BYTES:
                raise self.error(self.offset, f"{what} has no NUL within {MAX_WORD_BYTES:,} bytes")
            self._fill(have + (1 << 16))
            if len(self._buffer) - self._pos == have:
                raise self.error(self.offset, f"the file ends inside {what}")
            searched = self._pos + have

    def entry(self, what: str) -> tuple[bytes, int, int]:
        """One dictionary entry: (the word's bytes, its count, its type). The fast path reads it
        from the buffer; the slow one refills it (and names the offset where the file ends)."""
        buffer, pos = self._buffer, self._pos
        end = buffer.find(b"\x00", pos, pos + MAX_WORD_BYTES + 1)
        if end >= 0 and end + 1 + _ENTRY_TAIL.size <= len(buffer):
            count, kind = _ENTRY_TAIL.unpack_from(buffer, end + 1)
            self._pos = end + 1 + _ENTRY_TAIL.size
            self.offset += self._pos - pos
            return buffer[pos:end], count, kind
        raw = self.cstring(what)
        count, kind = self.unpack(_ENTRY_TAIL, what)
        return raw, count, kind

    def read_into(self, target: memoryview) -> int:
        """Fill `target` from the buffer, then straight from the stream; return the bytes read."""
        n = len(target)
        buffered = min(n, len(self._buffer) - self._pos)
        target[:buffered] = self._buffer[self._pos : self._pos + buffered]
        self._pos += buffered
        done = buffered
        while done < n:
            got = self.stream.readinto(target[done:])  # type: ignore[attr-defined]
            if not got:
                break
            done += got
        self.offset += done
        return done

    def at_end(self) -> bool:
        self._fill(1)
        return len(self._buffer) - self._pos == 0


def _read_args(reader: _Reader) -> FastTextArgs:
    at = reader.offset
    fields = reader.unpack(_ARGS, "the model's arguments")
    args = FastTextArgs(*fields)
    model_at, loss_at, bucket_at = at + 28, at + 24, at + 32

    if args.model not in MODEL_NAMES:
        raise reader.error(
            model_at, f"model type {args.model} is not cbow (1), skipgram (2) or supervised (3)"
        )
    if args.model == 3:
        raise reader.error(model_at, SUPERVISED)
    if args.loss not in LOSS_NAMES:
        raise reader.error(loss_at, f"loss {args.loss} is not hs (1), ns (2), softmax (3) or ova (4)")
    if not 1 <= args.dim <= MAX_DIM:
        raise reader.error(at, f"dimension {args.dim:,} is not between 1 and {MAX_DIM:,}")
    if args.bucket < 0:
        raise reader.error(bucket_at, f"bucket count {args.bucket} is negative")
    if args.maxn < 0 or args.minn < 0:
        raise reader.error(bucket_at + 4, f"minn {args.minn} / maxn {args.maxn} is negative")
    if args.has_subwords and not 1 <= args.minn <= args.maxn:
        raise reader.error(bucket_at + 4, f"minn {args.minn} must be between 1 and maxn {args.maxn}")
    return args


def _read_dictionary(
    reader: _Reader,
) -> tuple[list[str], np.ndarray, int, int, int]:
    """The words, their counts, ntokens, the count of words that were not UTF-8, pruneidx_size."""
    at = reader.offset
    size, nwords, nlabels, ntokens, pruneidx_size = reader.unpack(_DICT_HEADER, "the dictionary header")
    if nlabels > 0:
        raise reader.error(at + 8, f"{SUPERVISED} (its dictionary has {nlabels:,} labels)")
    if nwords < 1 or size != nwords + nlabels or nlabels < 0:
        raise reader.error(at, f"dictionary sizes are inconsistent: {size:,} entries, {nwords:,} words")
    if pruneidx_size < -1:
        raise reader.error(at + 20, f"pruned-index size {pruneidx_size} is not -1 or more")
    reader.require(size * (1 + _ENTRY_TAIL.size), f"a dictionary of {size:,} entries")
    words: list[str] = []
    counts: list[int] = []  # grown as entries are read: a lying header cannot make it huge
    seen: dict[str, int] = {}
    replaced = 0
    for number in range(1, size + 1):
        entry_at = reader.offset
        raw, count, kind = reader.entry(f"dictionary entry {number}")
        if kind != _WORD:
            if kind == _LABEL:
                raise reader.error(entry_at, f"{SUPERVISED} (entry {number} is a label)")
            raise reader.error(entry_at, f"dictionary entry {number} has type {kind}, not a word (0)")
        if not raw or b"\t" in raw or b"\n" in raw or b"\r" in raw:
            raise reader.error(
                entry_at, f"dictionary entry {number} ({raw!r}) is empty or holds a tab or line break"
            )
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            word = raw.decode("utf-8", "backslashreplace")  # as gensim does
            replaced += 1
        if seen.setdefault(word, number) != number:
            raise reader.error(entry_at, f"dictionary entry {number} repeats {word!r} (entry {seen[word]})")
        words.append(word)
        counts.append(count)
    if pruneidx_size > 0:
        reader.require(pruneidx_size * 8, f"a pruned index of {pruneidx_size:,} pairs")
        for _ in range(pruneidx_size):
            reader.take(8, "the pruned index")
    return words, np.asarray(counts, dtype=np.int64), ntokens, replaced, pruneidx_size


def _read_matrix(reader: _Reader, rows: int, dim: int, target: np.ndarray | None, what: str) -> None:
    """Read `rows` x `dim` float32 into `target` (or check and drop them when None), by blocks."""
    block_rows = max(1, _BLOCK_BYTES // (dim * 4))
    keep = target is not None
    dest: np.ndarray = target if target is not None else np.empty((min(block_rows, rows), dim), np.float32)
    for start in range(0, rows, block_rows):
        stop = min(start + block_rows, rows)
        block: np.ndarray = dest[start:stop] if keep else dest[: stop - start]
        at = reader.offset
        got = reader.read_into(memoryview(block).cast("B"))  # type: ignore[arg-type]
        if got < block.nbytes:
            raise reader.error(
                reader.offset, f"the file ends inside the {what} (row {start + got // (dim * 4)} of {rows:,})"
            )
        finite = np.isfinite(block)
        if not finite.all():
            flat = int(np.argmin(finite.ravel()))
            raise reader.error(at + flat * 4, f"row {start + flat // dim} of the {what} holds NaN or Inf")


def _matrix_header(reader: _Reader, dim: int, rows: int, what: str) -> None:
    at = reader.offset
    found_rows, found_dim = reader.unpack(_MATRIX_HEADER, f"the {what} header")
    if found_dim != dim:
        raise reader.error(at + 8, f"the {what} has {found_dim:,} columns, the arguments say dim {dim:,}")
    if found_rows != rows:
        raise reader.error(at, f"the {what} has {found_rows:,} rows, expected {rows:,}")
    reader.require(rows * dim * 4, f"the {what} ({rows:,} x {dim:,} float32)")


def parse_fasttext_bin(
    source: IO[bytes],
    label: str,
    *,
    size: int | None = None,
    allocate: Allocate = allocate_in_memory,
    keep_output: bool = True,
) -> FastTextModel:
    """Parse an unsupervised, unquantized fastText `.bin` model from a binary stream.

    `size` is the stream's length when known (a plain file): then every header is checked
    against it before anything is allocated. `allocate` makes the arrays the matrices are read
    into (the importer gives memory maps). With `keep_output` False the output matrix is read,
    checked and dropped. Errors are InputFormatError `label: byte N: reason`.
    """
    reader = _Reader(source, label, size)
    if size is not None and size < 8:
        raise reader.error(0, f"{size} bytes: too short for a fastText .bin file")
    (magic,) = reader.unpack(struct.Struct("<i"), "the magic number")
    if magic != MAGIC:
        raise reader.error(0, f"not a fastText .bin file (magic number {magic}, expected {MAGIC})")
    (version,) = reader.unpack(struct.Struct("<i"), "the version")
    if version not in READABLE_VERSIONS:
        raise reader.error(4, f"fastText format version {version}; firth reads versions 11 and 12")
    args = _read_args(reader)
    words, counts, ntokens, replaced, pruneidx_size = _read_dictionary(reader)
    quant_at = reader.offset
    if reader.flag("the quantization flag"):
        raise reader.error(
            quant_at, "a quantized fastText model (.ftz); firth imports unquantized .bin models"
        )
    if pruneidx_size >= 0:
        raise reader.error(
            quant_at,
            "a pruned dictionary in an unquantized model (fastText refuses it too, see its issue #332)",
        )
    nwords = len(words)
    _matrix_header(reader, args.dim, nwords + args.bucket, "input matrix")
    word_rows = allocate("words", (nwords, args.dim))
    _read_matrix(reader, nwords, args.dim, word_rows, "input matrix")
    ngram_rows = allocate("ngrams", (args.bucket, args.dim)) if args.has_subwords else None
    _read_matrix(reader, args.bucket, args.dim, ngram_rows, "input matrix's n-gram rows")
    reader.flag("the output quantization flag")
    _matrix_header(reader, args.dim, nwords, "output matrix")
    output = allocate("output", (nwords, args.dim)) if keep_output else None
    _read_matrix(reader, nwords, args.dim, output, "output matrix")
    if not reader.at_end():
        raise reader.error(
            reader.offset, "data after the output matrix (not a fastText .bin, or two files joined)"
        )
    return FastTextModel(
        version=version,
        args=args,
        words=words,
        counts=counts,
        ntokens=ntokens,
        word_rows=word_rows,
        ngram_rows=ngram_rows,
        output=output,
        replaced_words=replaced,
    )


def encode_header(args: FastTextArgs, words: list[str], counts: np.ndarray, ntokens: int) -> bytes:
    """Everything before the input matrix's rows: signature, arguments, dictionary (no labels,
    not pruned), the quantization flag and the input matrix's header."""
    entries = []
    for word, count in zip(words, counts.tolist(), strict=True):
        entries.append(word.encode("utf-8") + b"\x00" + _ENTRY_TAIL.pack(count, _WORD))
    return b"".join(
        (
            struct.pack("<2i", MAGIC, VERSION),
            args.pack(),
            _DICT_HEADER.pack(len(words), len(words), 0, ntokens, -1),
            *entries,
            b"\x00",  # quant_input
            _MATRIX_HEADER.pack(len(words) + args.bucket, args.dim),
        )
    )


def encode_output_header(rows: int, dim: int) -> bytes:
    """Between the input matrix's rows and the output's: the qout flag and the output's header."""
    return b"\x00" + _MATRIX_HEADER.pack(rows, dim)


def encode_rows(block: np.ndarray) -> bytes:
    return np.ascontiguousarray(block, dtype="<f4").tobytes()
