"""What `overwrite` may replace (firth_core/destination.py), and that the swap never leaves neither
version. Every special file is made here, in the test's own directory: no system path is touched."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from firth_core import destination
from firth_core.artifact import load_artifact, write_artifact
from firth_core.destination import check_destination, install
from firth_core.errors import ArtifactError
from firth_core.exporters import export_word2vec

VECTORS = np.arange(1, 7, dtype=np.float32).reshape(2, 3)


def model(path: Path, first: float = 1.0) -> Path:
    return write_artifact(path, ["a", "b"], VECTORS * first, overwrite=True)


def char_device(path: Path) -> Path:
    """A character device node with /dev/null's numbers (1, 3), made in the test's directory."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod is not permitted here")
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def symlink_to_model(path: Path) -> Path:
    path.symlink_to(model(path.parent / "real-model"), target_is_directory=True)
    return path


def regular_file(path: Path) -> Path:
    path.write_text("a user's notes\n")
    return path


def foreign_dir(path: Path) -> Path:
    path.mkdir()
    (path / "thesis.tex").write_text("years of work\n")
    return path


def model_with_stray_file(path: Path) -> Path:
    model(path)
    (path / "notes.txt").write_text("mine\n")
    return path


def model_with_stray_dir(path: Path) -> Path:
    model(path)
    (path / "backup").mkdir()
    return path


def model_with_foreign_index_file(path: Path) -> Path:
    model(path)
    (path / "index").mkdir()
    (path / "index" / "photo.png").write_bytes(b"\x89PNG")
    return path


def model_with_linked_vectors(path: Path) -> Path:
    model(path)
    (path / "vectors.npy").unlink()
    (path / "vectors.npy").symlink_to(path.parent / "elsewhere.npy")
    return path


def fake_meta_dir(path: Path) -> Path:
    path.mkdir()
    (path / "meta.json").write_text('{"format": "something-else"}')
    return path


NOT_A_MODEL: dict[str, tuple[Callable[[Path], Path], str]] = {
    "character device": (char_device, "is a character device, not a firth model directory"),
    "FIFO": (fifo, "is a named pipe (FIFO), not a firth model directory"),
    "symlink to a model": (symlink_to_model, "is a symbolic link, not a firth model directory"),
    "regular file": (regular_file, "is a regular file, not a firth model directory"),
    "directory of other files": (foreign_dir, "not a firth model directory (no meta.json)"),
    "meta.json of another format": (fake_meta_dir, "meta.json does not say so"),
    "model plus a stray file": (model_with_stray_file, "holds notes.txt (a regular file, which firth"),
    "model plus a stray directory": (model_with_stray_dir, "holds backup (a directory, which firth"),
    "model plus a foreign file in index/": (model_with_foreign_index_file, "holds index/photo.png"),
    "model whose vectors are a symlink": (model_with_linked_vectors, "holds vectors.npy (a symbolic link)"),
}


