"""firth_service.reload and the in-place guard: models added, removed and replaced in a running registry;
a failed version keeps the old one serving with load_error; a vectors file truncated or rewritten in
place is refused (503) before it is read."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from firth_core.artifact import META_FILE, VECTORS_FILE, VOCAB_FILE, write_artifact
from firth_service.app import create_app
from firth_service.registry import ModelRegistry, load_registry
from firth_service.reload import reload_models
from firth_service.settings import Settings
from tests.conftest import exact_settings, tiny_matrix, tiny_words


def _write(models: Path, name: str, scale: float = 1.0) -> Path:
    return write_artifact(
        models / name, tiny_words(), tiny_matrix() * scale, name=name, standardize="lower", overwrite=True
    )


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, Settings, ModelRegistry]:
    models = tmp_path / "models"
    for name in ("alpha", "beta"):
        _write(models, name)
    settings = exact_settings(models_dir=models, default_model="alpha")
    return models, settings, load_registry(settings)


def test_nothing_changed_reloads_nothing(served: tuple[Path, Settings, ModelRegistry]) -> None:
    _, settings, registry = served
    before = registry.get("beta")
    report = reload_models(registry, settings)
    assert sorted(report.unchanged) == ["alpha", "beta"] and not (
        report.added or report.reloaded or report.failed
    )
    assert registry.get("beta") is before


def test_added_removed_and_replaced_models(served: tuple[Path, Settings, ModelRegistry]) -> None:
    models, settings, registry = served
    old_beta = registry.get("beta")
    old_vector = np.array(old_beta.kv.vectors[0])
    _write(models, "beta", scale=2.0)  # a new directory renamed into place: new inodes
    _write(models, "gamma")
    report = reload_models(registry, settings)
    assert report.reloaded == ["beta"] and report.added == ["gamma"] and not report.failed
    new_beta = registry.get("beta")
    assert new_beta is not old_beta
    np.testing.assert_allclose(new_beta.kv.vectors[0], old_vector * 2.0, rtol=1e-6)
    # the old object, still held by a request, reads its own (deleted) inode, unchanged
    np.testing.assert_array_equal(old_beta.kv.vectors[0], old_vector)
    shutil.rmtree(models / "gamma")
    report = reload_models(registry, settings)
    assert report.removed == ["gamma"]
    assert sorted(m.name for m in registry.all()) == ["alpha", "beta"]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(bytes(data))
    tmp.rename(path)


def _truncate_vocab(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text("".join(lines[:-2]), encoding="utf-8")
    tmp.rename(path)


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: _flip_byte(d / VECTORS_FILE), "sha256 does not match"),
        (lambda d: _truncate_vocab(d / VOCAB_FILE), "vocab.txt"),
        (lambda d: (d / META_FILE).unlink(), "meta.json: missing"),
    ],
    ids=["flipped-byte", "truncated-vocabulary", "missing-meta"],
)
def test_a_corrupt_version_keeps_the_old_one_serving(
    served: tuple[Path, Settings, ModelRegistry], damage: object, error: str
) -> None:
    models, settings, registry = served
    old = registry.get("beta")
    damage(models / "beta")  # type: ignore[operator]
    report = reload_models(registry, settings)
    assert error in report.failed["beta"] and not report.removed
    now = registry.get("beta")
    assert now.kv is old.kv and now.load_error == report.failed["beta"]
    shutil.rmtree(models / "beta")  # --overwrite leaves a directory without meta.json alone
    _write(models, "beta", scale=3.0)  # a good version clears the error
    report = reload_models(registry, settings)
    assert report.reloaded == ["beta"] and registry.get("beta").load_error is None


def test_a_new_directory_that_fails_is_reported_not_served(
    served: tuple[Path, Settings, ModelRegistry],
) -> None:
    models, settings, registry = served
    bad = _write(models, "delta")
    meta = json.loads((bad / META_FILE).read_text())
    meta["count"] = 99
    (bad / META_FILE).write_text(json.dumps(meta))
    report = reload_models(registry, settings)
    assert list(report.failed) == [str(bad)] and "delta" not in {m.name for m in registry.all()}


def test_the_default_model_is_never_removed(served: tuple[Path, Settings, ModelRegistry]) -> None:
    models, settings, registry = served
    shutil.rmtree(models / "alpha")
    report = reload_models(registry, settings)
    assert report.removed == [] and "gone" in report.failed["alpha"]
    assert registry.get("default").name == "alpha"


@pytest.mark.anyio
async def test_truncated_in_place_is_refused_and_reported(
    served: tuple[Path, Settings, ModelRegistry],
) -> None:
    models, settings, registry = served
    admin_key = models.parent / "admin.key"
    admin_key.write_text("reload-admin-key-9xT\n")
    app = create_app(settings.model_copy(update={"admin_key": admin_key}), registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        assert (await api.get("/v1/models/beta/vectors/cat")).status_code == 200
        os.truncate(models / "beta" / VECTORS_FILE, 64)  # same inode: the map now ends early
        answer = await api.get("/v1/models/beta/vectors/cat")
        assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
        assert (
            answer.json()["type"] == "/problems/model-unavailable" and "truncated" in answer.json()["detail"]
        )
        info = (await api.get("/v1/models/beta")).json()
        assert "truncated" in info["unavailable"]
        ready = await api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert (await api.get("/v1/models/alpha/vectors/cat")).status_code == 200
        os.truncate(models / "alpha" / VECTORS_FILE, 64)  # the default model: not ready
        assert (await api.get("/readyz")).status_code == 503
        _write(models, "beta", scale=2.0)
        assert (await api.post("/admin/reload")).status_code == 401  # the admin key is needed
        reloaded = await api.post("/admin/reload", headers={"Authorization": "Bearer reload-admin-key-9xT"})
        assert reloaded.status_code == 200, reloaded.text
        body = reloaded.json()
        assert "beta" in body["reloaded"] and "alpha" in body["failed"] and body["others_reloading"] is False
        assert (await api.get("/v1/models/beta/vectors/cat")).status_code == 200
        assert (await api.get("/v1/models/alpha")).json()["load_error"]


@pytest.mark.anyio
async def test_rewritten_in_place_with_the_same_size_is_refused(
    served: tuple[Path, Settings, ModelRegistry],
) -> None:
    models, settings, registry = served
    app = create_app(settings, registry)
    path = models / "beta" / VECTORS_FILE
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        assert (await api.get("/v1/models/beta/vectors/cat")).status_code == 200
        stat = path.stat()
        with open(path, "r+b") as handle:  # same inode, same size, new bytes
            handle.seek(stat.st_size - 4)
            handle.write(b"\x00\x00\x80\x3f")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        answer = await api.get("/v1/models/beta/vectors/cat")
        assert answer.status_code == 503 and "changed in place" in answer.json()["detail"]


def test_a_reloaded_model_gets_its_own_hnsw_index_built(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _write(models, "alpha")
    indexes = tmp_path / "indexes"
    settings = Settings(models_dir=models, index="hnsw", hnsw_m=8, hnsw_ef_construction=20, index_dir=indexes)
    registry = load_registry(settings)
    assert registry.get("alpha").hnsw_status == "building"  # no build started: only the reload's runs
    _write(models, "alpha", scale=2.0)
    assert reload_models(registry, settings).reloaded == ["alpha"]
    reloaded = registry.get("alpha")
    assert reloaded.hnsw_status in ("building", "ready")  # exact answers until ready (a tiny build is quick)
    deadline = time.monotonic() + 60
    while registry.get("alpha").hnsw_status != "ready":
        assert time.monotonic() < deadline, "the reloaded model's index was never built"
        time.sleep(0.05)
    ready = registry.get("alpha")
    assert ready.kv is reloaded.kv and ready.hnsw is not None  # the index landed on the new version
    assert [p.name for p in indexes.iterdir()] == [f"alpha-{ready.sha256[:12]}"]


def test_the_supervisors_reload_starts_no_index_build(tmp_path: Path) -> None:
    """build_indexes=False (the supervisor, which forks later): the new version waits for a
    worker's lifespan to build its index; no thread is started here."""
    models = tmp_path / "models"
    _write(models, "alpha")
    settings = Settings(
        models_dir=models, index="hnsw", hnsw_m=8, hnsw_ef_construction=20, index_dir=tmp_path / "i"
    )
    registry = load_registry(settings)
    threads = threading.active_count()
    _write(models, "alpha", scale=2.0)
    assert reload_models(registry, settings, build_indexes=False).reloaded == ["alpha"]
    time.sleep(0.3)
    assert threading.active_count() == threads and registry.get("alpha").hnsw_status == "building"


def test_an_index_built_for_a_replaced_version_is_dropped(
    served: tuple[Path, Settings, ModelRegistry],
) -> None:
    models, settings, registry = served
    old = registry.get("beta")
    _write(models, "beta", scale=2.0)
    reload_models(registry, settings)
    new = registry.get("beta")
    # what a build thread started for the old version does when it finishes
    registry.update_if_same(old, lambda current: dataclasses.replace(current, hnsw_status="failed"))
    assert registry.get("beta") is new
    registry.update_if_same(new, lambda current: dataclasses.replace(current, hnsw_status="failed"))
    assert registry.get("beta").hnsw_status == "failed"
    shutil.rmtree(models / "beta")
    reload_models(registry, settings)
    registry.update_if_same(new, lambda current: current)  # removed meanwhile: nothing to update
    assert "beta" not in {m.name for m in registry.all()}


def test_a_writers_temporary_directory_is_not_a_model(served: tuple[Path, Settings, ModelRegistry]) -> None:
    models, settings, registry = served
    _write(models, ".gamma.tmp-1234abcd")  # what write_artifact holds before its rename
    report = reload_models(registry, settings)
    assert not report.added and not report.failed
