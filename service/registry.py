"""Loaded models: immutable objects behind one reference, so a swap (an HNSW index finishing its
build, a reload) replaces a whole model atomically and a request never sees half of one."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from firth_core.artifact import META_FILE, VECTORS_FILE, VOCAB_FILE, Artifact, load_artifact, read_meta
from firth_core.classifier import Classifier
from firth_core.errors import ArtifactError, UnknownModel
from firth_core.keyed_vectors import KeyedVectors
from firth_core.query import ExactSearch, Indexer, choose_indexer, effective_restrict
from firth_service.index import ExactIndex, HnswIndex, HnswSpec, build_hnsw
from firth_service.index_store import load_hnsw, remove_stale_temporaries, save_hnsw, try_build_lock
from firth_service.settings import Settings
from firth_service.unit_store import unit_vectors
from firth_service.verified import is_verified, record_verified

log = logging.getLogger("firth.registry")
HnswStatus = Literal["ready", "building", "disabled", "failed"]
DEFAULT_ALIAS = "default"
_POLL_SECONDS = 2.0  # how often a worker that is not building checks for the saved index
MODEL_FILES = (VECTORS_FILE, VOCAB_FILE, META_FILE)
FileStamp = tuple[int, int, int]  # (size, mtime_ns, inode): a file is "the same" while all three are


def file_stamp(result: os.stat_result) -> FileStamp:
    return (result.st_size, result.st_mtime_ns, result.st_ino)


def model_stamps(path: Path) -> dict[str, FileStamp | None]:
    """What a reload compares: each model file's stamp as the path names it now (None: missing)."""
    stamps: dict[str, FileStamp | None] = {}
    for name in MODEL_FILES:
        try:
            stamps[name] = file_stamp(os.stat(path / name))
        except OSError:
            stamps[name] = None
    return stamps


class MappedFileGuard:
    """The memory-mapped files of a model -- its vectors, the extra matrices meta.json lists (a
    fastText model's n-gram vectors, the output or label layer) and saved unit vectors -- each
    held open by descriptor, so the mapped inodes themselves can be checked before a request
    reads them. A file replaced by rename (a new inode: `firth train --overwrite`) leaves these
    untouched and the old version serves on; a file truncated or rewritten in place (same inode)
    changes its size or mtime, and `changed()` says so before any read could run past its end
    (SIGBUS) or mix old and new rows."""

    def __init__(self, path: Path) -> None:
        self.files: list[tuple[Path, int, FileStamp]] = []
        weakref.finalize(self, _close_all, self.files)
        self.add(path)

    def add(self, path: Path) -> None:
        """Hold `path` open (raises OSError when it cannot be opened or is not a regular file)."""
        # O_NONBLOCK: a FIFO in the file's place would block open() for ever (no effect on a file)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file", str(path))  # load_artifact names it
        self.files.append((path, fd, file_stamp(found)))

    def add_if_readable(self, path: Path) -> None:
        with contextlib.suppress(OSError):  # load_artifact names a missing or unreadable file
            self.add(path)

    def replaced(self) -> Path | None:
        """A held file whose path now names another inode (swapped while the model loaded)."""
        for path, _, stamp in self.files:
            try:
                if os.stat(path).st_ino != stamp[2]:
                    return path
            except OSError:
                return path
        return None

    def changed(self) -> str | None:
        """Why a mapped file can no longer be trusted, or None."""
        for path, fd, stamp in self.files:
            size, mtime_ns, _ = file_stamp(os.fstat(fd))
            if size < stamp[0]:
                return f"{path}: truncated in place ({stamp[0]} -> {size} bytes)"
            if (size, mtime_ns) != stamp[:2]:
                return f"{path}: changed in place while served"
        return None


def _close_all(files: list[tuple[Path, int, FileStamp]]) -> None:
    for _, fd, _ in files:
        os.close(fd)


