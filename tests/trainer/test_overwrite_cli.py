"""`--overwrite` through the real `firth` console script: train, import and export replace only what
they write themselves, and refuse anything else with one line and exit status 2, removing nothing.
Special files are made in the test's own directory; no system path is touched."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

import firth_service.unit_store
from firth_core.artifact import load_artifact, write_artifact
from firth_service.registry import load_model
from firth_service.settings import Settings
from tests.cli_process import char_device, firth, one_error_line


def null_device(path: Path) -> Path:
    return char_device(path, 1, 3)  # /dev/null's numbers, made here


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "small.txt"
    path.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    return path


@pytest.fixture
def glove(tmp_path: Path) -> Path:
    path = tmp_path / "g.txt"
    path.write_text("the 0.1 0.2 0.3\nof 0.4 0.5 0.6\n")
    return path


TRAIN = ("--min-count", "1", "--epochs", "1", "--dim", "8", "-q", "--overwrite")


def test_train_over_a_device_node_is_refused_and_the_device_stays(tmp_path: Path, corpus: Path) -> None:
    device = null_device(tmp_path / "null")
    err = one_error_line(firth("train", "--corpus", corpus, "--out", device, *TRAIN), "train")
    assert f"{device}: is a character device, not a firth model directory; it was left alone" in err
    st = os.lstat(device)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def test_import_into_a_directory_of_user_files_removes_nothing(tmp_path: Path, glove: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work\n")
    err = one_error_line(firth("import", "glove", glove, "--out", home, "--quiet", "--overwrite"), "import")
    assert "not a firth model directory (no meta.json)" in err
    assert [p.name for p in home.iterdir()] == ["thesis.tex"]
    assert (home / "thesis.tex").read_text() == "years of work\n"


def test_train_into_a_model_holding_a_user_file_removes_nothing(tmp_path: Path, corpus: Path) -> None:
    out = write_artifact(tmp_path / "m", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    (out / "notes.txt").write_text("mine\n")
    err = one_error_line(firth("train", "--corpus", corpus, "--out", out, *TRAIN), "train")
    assert "holds notes.txt (a regular file, which firth did not write)" in err
    assert (out / "notes.txt").read_text() == "mine\n"
    assert load_artifact(out).words == ["a", "b"]


def test_train_over_a_symlink_is_refused(tmp_path: Path, corpus: Path) -> None:
    real = write_artifact(tmp_path / "real", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    link = tmp_path / "link"
    link.symlink_to(real)
    err = one_error_line(firth("train", "--corpus", corpus, "--out", link, *TRAIN), "train")
    assert "is a symbolic link" in err
    assert link.is_symlink() and load_artifact(real).words == ["a", "b"]


def test_overwrite_replaces_a_firth_model(tmp_path: Path, corpus: Path, glove: Path) -> None:
    out = write_artifact(tmp_path / "m", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    done = firth("train", "--corpus", corpus, "--out", out, *TRAIN)
    assert done.returncode == 0, done.stderr
    assert "cat" in load_artifact(out).words
    done = firth("import", "glove", glove, "--out", out, "--quiet", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert load_artifact(out).words == ["the", "of"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.txt", "m", "small.txt"]


def test_overwrite_replaces_a_model_with_what_the_server_saved_in_it(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """firth-serve writes into a model's index/: its verified-once marker, and for a large model
    (256 MB of vectors and more) the unit vectors and norms it maps. They are firth's own files:
    --overwrite used to refuse the model ("holds index/unit-vectors.npy, which firth did not
    write"), so a served large model could not be retrained or imported over."""
    out = write_artifact(tmp_path / "m", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    monkeypatch.setattr(firth_service.unit_store, "UNIT_FILE_MIN_BYTES", 0)  # this model counts as large
    load_model(out, Settings(index="exact"))  # as the server loads it
    assert {"unit-vectors.npy", "norms.npy"} <= {p.name for p in (out / "index").iterdir()}
    done = firth("train", "--corpus", corpus, "--out", out, *TRAIN)
    assert done.returncode == 0, done.stderr
    assert "cat" in load_artifact(out).words and not (out / "index").exists()


def test_export_over_a_fifo_or_device_is_refused(tmp_path: Path) -> None:
    model = write_artifact(tmp_path / "m", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    err = one_error_line(firth("export", model, "--out", pipe, "--overwrite", timeout=60), "export")
    assert "is a named pipe (FIFO), not a regular file; it was left alone" in err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    device = null_device(tmp_path / "null")
    err = one_error_line(firth("export", model, "--out", device, "--overwrite"), "export")
    assert "is a character device" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_export_replaces_a_regular_file_only_when_asked(tmp_path: Path) -> None:
    model = write_artifact(tmp_path / "m", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    out = tmp_path / "v.txt"
    out.write_text("old\n")
    err = one_error_line(firth("export", model, "--out", out), "export")
    assert "already exists (pass --overwrite to replace it)" in err
    assert out.read_text() == "old\n"
    done = firth("export", model, "--out", out, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("2 3\n")
