"""`firth import fasttext-bin` and `firth export --format fasttext-bin` through the real console
script: a summary line on success, one error line and exit status 2 on a bad file, nothing left."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from gensim.models.fasttext import load_facebook_vectors

from firth_core.artifact import load_artifact
from tests.cli_process import firth, one_error_line
from tests.fasttext_files import Layout, layout_of, make_bin, patched


def test_import_and_export_through_the_console_script(tmp_path: Path) -> None:
    src = tmp_path / "tiny.bin.gz"
    plain = tmp_path / "tiny.bin"
    make_bin(plain)
    src.write_bytes(gzip.compress(plain.read_bytes()))
    done = firth("import", "fasttext-bin", src, "--out", tmp_path / "m", "--name", "tiny-ft", "--no-output")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'm'}: 67 words x 12 dims in ")
    art = load_artifact(tmp_path / "m")
    assert art.name == "tiny-ft" and art.output is None and art.subwords is not None
    done = firth("export", tmp_path / "m", "--format", "fasttext-bin", "--out", tmp_path / "back.bin")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {tmp_path / 'back.bin'}\n"
    before, after = load_facebook_vectors(str(plain)), load_facebook_vectors(str(tmp_path / "back.bin"))
    for word in [*before.index_to_key, "unseen", "naïvely"]:
        np.testing.assert_allclose(after[word], before[word], atol=1e-5, rtol=0)


def test_bad_files_stop_with_one_line_and_leave_nothing(tmp_path: Path) -> None:
    src = tmp_path / "tiny.bin"
    lay: Layout = layout_of(make_bin(src))
    data = src.read_bytes()
    models = tmp_path / "models"
    models.mkdir()
    cases = {  # file name: (content, what the line must say)
        "truncated.bin": (
            data[: lay.ngram_rows + 50],  # the size is known: refused at the matrix's header
            f"byte {lay.input_rows}: the input matrix ({len(lay.words) + lay.bucket} x {lay.dim} float32) needs",
        ),
        "truncated.bin.gz": (  # the size is not known: refused where the data stops
            gzip.compress(data[: lay.ngram_rows + 50]),
            f"byte {lay.ngram_rows + 50}: the file ends inside the input matrix's n-gram rows",
        ),
        "supervised.bin": (
            patched(data, Layout.MODEL, "<i", 3),
            "byte 36: a supervised fastText model; firth imports unsupervised (cbow/skipgram) models",
        ),
        "v13.bin": (
            patched(data, 4, "<i", 13),
            "byte 4: fastText format version 13; firth reads versions 11 and 12",
        ),
        "quantized.ftz": (
            patched(data, lay.quant, "<b", 1),
            f"byte {lay.quant}: a quantized fastText model (.ftz)",
        ),
    }
    for name, (content, reason) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        line = one_error_line(firth("import", "fasttext-bin", bad, "--out", models / "m"), "import")
        assert line.startswith(f"firth import: error: {bad}: byte ") and reason in line, line
        assert list(models.iterdir()) == []
