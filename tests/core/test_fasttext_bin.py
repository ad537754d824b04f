"""Reading Facebook's fastText .bin: the parser against gensim's reader of the same files, the
importer's vectors against gensim's load_facebook_vectors (and Facebook's own fastText when the
`fasttext` wheel is installed), and every malformed file refused with its byte offset and
nothing left behind."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
from pathlib import Path

import numpy as np
import pytest
from gensim.models.fasttext import FastText, load_facebook_vectors

from firth_core import importers
from firth_core.artifact import load_artifact
from firth_core.errors import InputFormatError, ResourceLimit
from firth_core.fasttext_bin import SUPERVISED, parse_fasttext_bin
from firth_core.importers import import_fasttext_bin
from firth_core.subwords import oov_vector
from tests.fasttext_files import Layout, layout_of, make_bin, patched

OOV = ["zebra", "naïveté", "東京都", "Parisian", "w1000", "x"]


@pytest.fixture(scope="module")
def bin_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FastText]:
    path = tmp_path_factory.mktemp("bin") / "tiny.bin"
    return path, make_bin(path)


def _parse(data: bytes, **kwargs: object) -> object:
    return parse_fasttext_bin(io.BytesIO(data), "m.bin", size=len(data), **kwargs)  # type: ignore[arg-type]


def test_parser_reads_what_gensim_wrote(bin_file: tuple[Path, FastText]) -> None:
    path, model = bin_file
    parsed = parse_fasttext_bin(io.BytesIO(path.read_bytes()), "m.bin")
    assert parsed.version == 12
    assert parsed.words == list(model.wv.index_to_key)
    assert parsed.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in parsed.words]
    assert parsed.ntokens == model.corpus_total_words
    assert parsed.args.to_meta() | {"t": 0} == {
        "dim": 12,
        "ws": 5,
        "epoch": 2,
        "minCount": 1,
        "neg": 5,
        "wordNgrams": 1,
        "loss": "ns",
        "model": "skipgram",
        "bucket": 500,
        "minn": 3,
        "maxn": 6,
        "lrUpdateRate": 100,
        "t": 0,
    }
    np.testing.assert_array_equal(parsed.word_rows, model.wv.vectors_vocab)
    np.testing.assert_array_equal(parsed.ngram_rows, model.wv.vectors_ngrams)
    np.testing.assert_array_equal(parsed.output, model.syn1neg)


def test_import_gives_gensims_vector_for_any_word(bin_file: tuple[Path, FastText], models: Path) -> None:
    path, model = bin_file
    out = import_fasttext_bin(path, models / "ft", progress=False)
    art = load_artifact(out)
    gensim_kv = load_facebook_vectors(str(path))
    assert art.words == list(gensim_kv.index_to_key)
    assert art.standardize == "none"
    assert art.subwords is not None and art.subwords.to_meta()["bucket"] == 500
    assert art.counts is not None and art.counts.tolist() == [
        model.wv.get_vecattr(w, "count") for w in art.words
    ]
    for index, word in enumerate(art.words):
        if word != "</s>":  # fastText gives it no n-grams, gensim does: see the next test
            np.testing.assert_allclose(art.vectors[index], gensim_kv[word], atol=1e-5, rtol=0)
    for word in OOV:
        vector = oov_vector(art.ngrams, word, art.subwords)  # type: ignore[arg-type]
        assert vector is not None
        np.testing.assert_allclose(vector, gensim_kv[word], atol=1e-5, rtol=0)
    np.testing.assert_array_equal(art.output, model.syn1neg)
    assert art.meta["source"]["args"]["model"] == "skipgram" and art.meta["source"]["nwords"] == len(
        art.words
    )


def test_end_of_line_token_is_its_own_row_as_facebooks_fasttext_has_it(
    bin_file: tuple[Path, FastText], models: Path
) -> None:
    path, model = bin_file
    art = load_artifact(import_fasttext_bin(path, models / "ft", progress=False))
    eos = art.words.index("</s>")
    np.testing.assert_array_equal(art.vectors[eos], model.wv.vectors_vocab[model.wv.key_to_index["</s>"]])
    fasttext = pytest.importorskip("fasttext")  # Facebook's own reader, a dev dependency
    facebook = fasttext.load_model(str(path))
    for index, word in enumerate(art.words):
        np.testing.assert_allclose(art.vectors[index], facebook.get_word_vector(word), atol=1e-5, rtol=0)
    for word in OOV:
        vector = oov_vector(art.ngrams, word, art.subwords)  # type: ignore[arg-type]
        np.testing.assert_allclose(vector, facebook.get_word_vector(word), atol=1e-5, rtol=0)  # type: ignore[arg-type]


def test_a_file_saved_by_facebooks_fasttext(bin_file: tuple[Path, FastText], tmp_path: Path) -> None:
    fasttext = pytest.importorskip("fasttext")
    path, _ = bin_file
    saved = tmp_path / "facebook.bin"
    fasttext.load_model(str(path)).save_model(str(saved))
    out = import_fasttext_bin(saved, tmp_path / "m", progress=False)
    np.testing.assert_array_equal(
        load_artifact(out).vectors,
        load_artifact(import_fasttext_bin(path, tmp_path / "g", progress=False)).vectors,
    )


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_files_read_the_same(
    bin_file: tuple[Path, FastText], tmp_path: Path, compress: object
) -> None:
    path, _ = bin_file
    packed = tmp_path / "tiny.bin.z"
    packed.write_bytes(compress(path.read_bytes()))  # type: ignore[operator]
    plain = load_artifact(import_fasttext_bin(path, tmp_path / "plain", progress=False))
    read = load_artifact(import_fasttext_bin(packed, tmp_path / "packed", progress=False))
    np.testing.assert_array_equal(read.vectors, plain.vectors)
    np.testing.assert_array_equal(read.ngrams, plain.ngrams)  # type: ignore[arg-type]
    assert read.meta["source"]["sha256"] != plain.meta["source"]["sha256"]  # of the file as stored


def test_limit_and_no_output(bin_file: tuple[Path, FastText], models: Path) -> None:
    path, _ = bin_file
    full = load_artifact(import_fasttext_bin(path, models / "all", progress=False))
    art = load_artifact(
        import_fasttext_bin(path, models / "some", limit=5, keep_output=False, progress=False)
    )
    assert art.words == full.words[:5]
    np.testing.assert_array_equal(art.vectors, full.vectors[:5])
    np.testing.assert_array_equal(art.ngrams, full.ngrams)  # type: ignore[arg-type]
    assert art.output is None and art.meta["source"]["output"] == "not kept"


def test_version_11_reads_as_12_for_unsupervised_models(bin_file: tuple[Path, FastText]) -> None:
    path, _ = bin_file
    data = patched(path.read_bytes(), 4, "<i", 11)
    assert _parse(data).version == 11  # type: ignore[attr-defined]


def test_a_model_without_subwords(tmp_path: Path) -> None:
    path = tmp_path / "plain.bin"
    model = make_bin(path, maxn=0, bucket=0)
    art = load_artifact(import_fasttext_bin(path, tmp_path / "m", progress=False))
    assert art.subwords is None and art.ngrams is None and "subwords" not in art.meta
    np.testing.assert_array_equal(art.vectors, model.wv.vectors_vocab)


def _layout(bin_file: tuple[Path, FastText]) -> tuple[bytes, Layout]:
    path, model = bin_file
    return path.read_bytes(), layout_of(model)


def _cut_points(lay: Layout) -> list[int]:
    return [
        0,
        3,
        6,
        lay.ARGS + 10,
        lay.DICT + 5,
        lay.ENTRIES + 2,
        lay.quant,
        lay.input_header + 9,
        lay.input_rows + 7,
        lay.ngram_rows + 100,
        lay.qout,
        lay.output_header + 3,
        lay.end - 1,
    ]


def test_truncated_anywhere_names_an_offset(bin_file: tuple[Path, FastText]) -> None:
    data, lay = _layout(bin_file)
    assert lay.end == len(data)  # the layout helper agrees with the file
    for cut in _cut_points(lay):
        for size in (cut, None):  # a plain file's size is known; a stream's is not
            with pytest.raises(InputFormatError, match=r"^m\.bin: byte \d+: ") as err:
                parse_fasttext_bin(io.BytesIO(data[:cut]), "m.bin", size=size)
            assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (0, "<i", 1234, r"byte 0: not a fastText \.bin file \(magic number 1234"),
        (4, "<i", 13, r"byte 4: fastText format version 13; firth reads versions 11 and 12"),
        (4, "<i", 10, r"byte 4: fastText format version 10"),
        (Layout.MODEL, "<i", 3, "byte 36: a supervised fastText model; firth imports unsupervised"),
        (Layout.MODEL, "<i", 7, r"byte 36: model type 7 is not cbow"),
        (Layout.LOSS, "<i", 9, r"byte 32: loss 9 is not"),
        (Layout.DIM, "<i", 0, r"byte 8: dimension 0 is not between 1"),
        (Layout.BUCKET, "<i", -1, r"byte 40: bucket count -1 is negative"),
        (Layout.NLABELS, "<i", 2, "byte 72: a supervised fastText model; firth imports unsupervised"),
        (Layout.PRUNEIDX, "<q", -2, r"byte 84: pruned-index size -2"),
    ],
)
def test_bad_headers_are_refused_with_their_offset(
    bin_file: tuple[Path, FastText], offset: int, fmt: str, value: int, message: str
) -> None:
    data, _ = _layout(bin_file)
    with pytest.raises(InputFormatError, match=r"^m\.bin: " + message):
        _parse(patched(data, offset, fmt, value))


def test_label_entries_and_quantized_and_pruned_files(bin_file: tuple[Path, FastText]) -> None:
    data, lay = _layout(bin_file)
    first_type = lay.ENTRIES + len(lay.words[0].encode()) + 1 + 8
    with pytest.raises(
        InputFormatError, match=rf"byte {lay.ENTRIES}: {re.escape(SUPERVISED)} \(entry 1 is a label\)"
    ):
        _parse(patched(data, first_type, "<b", 1))
    with pytest.raises(InputFormatError, match=rf"byte {lay.quant}: a quantized fastText model \(\.ftz\)"):
        _parse(patched(data, lay.quant, "<b", 1))
    with pytest.raises(InputFormatError, match=rf"byte {lay.quant}: a pruned dictionary"):
        _parse(patched(data, lay.PRUNEIDX, "<q", 0))
    with pytest.raises(InputFormatError, match=rf"byte {lay.quant}: the quantization flag is 7"):
        _parse(patched(data, lay.quant, "<b", 7))


def test_headers_claiming_more_than_the_file_holds_are_refused_before_allocating(
    bin_file: tuple[Path, FastText],
) -> None:
    data, lay = _layout(bin_file)
    huge = 2_000_000_000
    # bucket and the input matrix's rows agree, but the file holds far fewer bytes
    claim = patched(patched(data, lay.BUCKET, "<i", huge), lay.input_header, "<q", len(lay.words) + huge)
    allocated: list[tuple[int, int]] = []

    def allocate(what: str, shape: tuple[int, int]) -> np.ndarray:
        allocated.append(shape)
        return np.empty(shape, np.float32)

    with pytest.raises(
        InputFormatError, match=rf"byte {lay.input_header + 16}: the input matrix .* needs [\d,]+ bytes"
    ):
        _parse(claim, allocate=allocate)
    assert allocated == []
    many_words = patched(patched(data, lay.DICT, "<i", huge), lay.DICT + 4, "<i", huge)
    with pytest.raises(InputFormatError, match=r"byte 92: a dictionary of 2,000,000,000 entries needs"):
        _parse(many_words)
    with pytest.raises(
        InputFormatError, match=rf"byte {lay.input_header}: the input matrix has \d+ rows, expected"
    ):
        _parse(patched(data, lay.input_header, "<q", 7))
    with pytest.raises(
        InputFormatError, match=rf"byte {lay.output_header + 8}: the output matrix has 5 columns"
    ):
        _parse(patched(data, lay.output_header + 8, "<q", 5))


def test_nan_rows_trailing_bytes_and_bad_words(bin_file: tuple[Path, FastText]) -> None:
    data, lay = _layout(bin_file)
    bad = lay.ngram_rows + 4 * lay.dim * 4 + 8  # n-gram row 4, value 3
    with pytest.raises(
        InputFormatError, match=rf"byte {bad}: row 4 of the input matrix's n-gram rows holds NaN"
    ):
        _parse(patched(data, bad, "<f", float("nan")))
    with pytest.raises(InputFormatError, match=rf"byte {lay.end}: data after the output matrix"):
        _parse(data + b"\x00")
    encoded = [w.encode() for w in lay.words]
    i = next(i for i in range(len(encoded) - 1) if len(encoded[i]) == len(encoded[i + 1]))
    at = lay.ENTRIES + sum(len(e) + 10 for e in encoded[: i + 1])  # entry i + 2, as long as entry i + 1
    repeated = data[:at] + encoded[i] + data[at + len(encoded[i]) :]
    with pytest.raises(InputFormatError, match=rf"byte {at}: dictionary entry {i + 2} repeats"):
        _parse(repeated)
    with pytest.raises(InputFormatError, match=r"byte 92: dictionary entry 1 has no NUL within"):
        _parse(data[:92] + b"a" * 70_000)


def test_import_failures_leave_nothing_behind(bin_file: tuple[Path, FastText], models: Path) -> None:
    data, lay = _layout(bin_file)
    for cut in (lay.quant, lay.ngram_rows + 100, lay.end - 1):
        src = models.parent / "cut.bin"
        src.write_bytes(data[:cut])
        with pytest.raises(InputFormatError, match=r"cut\.bin: byte \d+: "):
            import_fasttext_bin(src, models / "m", progress=False)
        assert list(models.iterdir()) == []  # no model, no scratch directory


def test_a_claim_beyond_the_free_disk_is_refused(bin_file: tuple[Path, FastText], models: Path) -> None:
    data, lay = _layout(bin_file)
    huge = 2_000_000_000  # 2e9 n-gram rows x 12 dims: 96 GB
    src = models.parent / "huge.bin.gz"
    src.write_bytes(
        gzip.compress(
            patched(patched(data, lay.BUCKET, "<i", huge), lay.input_header, "<q", len(lay.words) + huge)
        )
    )
    with pytest.raises(ResourceLimit, match=r"needs [\d.]+ GiB of disk there"):
        import_fasttext_bin(src, models / "m", progress=False)  # compressed: the size is not known
    assert list(models.iterdir()) == []


def test_a_word_that_is_not_utf8_is_read_as_gensim_reads_it(
    bin_file: tuple[Path, FastText], tmp_path: Path
) -> None:
    data, lay = _layout(bin_file)
    index = next(i for i, w in enumerate(lay.words) if w.startswith("w") and len(w) == 3)
    at = Layout.ENTRIES + sum(len(w.encode()) + 10 for w in lay.words[:index]) + 1
    src = tmp_path / "latin1.bin"
    src.write_bytes(patched(data, at, "<B", 0xFF))  # "wNN" -> b"w\xffN"
    art = load_artifact(import_fasttext_bin(src, tmp_path / "m", progress=False))
    gensim_kv = load_facebook_vectors(str(src))
    word = "w\\xff" + lay.words[index][2]
    assert art.words[index] == gensim_kv.index_to_key[index] == word
    assert art.meta["non_utf8_words"] == 1
    np.testing.assert_allclose(art.vectors[index], gensim_kv[word], atol=1e-5, rtol=0)


def test_a_failed_import_removes_the_folders_it_made(bin_file: tuple[Path, FastText], tmp_path: Path) -> None:
    data, lay = _layout(bin_file)
    src = tmp_path / "cut.bin"
    src.write_bytes(data[: lay.end - 1])
    with pytest.raises(InputFormatError):
        import_fasttext_bin(src, tmp_path / "new" / "deeper" / "m", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.bin"]


def test_all_zero_vectors_are_skipped_with_their_output_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "plain.bin"
    model = make_bin(src, maxn=0, bucket=0)
    lay = layout_of(model)
    row = lay.dim * 4
    data = bytearray(src.read_bytes())
    data[lay.input_rows + 2 * row : lay.input_rows + 3 * row] = bytes(row)  # word 3's own row: zeros
    src.write_bytes(bytes(data))
    with caplog.at_level("WARNING"):
        art = load_artifact(import_fasttext_bin(src, tmp_path / "m", progress=False))
    kept = [w for i, w in enumerate(lay.words) if i != 2]
    assert art.words == kept and art.meta["skipped_zero_rows"] == 1
    assert (
        f"skipped 1 all-zero vector(s) (cosine is undefined for them), first {lay.words[2]!r}" in caplog.text
    )
    np.testing.assert_array_equal(art.vectors, np.delete(model.wv.vectors_vocab, 2, axis=0))
    np.testing.assert_array_equal(art.output, np.delete(model.syn1neg, 2, axis=0))
    assert art.counts is not None
    assert art.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in kept]


def _bytes_written() -> int:
    """write_bytes of /proc/self/io: every page this process dirtied, by write() or a memory map."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("write_bytes:"))