@dataclass(frozen=True)
class LoadedModel:
    name: str
    path: Path
    meta: Mapping[str, Any]
    kv: KeyedVectors
    exact: ExactIndex | ExactSearch  # ExactSearch (numpy over the mapped unit file) for large models
    hnsw: HnswIndex | None
    hnsw_status: HnswStatus
    guard: MappedFileGuard | None = None
    stamps: Mapping[str, FileStamp | None] = dataclasses.field(default_factory=dict)
    load_error: str | None = None  # the last reload of this model failed; this version serves on
    unavailable: str | None = None  # its mapped file changed in place: refused until a good reload
    classifier: Classifier | None = None  # a model trained with --algorithm supervised: its label layer

    @property
    def sha256(self) -> str:
        """The model's identity: the digest of its vectors file (as Artifact.sha256)."""
        return str(self.meta["files"][VECTORS_FILE])

    def index_for(self, exact: bool, restrict_vocab: int | None) -> Indexer:
        """HNSW when it is ready and the query allows approximation, else exact."""
        return choose_indexer(self.exact, self.hnsw, exact, effective_restrict(restrict_vocab, len(self.kv)))

    @property
    def longest_word_bytes(self) -> int:
        """UTF-8 bytes of the model's longest word (a neighbour's size in an answer): measured once
        per vocabulary while the model loads, and kept by every version that shares it."""
        return self.kv.longest_word_bytes

    @property
    def index_kinds(self) -> list[str]:
        return ["exact"] + (["hnsw"] if self.hnsw is not None else [])


