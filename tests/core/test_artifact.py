"""The artifact format: atomic writes, and a loader that refuses bad models with one clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bench.server_process import free_port
from firth_core.artifact import (
    META_FILE,
    OUTPUT_FILE,
    VECTORS_FILE,
    VOCAB_FILE,
    draft_artifact,
    load_artifact,
    update_meta,
    write_artifact,
)
from firth_core.errors import ArtifactError


def small(tmp_path: Path, **kwargs: object) -> Path:
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    return write_artifact(tmp_path / "m", ["a", "b", "c", "d"], vectors, counts=[9, 7, 5, 3], **kwargs)  # type: ignore[arg-type]


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    path = small(tmp_path, name="small", standardize="lower", meta={"source": {"format": "test"}})
    artifact = load_artifact(path)
    assert artifact.words == ["a", "b", "c", "d"]
    assert artifact.counts is not None and artifact.counts.tolist() == [9, 7, 5, 3]
    assert artifact.vectors.dtype == np.float32 and isinstance(artifact.vectors, np.memmap)
    assert artifact.vectors[2].tolist() == [7.0, 8.0, 9.0]
    meta = artifact.meta
    assert (meta["name"], meta["dim"], meta["count"], meta["standardize"]) == ("small", 3, 4, "lower")
    assert meta["format"] == "firth-model" and meta["format_version"] == 1 and meta["created"]
    assert set(meta["files"]) == {VECTORS_FILE, VOCAB_FILE} and meta["source"] == {"format": "test"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary directory left behind


def test_update_meta_is_atomic_and_keeps_checksums(tmp_path: Path) -> None:
    path = small(tmp_path)
    update_meta(path, {"evaluation": {"wordsim353": {"spearman": 0.5}}})
    update_meta(path, {"evaluation": {"simlex999": {"spearman": 0.2}}})
    meta = load_artifact(path).meta
    assert set(meta["evaluation"]) == {"wordsim353", "simlex999"}
    with pytest.raises(ArtifactError, match="managed by the writer"):
        update_meta(path, {"files": {}})


@pytest.mark.parametrize(
    ("words", "vectors", "message"),
    [
        (["a", "a"], np.ones((2, 2)), "appears twice"),
        (["a", ""], np.ones((2, 2)), "empty"),
        (["a", "b\tc"], np.ones((2, 2)), "tab or line break"),
        (["a", "b"], np.array([[1.0, np.nan], [1, 1]]), "row 0 holds NaN"),
        (["a", "b"], np.array([[1.0, 1.0], [0, 0]]), "row 1 is all zeros"),
        (["a"], np.ones((2, 2)), "2 rows for 1 words"),
        ([], np.ones((0, 2)), "non-empty"),
    ],
)
def test_writer_refuses_bad_input_and_leaves_nothing(
    tmp_path: Path, words: list[str], vectors: np.ndarray, message: str
) -> None:
    with pytest.raises(ArtifactError, match=message):
        write_artifact(tmp_path / "m", words, vectors)
    assert list(tmp_path.iterdir()) == []


def test_a_draft_filled_in_place_and_cut_is_the_model_write_artifact_writes(tmp_path: Path) -> None:
    rows = np.arange(18, dtype=np.float32).reshape(6, 3) + 1
    with draft_artifact(tmp_path / "draft") as draft:
        draft.allocate(VECTORS_FILE, (1_000_000, 3))[:6] = rows  # a producer streaming rows into the map
        draft.allocate(OUTPUT_FILE, (6, 3))[:] = -rows
        draft.keep_rows(VECTORS_FILE, 4)  # 7 digits of rows to 1: the header keeps its length
        draft.keep_rows(OUTPUT_FILE, 4)
        draft.commit(["a", "b", "c", "d"], counts=[9, 7, 5, 3], name="m")
    drafted = load_artifact(tmp_path / "draft")
    written = load_artifact(
        write_artifact(
            tmp_path / "whole",
            list("abcd"),
            rows[:4],
            counts=[9, 7, 5, 3],
            name="m",
            extras={OUTPUT_FILE: -rows[:4]},
        )
    )
    for file in (VECTORS_FILE, VOCAB_FILE, OUTPUT_FILE):
        assert (tmp_path / "draft" / file).read_bytes() == (tmp_path / "whole" / file).read_bytes()
        assert drafted.meta["files"][file] == written.meta["files"][file]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draft", "whole"]


def test_a_draft_is_checked_at_commit_and_leaves_nothing_when_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(ArtifactError, match=r"output\.npy: holds NaN or Inf"),
        draft_artifact(tmp_path / "m") as draft,
    ):
        draft.allocate(VECTORS_FILE, (2, 3))[:] = 1
        draft.allocate(OUTPUT_FILE, (2, 3))[:] = np.nan
        draft.commit(["a", "b"])
    with draft_artifact(tmp_path / "m") as draft:  # left without a commit
        draft.allocate(VECTORS_FILE, (2, 3))[:] = 1
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = small(tmp_path)
    with pytest.raises(ArtifactError, match="already exists"):
        small(tmp_path)
    write_artifact(path, ["x"], np.ones((1, 2), dtype=np.float32), overwrite=True)
    assert load_artifact(path).words == ["x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def _corrupt_vectors_bytes(path: Path) -> None:
    data = bytearray((path / VECTORS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (path / VECTORS_FILE).write_bytes(bytes(data))


def _rewrite(path: Path, words: list[str], vectors: np.ndarray, meta_patch: dict[str, object]) -> None:
    """Replace files and fix the checksums so only the intended defect remains."""
    from firth_core.artifact import sha256_file

    np.save(path / VECTORS_FILE, vectors)
    (path / VOCAB_FILE).write_text("".join(f"{w}\n" for w in words))
    meta = json.loads((path / META_FILE).read_text())
    meta["files"] = {f: sha256_file(path / f) for f in (VECTORS_FILE, VOCAB_FILE)}
    meta.update(meta_patch)
    (path / META_FILE).write_text(json.dumps(meta))


CORRUPTIONS: list[tuple[str, Callable[[Path], None], str]] = [
    ("checksum", _corrupt_vectors_bytes, "vectors.npy: sha256 does not match"),
    ("missing meta", lambda p: (p / META_FILE).unlink(), "meta.json: missing"),
    ("bad json", lambda p: (p / META_FILE).write_text("{"), "meta.json: not valid JSON"),
    ("missing vocab", lambda p: (p / VOCAB_FILE).unlink(), "vocab.txt: missing"),
    (
        "format version",
        lambda p: (p / META_FILE).write_text(
            json.dumps({**json.loads((p / META_FILE).read_text()), "format_version": 99})
        ),
        "format version 99",
    ),
    (
        "dtype",
        lambda p: _rewrite(p, list("abcd"), np.ones((4, 3), dtype=np.float64), {}),
        "dtype is float64",
    ),
    (
        "standardize",
        lambda p: (p / META_FILE).write_text(
            json.dumps({**json.loads((p / META_FILE).read_text()), "standardize": "upper"})
        ),
        "unknown standardize 'upper'",
    ),
    ("shape", lambda p: _rewrite(p, list("abcd"), np.ones((4, 2), dtype=np.float32), {}), "shape (4, 2)"),
    (
        "nan",
        lambda p: _rewrite(p, list("abcd"), np.full((4, 3), np.nan, dtype=np.float32), {}),
        "row 0 holds NaN",
    ),
    ("zero row", lambda p: _rewrite(p, list("abcd"), np.zeros((4, 3), dtype=np.float32), {}), "all zeros"),
    (
        "duplicates",
        lambda p: _rewrite(p, list("abca"), np.ones((4, 3), dtype=np.float32), {}),
        "appears twice",
    ),
    ("word count", lambda p: _rewrite(p, list("abc"), np.ones((4, 3), dtype=np.float32), {}), "3 words"),
    ("pickle", lambda p: _rewrite(p, list("abcd"), np.array([{}] * 4, dtype=object), {}), "vectors.npy"),
]


@pytest.mark.parametrize(("case", "corrupt", "message"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_loader_refuses_bad_artifacts(
    tmp_path: Path, case: str, corrupt: Callable[[Path], None], message: str
) -> None:
    path = small(tmp_path)
    corrupt(path)
    with pytest.raises(ArtifactError) as err:
        load_artifact(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)  # one line


def test_loader_refuses_a_non_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a model directory"):
        load_artifact(tmp_path / "absent")


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)  # opening it for reading would block: the loader must not


def _dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _files_entry(name: str) -> Callable[[Path], None]:
    def corrupt(p: Path) -> None:
        meta = json.loads((p / META_FILE).read_text())
        meta["files"][name] = "0" * 64
        (p / META_FILE).write_text(json.dumps(meta))

    return corrupt


IN_A_FILES_PLACE: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "FIFO as vocab",
        lambda p: _fifo(p / VOCAB_FILE),
        "vocab.txt: is a named pipe (FIFO), expected a regular file",
    ),
    ("FIFO as vectors", lambda p: _fifo(p / VECTORS_FILE), "vectors.npy: is a named pipe (FIFO), expected"),
    ("FIFO as meta", lambda p: _fifo(p / META_FILE), "meta.json: is a named pipe (FIFO), expected"),
    ("directory as vectors", lambda p: _dir(p / VECTORS_FILE), "vectors.npy: is a directory, expected"),
    ("directory as meta", lambda p: _dir(p / META_FILE), "meta.json: is a directory, expected"),
    ("absolute path in files", _files_entry("/etc/shadow"), "file name '/etc/shadow' is not a plain name"),
    ("parent in files", _files_entry("../other/vectors.npy"), "'../other/vectors.npy' is not a plain name"),
    ("subdirectory in files", _files_entry("sub/x"), "'sub/x' is not a plain name"),
    ("dot-dot in files", _files_entry(".."), "'..' is not a plain name"),
]


@pytest.mark.parametrize("verify", [True, False], ids=["checksums", "no-checksums"])
@pytest.mark.parametrize(
    ("case", "corrupt", "message"), IN_A_FILES_PLACE, ids=[c[0] for c in IN_A_FILES_PLACE]
)
def test_loader_names_what_is_in_a_files_place(
    tmp_path: Path, case: str, corrupt: Callable[[Path], None], message: str, verify: bool
) -> None:
    path = small(tmp_path)
    corrupt(path)
    with pytest.raises(ArtifactError) as err:
        load_artifact(path, verify_checksums=verify)
    assert message in str(err.value)
    assert "missing" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("size", [0, 5, 60])
def test_an_empty_or_cut_vectors_file_without_checksums_is_one_error(tmp_path: Path, size: int) -> None:
    path = small(tmp_path)
    data = (path / VECTORS_FILE).read_bytes()
    (path / VECTORS_FILE).write_bytes(data[:size])
    with pytest.raises(ArtifactError, match=r"vectors\.npy: (empty or truncated|not a readable \.npy)"):
        load_artifact(path, verify_checksums=False)


def test_the_writer_records_only_plain_names(tmp_path: Path) -> None:
    path = small(tmp_path, meta={"files": {"/etc/shadow": "x"}})
    assert sorted(json.loads((path / META_FILE).read_text())["files"]) == [VECTORS_FILE, VOCAB_FILE]
    with pytest.raises(ArtifactError, match="managed by the writer"):
        update_meta(path, {"files": {"/etc/shadow": "x"}})


def test_service_start_with_a_corrupt_model_is_one_line(tmp_path: Path) -> None:
    """The real `firth-serve` process: an empty vectors.npy with checksums off, a FIFO as vocab.txt."""
    serve = Path(sys.executable).parent / "firth-serve"
    if not serve.exists():
        pytest.skip("the firth-serve console script is not installed next to this interpreter")
    models = tmp_path / "models"
    models.mkdir()
    (small(models) / VECTORS_FILE).write_bytes(b"")
    env = {
        **os.environ,
        "FIRTH_VERIFY_CHECKSUMS": "0",
        "FIRTH_MODELS_DIR": str(models),
        "FIRTH_INDEX": "exact",
    }
    done = subprocess.run(
        [str(serve), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"firth-serve: error: {models / 'm' / VECTORS_FILE}: empty or truncated" in done.stderr
    _fifo(models / "m" / VOCAB_FILE)
    done = subprocess.run(
        [str(serve), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "vocab.txt: is a named pipe (FIFO), expected a regular file" in done.stderr
