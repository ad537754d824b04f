"""firth_service.registry: models loaded with their indexes, HNSW built in the background and swapped in,
saved indexes reused, and what a killed build left behind removed."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from firth_core.artifact import VECTORS_FILE
from firth_core.errors import ArtifactError
from firth_service.index import HnswSpec
from firth_service.index_store import hnsw_files
from firth_service.registry import ModelRegistry, index_dir_for, load_model, obtain_hnsw, start_hnsw_builds
from firth_service.settings import Settings


def test_background_build_swaps_in_and_is_reused(tmp_path: Path, random_model_dir: Path) -> None:
    model_dir = tmp_path / "random"
    shutil.copytree(random_model_dir, model_dir)
    settings = Settings(index="hnsw", hnsw_m=16, hnsw_ef_construction=40, build_hnsw=True)
    registry = ModelRegistry([load_model(model_dir, settings)])
    before = registry.get("random")
    assert before.hnsw_status == "building" and before.index_for(False, None).kind == "exact"
    for thread in start_hnsw_builds(registry, settings):
        thread.join(timeout=120)
    after = registry.get("random")
    assert after.hnsw_status == "ready" and after.index_for(False, None).kind == "hnsw"
    assert before.hnsw is None  # the old object was never mutated: requests holding it stay consistent
    started = time.perf_counter()
    reloaded = load_model(model_dir, settings)
    assert reloaded.hnsw_status == "ready" and reloaded.hnsw is not None
    assert time.perf_counter() - started < 30


def test_a_build_removes_what_a_killed_build_left_behind(tmp_path: Path, random_model_dir: Path) -> None:
    model_dir = tmp_path / "random"
    shutil.copytree(random_model_dir, model_dir)
    settings = Settings(index="hnsw", hnsw_m=16, hnsw_ef_construction=40, index_dir=tmp_path / "indexes")
    model = load_model(model_dir, settings)
    spec = HnswSpec(16, 40)
    index_dir = index_dir_for(model.path, model.sha256, settings)
    index_dir.mkdir(parents=True)
    path, sidecar = hnsw_files(index_dir, spec)
    stale = [Path(f"{path}.tmp-dead0001"), Path(f"{sidecar}.tmp-dead0001")]
    for f in stale:
        f.write_bytes(b"half-written")
    other = (
        index_dir / f"{HnswSpec(32, 100).stem}.faiss.tmp-live0002"
    )  # another spec's build: not ours to touch
    other.write_bytes(b"in progress")
    index = obtain_hnsw(model, settings)
    assert index.kind == "hnsw" and path.is_file() and sidecar.is_file()
    assert not any(f.exists() for f in stale)
    assert other.exists()


def test_a_fifo_in_the_vectors_place_is_named_not_waited_on(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the start (or a reload's thread)
    would wait for ever instead of naming the file."""
    model_dir = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, model_dir)
    (model_dir / VECTORS_FILE).unlink()
    os.mkfifo(model_dir / VECTORS_FILE)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_model(model_dir, Settings(index="exact"))
        except BaseException as exc:
            outcome.append(exc)

    loading = threading.Thread(target=load, daemon=True)  # daemon: a blocked open() must not hang pytest
    loading.start()
    loading.join(timeout=20)
    assert not loading.is_alive(), "load_model blocked opening the FIFO"
    assert len(outcome) == 1 and isinstance(outcome[0], ArtifactError)
    assert "vectors.npy: is a named pipe (FIFO), expected a regular file" in str(outcome[0])
