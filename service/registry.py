"""Loaded models: immutable objects behind one reference, so a swap (an HNSW index finishing its
build, a reload) replaces a whole model atomically and a request never sees half of one."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from firth_core.artifact import VECTORS_FILE, Artifact, load_artifact
from firth_core.errors import ArtifactError, UnknownModel
from firth_core.keyed_vectors import KeyedVectors
from firth_core.query import Indexer, choose_indexer, effective_restrict
from service.index import ExactIndex, HnswIndex, HnswSpec, build_hnsw
from service.index_store import load_hnsw, remove_stale_temporaries, save_hnsw, try_build_lock
from service.settings import Settings

log = logging.getLogger("firth.registry")
HnswStatus = Literal["ready", "building", "disabled", "failed"]
DEFAULT_ALIAS = "default"
_POLL_SECONDS = 2.0  # how often a worker that is not building checks for the saved index


@dataclass(frozen=True)
class LoadedModel:
    name: str
    path: Path
    meta: Mapping[str, Any]
    kv: KeyedVectors
    exact: ExactIndex
    hnsw: HnswIndex | None
    hnsw_status: HnswStatus

    @property
    def sha256(self) -> str:
        """The model's identity: the digest of its vectors file (as Artifact.sha256)."""
        return str(self.meta["files"][VECTORS_FILE])

    def index_for(self, exact: bool, restrict_vocab: int | None) -> Indexer:
        """HNSW when it is ready and the query allows approximation, else exact."""
        return choose_indexer(self.exact, self.hnsw, exact, effective_restrict(restrict_vocab, len(self.kv)))

    @property
    def index_kinds(self) -> list[str]:
        return ["exact"] + (["hnsw"] if self.hnsw is not None else [])


def load_model(path: Path, settings: Settings) -> LoadedModel:
    artifact: Artifact = load_artifact(path, verify_checksums=settings.verify_checksums)
    kv = KeyedVectors.from_artifact(artifact)
    _ = kv.spelling  # built here, in the loading thread, never on the event loop by a first typo
    exact = ExactIndex(kv.unit)
    hnsw: HnswIndex | None = None
    status: HnswStatus = "disabled"
    if settings.index == "hnsw":
        spec = HnswSpec(settings.hnsw_m, settings.hnsw_ef_construction)
        hnsw = load_hnsw(
            index_dir_for(path, artifact.sha256, settings), spec, artifact.sha256, settings.hnsw_ef_search
        )
        status = "ready" if hnsw is not None else ("building" if settings.build_hnsw else "disabled")
    return LoadedModel(artifact.name, path, MappingProxyType(artifact.meta), kv, exact, hnsw, status)


def index_dir_for(model_path: Path, sha256: str, settings: Settings) -> Path:
    if settings.index_dir is not None:
        return settings.index_dir / f"{model_path.name}-{sha256[:12]}"
    return model_path / "index"


class ModelRegistry:
    """Name -> LoadedModel. The mapping is replaced whole, never mutated."""

    def __init__(self, models: list[LoadedModel], default: str = "") -> None:
        if not models:
            raise ArtifactError("no models to serve (put a model directory under the models dir)")
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise ArtifactError(f"two models share a name: {names}")
        self.default_name = default or names[0]
        if self.default_name not in names:
            raise ArtifactError(f"default model {self.default_name!r} is not among {names}")
        self._models: Mapping[str, LoadedModel] = MappingProxyType({m.name: m for m in models})
        self._swap_lock = threading.Lock()

    def get(self, name: str) -> LoadedModel:
        models = self._models
        model = models.get(self.default_name if name == DEFAULT_ALIAS else name)
        if model is None:
            raise UnknownModel(name, [DEFAULT_ALIAS, *models])
        return model

    def all(self) -> list[LoadedModel]:
        return list(self._models.values())

    def update(self, name: str, change: Callable[[LoadedModel], LoadedModel]) -> None:
        """Swap in `change(current model)`; reading and writing under one lock, so concurrent
        updates (an index build finishing while a reload lands) are never lost."""
        with self._swap_lock:
            model = change(self._models[name])
            self._models = MappingProxyType({**self._models, name: model})


def load_registry(settings: Settings) -> ModelRegistry:
    paths = settings.model_paths()
    if not paths:
        raise ArtifactError(
            f"{settings.models_dir}: no model directories found (run `make serve` to import one)"
        )
    started = time.perf_counter()
    models = [load_model(p, settings) for p in paths]
    log.info("loaded %d model(s) in %.2fs", len(models), time.perf_counter() - started)
    return ModelRegistry(models, settings.default_model)


def start_hnsw_builds(registry: ModelRegistry, settings: Settings) -> list[threading.Thread]:
    """Build (or wait for another worker to build) each missing HNSW index in the background.
    Until it is swapped in, the model answers exactly."""
    threads = []
    for model in registry.all():
        if model.hnsw_status != "building":
            continue
        thread = threading.Thread(
            target=_build_and_swap, args=(registry, model, settings), name=f"hnsw-{model.name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def _build_and_swap(registry: ModelRegistry, model: LoadedModel, settings: Settings) -> None:
    try:
        index = obtain_hnsw(model, settings)
    except Exception:
        log.exception("HNSW index for %s failed; serving exact answers", model.name)
        registry.update(model.name, lambda current: dataclasses.replace(current, hnsw_status="failed"))
        return
    registry.update(model.name, lambda current: dataclasses.replace(current, hnsw=index, hnsw_status="ready"))
    log.info("HNSW index for %s is ready", model.name)


def obtain_hnsw(model: LoadedModel, settings: Settings) -> HnswIndex:
    """Load the saved index, or build it if no other process is building it, or wait for it."""
    spec = HnswSpec(settings.hnsw_m, settings.hnsw_ef_construction)
    index_dir = index_dir_for(model.path, model.sha256, settings)
    while True:
        loaded = load_hnsw(index_dir, spec, model.sha256, settings.hnsw_ef_search)
        if loaded is not None:
            return loaded
        try:
            lock = try_build_lock(index_dir, spec)
        except OSError:  # read-only model directory: build in memory only
            log.warning("cannot write %s; building %s's HNSW index in memory only", index_dir, model.name)
            return build_hnsw(model.kv.unit, spec, settings.hnsw_ef_search)
        if lock is None:
            time.sleep(_POLL_SECONDS)
            continue
        with lock:
            loaded = load_hnsw(index_dir, spec, model.sha256, settings.hnsw_ef_search)
            if loaded is not None:  # another worker finished while we waited for the lock
                return loaded
            if removed := remove_stale_temporaries(index_dir, spec):
                log.info(
                    "removed %d temporary file(s) of an interrupted HNSW build in %s", removed, index_dir
                )
            started = time.perf_counter()
            index = build_hnsw(model.kv.unit, spec, settings.hnsw_ef_search)
            log.info("built HNSW for %s in %.1fs", model.name, time.perf_counter() - started)
            try:
                save_hnsw(index, index_dir, spec, model.sha256)
            except OSError as exc:
                log.warning("could not save HNSW index to %s (%s)", index_dir, exc.__class__.__name__)
            return index