def _snapshot(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Everything under `path` (not following links): name -> (mode, inode, content of files)."""
    out: dict[str, tuple[int, int, bytes]] = {}
    for item in [path, *sorted(path.rglob("*"))] if path.is_dir() and not path.is_symlink() else [path]:
        st = os.lstat(item)
        content = item.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        out[str(item.relative_to(path.parent))] = (st.st_mode, st.st_ino, content)
    return out


@pytest.mark.parametrize("case", list(NOT_A_MODEL))
def test_overwrite_refuses_anything_but_a_firth_model_and_removes_nothing(tmp_path: Path, case: str) -> None:
    make, message = NOT_A_MODEL[case]
    target = make(tmp_path / "out")
    before = _snapshot(target)
    with pytest.raises(
        ArtifactError, match=rf"^{re.escape(str(tmp_path / 'out'))}: .*{re.escape(message)}"
    ) as err:
        write_artifact(target, ["x", "y"], VECTORS, overwrite=True)
    assert "\n" not in str(err.value)
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries


def test_overwrite_replaces_a_firth_model_and_its_index_cache(tmp_path: Path) -> None:
    target = model(tmp_path / "m")
    (target / "index").mkdir()
    (target / "index" / "hnsw-m32.faiss").write_bytes(b"index")
    (target / "index" / "hnsw-m32.json").write_text("{}")
    write_artifact(target, ["x", "y"], VECTORS * 2, overwrite=True)
    assert load_artifact(target).words == ["x", "y"]
    assert sorted(p.name for p in target.iterdir()) == ["meta.json", "vectors.npy", "vocab.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # the old version is gone, no temporaries


def test_overwrite_replaces_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    write_artifact(tmp_path / "m", ["x", "y"], VECTORS, overwrite=True)
    assert load_artifact(tmp_path / "m").words == ["x", "y"]


def test_without_overwrite_even_a_model_stays(tmp_path: Path) -> None:
    target = model(tmp_path / "m")
    with pytest.raises(ArtifactError, match="already exists"):
        write_artifact(target, ["x", "y"], VECTORS)
    assert load_artifact(target).words == ["a", "b"]


def test_a_device_is_refused_without_overwrite_too(tmp_path: Path) -> None:
    device = char_device(tmp_path / "null")
    with pytest.raises(ArtifactError, match="is a character device"):
        write_artifact(device, ["x", "y"], VECTORS)
    assert stat.S_ISCHR(os.lstat(device).st_mode)


EXPORT_REFUSALS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "character device": (char_device, "is a character device, not a regular file"),
    "FIFO": (fifo, "is a named pipe (FIFO), not a regular file"),
    "symlink": (lambda p: (p.symlink_to(regular_file(p.parent / "real.txt")), p)[1], "is a symbolic link"),
    "directory": (foreign_dir, "is a directory, not a regular file"),
    "a model's own file": (
        lambda p: model(p.parent / "mine") / "vectors.npy",
        "is a file of the firth model",
    ),
}


@pytest.mark.parametrize("case", list(EXPORT_REFUSALS))
def test_export_overwrite_replaces_only_a_regular_file(tmp_path: Path, case: str) -> None:
    source = model(tmp_path / "src")
    make, message = EXPORT_REFUSALS[case]
    target = make(tmp_path / "out")
    before = _snapshot(target.parent)
    with pytest.raises(ArtifactError, match=re.escape(message)):
        export_word2vec(source, target, overwrite=True)
    assert _snapshot(target.parent) == before


def test_export_overwrite_replaces_a_regular_file(tmp_path: Path) -> None:
    target = regular_file(tmp_path / "v.txt")
    export_word2vec(model(tmp_path / "src"), target, overwrite=True)
    assert target.read_text().startswith("2 3\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src", "v.txt"]


def test_a_destination_changed_after_the_check_is_put_back(tmp_path: Path) -> None:
    """The entry swapped out must be the one that was inspected: a user's directory that took the
    model's place meanwhile is put back, whole."""
    target = model(tmp_path / "m")
    inspected = check_destination(target, overwrite=True)
    os.rename(target, tmp_path / "elsewhere")
    foreign_dir(target)
    before = _snapshot(target)
    new = model(tmp_path / ".m.tmp-test", first=2.0)
    with pytest.raises(ArtifactError, match="was replaced while firth was writing"):
        install(new, target, inspected, "model")
    assert _snapshot(target) == before
    assert load_artifact(new).vectors[0, 0] == 2.0  # the new version is left for the caller to remove


def test_a_stray_file_added_after_the_check_is_kept(tmp_path: Path) -> None:
    target = model(tmp_path / "m")
    inspected = check_destination(target, overwrite=True)
    (target / "notes.txt").write_text("added during training\n")
    new = model(tmp_path / ".m.tmp-test", first=2.0)
    with pytest.raises(ArtifactError, match=r"holds notes\.txt"):
        install(new, target, inspected, "model")
    assert (target / "notes.txt").read_text() == "added during training\n"
    assert load_artifact(target).vectors[0, 0] == 1.0


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_the_destination_always_names_a_whole_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    """Watch every rename: after each one a complete model is at the target, or (the fallback's one
    window between its two renames) both versions exist on disk. A failure of the last rename puts
    the old version back."""
    if not exchange:
        monkeypatch.setattr(destination, "_RENAMEAT2", None)
    elif destination._RENAMEAT2 is None:
        pytest.skip("renameat2 is not available")
    target = model(tmp_path / "m")
    new = model(tmp_path / ".m.tmp-test", first=2.0)
    states: list[tuple[bool, int]] = []
    real_rename = os.rename

    def watched(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        real_rename(src, dst)
        whole = sum(1 for p in tmp_path.iterdir() if (p / "meta.json").is_file())
        states.append((target.joinpath("meta.json").is_file(), whole))

    monkeypatch.setattr(os, "rename", watched)
    install(new, target, check_destination(target, overwrite=True), "model")
    assert load_artifact(target).vectors[0, 0] == 2.0
    assert all(at_target or versions == 2 for at_target, versions in states)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_a_failed_last_rename_restores_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destination, "_RENAMEAT2", None)
    target = model(tmp_path / "m")
    new = model(tmp_path / ".m.tmp-test", first=2.0)
    real_rename = os.rename

    def failing(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        if Path(src) == new:
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(OSError):
        install(new, target, check_destination(target, overwrite=True), "model")
    assert load_artifact(target).vectors[0, 0] == 1.0


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_what_cannot_be_put_back_is_kept_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    """If the entry swapped out is not the one inspected and cannot be put back, it stays on disk
    under the temporary name the error gives: the writer's cleanup must not remove it."""
    import firth_core.artifact

    if exchange and destination._RENAMEAT2 is None:
        pytest.skip("renameat2 is not available")
    if not exchange:
        monkeypatch.setattr(destination, "_RENAMEAT2", None)
    target = model(tmp_path / "m")
    checks = []

    def check_then_swap(out: Path, overwrite: bool = False) -> os.stat_result | None:
        found = check_destination(out, overwrite)
        checks.append(out)
        if len(checks) == 2:  # the check just before the swap: a user's directory takes the place
            os.rename(target, tmp_path / "elsewhere")
            foreign_dir(target)
        return found

    monkeypatch.setattr(firth_core.artifact, "check_destination", check_then_swap)
    real_rename, real_rename2 = os.rename, destination._rename2
    swaps = []

    def putting_back_fails(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        if Path(src).name.startswith(".m.old-"):  # the rename that would put the user's directory back
            raise OSError(5, "Input/output error")
        real_rename(src, dst)

    def exchanging_back_fails(src: Path, dst: Path, flags: int) -> bool:
        swaps.append(flags)
        if flags == destination._RENAME_EXCHANGE and len(swaps) == 2:
            raise OSError(5, "Input/output error")
        return real_rename2(src, dst, flags)

    monkeypatch.setattr(os, "rename", putting_back_fails)
    monkeypatch.setattr(destination, "_rename2", exchanging_back_fails)
    with pytest.raises(destination.SwapIncomplete, match="move it back by hand") as err:
        write_artifact(target, ["x", "y"], VECTORS, overwrite=True)
    kept = Path(str(err.value).split(" is now at ")[1].split(" and could not")[0])
    assert (kept / "thesis.tex").read_text() == "years of work\n"