def test_the_import_writes_each_matrix_once(tmp_path: Path) -> None:
    """The matrices are streamed into the model's own files: about one copy of them is written,
    not a scratch copy and then the model's (which was twice as much)."""
    src = tmp_path / "wide.bin"
    make_bin(src, dim=50, bucket=20_000)  # 4 MB of n-gram rows: the bytes are the matrices'
    import_fasttext_bin(src, tmp_path / "warm", progress=False)  # numba's cache, imports: not counted
    before = _bytes_written()
    art = load_artifact(import_fasttext_bin(src, tmp_path / "m", progress=False))
    written = _bytes_written() - before
    matrices = sum(m.nbytes for m in (art.vectors, art.ngrams, art.output) if m is not None)
    assert matrices <= written < 1.3 * matrices


@pytest.mark.parametrize("importer", ["fasttext", "word2vec", "glove"])
def test_the_vectors_importers_point_a_bin_model_to_fasttext_bin(
    bin_file: tuple[Path, FastText], models: Path, importer: str
) -> None:
    function = {
        "fasttext": importers.import_fasttext_vec,
        "word2vec": importers.import_word2vec,
        "glove": importers.import_glove_text,
    }[importer]
    with pytest.raises(
        InputFormatError, match=r"a fastText \.bin model, not a vectors file: use `firth import fasttext-bin`"
    ):
        function(bin_file[0], models / "m", progress=False)