def load_model(path: Path, settings: Settings, *, verify_checksums: bool | None = None) -> LoadedModel:
    stamps = model_stamps(path)
    try:
        guard = MappedFileGuard(path / VECTORS_FILE)
    except OSError:
        guard = None  # load_artifact names the missing or unreadable file
    verify = settings.verify_checksums if verify_checksums is None else verify_checksums
    meta = read_meta(path)
    if guard is not None:  # the other matrices load_artifact maps: a fastText model's n-grams...
        for name in meta["files"]:
            if name.endswith(".npy") and name != VECTORS_FILE:
                guard.add_if_readable(path / name)
    index_dir = index_dir_for(path, str(meta["files"].get(VECTORS_FILE, "")), settings)
    # verified once, at the first start: later starts skip hashing unchanged files (a reload,
    # which passes verify_checksums=True, always verifies in full)
    trusted = verify and verify_checksums is None and is_verified(path, index_dir, meta)
    artifact: Artifact = load_artifact(path, verify_checksums=verify, trusted=trusted)
    if guard is not None:
        moved = guard.replaced()
        if moved is not None or guard.changed():
            raise ArtifactError(f"{moved or path / VECTORS_FILE}: changed while it was being loaded")
    if verify and not trusted:
        record_verified(path, index_dir, artifact.meta)
    # a large model's unit vectors: saved once, then memory-mapped and shared by every worker
    saved = unit_vectors(index_dir, artifact.vectors, artifact.sha256)
    unit, norms = saved if saved is not None else (None, None)
    if guard is not None and saved is not None:  # mapped from the index directory
        for mapped in saved:
            if isinstance(mapped, np.memmap) and mapped.filename:
                guard.add_if_readable(Path(mapped.filename))
    kv = KeyedVectors.from_artifact(artifact, unit=unit, norms=norms)
    _ = kv.spelling  # built here, in the loading thread, never on the event loop by a first typo
    _ = kv.longest_word_bytes  # likewise (25 ms for 400,000 words), for the response budget
    # faiss's flat index keeps a private copy of the unit matrix: fine for GloVe's 80 MB, not for
    # a mapped 2.4 GB one, which numpy searches in place
    exact: ExactIndex | ExactSearch = kv.exact_search if saved is not None else ExactIndex(kv.unit)
    hnsw: HnswIndex | None = None
    status: HnswStatus = "disabled"
    if settings.index == "hnsw":
        spec = HnswSpec(settings.hnsw_m, settings.hnsw_ef_construction)
        hnsw = load_hnsw(
            index_dir_for(path, artifact.sha256, settings), spec, artifact.sha256, settings.hnsw_ef_search
        )
        status = "ready" if hnsw is not None else ("building" if settings.build_hnsw else "disabled")
    return LoadedModel(
        artifact.name,
        path,
        MappingProxyType(artifact.meta),
        kv,
        exact,
        hnsw,
        status,
        guard=guard,
        stamps=MappingProxyType(stamps),
        classifier=Classifier.from_artifact(artifact, kv.key_to_index)
        if "classifier" in artifact.meta
        else None,
    )


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

    def find(self, name: str) -> LoadedModel:
        """The model by name or alias, without the in-place-change check (model info, readiness)."""
        models = self._models
        model = models.get(self.default_name if name == DEFAULT_ALIAS else name)
        if model is None:
            raise UnknownModel(name, [DEFAULT_ALIAS, *models])
        return model

    def get(self, name: str) -> LoadedModel:
        """The model to answer a query with, checked first: one whose mapped vectors file changed
        in place is marked unavailable (and logged) instead of read (ArtifactError: 503)."""
        model = self.check(self.find(name))
        if model.unavailable is not None:
            raise ArtifactError(f"model {model.name!r} is unavailable: {model.unavailable}")
        return model

    def check(self, model: LoadedModel) -> LoadedModel:
        """An fstat of the mapped file (a few microseconds); marks the model unavailable once."""
        if model.unavailable is not None or model.guard is None:
            return model
        reason = model.guard.changed()
        if reason is None:
            return model
        log.error("model %s marked unavailable: %s (reload it with a good version)", model.name, reason)
        self.update_if_same(model, lambda current: dataclasses.replace(current, unavailable=reason))
        return dataclasses.replace(model, unavailable=reason)

    def all(self) -> list[LoadedModel]:
        return list(self._models.values())

    def update(self, name: str, change: Callable[[LoadedModel], LoadedModel]) -> None:
        """Swap in `change(current model)`; reading and writing under one lock, so concurrent
        updates (an index build finishing while a reload lands) are never lost."""
        with self._swap_lock:
            model = change(self._models[name])
            self._models = MappingProxyType({**self._models, name: model})

    def update_if_same(self, version: LoadedModel, change: Callable[[LoadedModel], LoadedModel]) -> None:
        """As update, only while `version` (the same loaded vectors) is still the one served: an
        index built for a version that a reload replaced or removed is dropped."""
        with self._swap_lock:
            current = self._models.get(version.name)
            if current is None or current.kv is not version.kv:
                return
            self._models = MappingProxyType({**self._models, version.name: change(current)})

    def replace_all(self, change: Callable[[Mapping[str, LoadedModel]], Mapping[str, LoadedModel]]) -> None:
        """Swap in a whole new name -> model mapping computed from the current one (a reload)."""
        with self._swap_lock:
            self._models = MappingProxyType(dict(change(self._models)))


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
    return [start_hnsw_build(registry, m, settings) for m in registry.all() if m.hnsw_status == "building"]


def start_hnsw_build(registry: ModelRegistry, model: LoadedModel, settings: Settings) -> threading.Thread:
    thread = threading.Thread(
        target=_build_and_swap, args=(registry, model, settings), name=f"hnsw-{model.name}", daemon=True
    )
    thread.start()
    return thread


def _build_and_swap(registry: ModelRegistry, model: LoadedModel, settings: Settings) -> None:
    try:
        index = obtain_hnsw(model, settings)
    except Exception:
        log.exception("HNSW index for %s failed; serving exact answers", model.name)
        registry.update_if_same(model, lambda current: dataclasses.replace(current, hnsw_status="failed"))
        return
    registry.update_if_same(
        model, lambda current: dataclasses.replace(current, hnsw=index, hnsw_status="ready")
    )
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
