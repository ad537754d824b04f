"""Reloading models in a running worker: SIGHUP or `POST /admin/reload` re-read the models directory.

New model directories are loaded and added, removed ones dropped, and a model whose files changed
(size, mtime or inode of vectors.npy, vocab.txt or meta.json) is loaded again, checksums verified,
while the old version keeps answering; the new object is swapped in whole (service/registry.py), so
a request holding the old one finishes on a consistent model. A version that fails to load leaves
the old one serving, with the reason in its `load_error`. Reloads run one at a time, never on the
event loop.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from firth_core.errors import FirthError
from firth_service.registry import LoadedModel, ModelRegistry, load_model, model_stamps, start_hnsw_build
from firth_service.settings import Settings

log = logging.getLogger("firth.reload")
_reload_lock = threading.Lock()


@dataclass
class ReloadReport:
    """What one reload in one worker did. `failed` maps a model (or a new directory) to its error."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reloaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


def _present_paths(settings: Settings, current: list[LoadedModel]) -> list[Path]:
    """The model directories a reload considers: what start-up would serve, plus every served
    model whose directory still exists (a directory that lost its meta.json is a broken version,
    not a removed model)."""
    paths = settings.model_paths()
    known = {p.resolve() for p in paths}
    for model in current:
        if model.path.is_dir() and model.path.resolve() not in known:
            paths.append(model.path)
    return paths


def _load(path: Path, settings: Settings) -> LoadedModel | str:
    try:
        return load_model(path, settings, verify_checksums=True)  # a reload verifies completely
    except FirthError as exc:
        return str(exc)
    except (OSError, ValueError, MemoryError) as exc:  # a file vanishing mid-read, an odd header
        return f"{path}: {exc.__class__.__name__}: {exc}"


def reload_models(registry: ModelRegistry, settings: Settings, *, build_indexes: bool = True) -> ReloadReport:
    """Re-read the models directory once and swap the result in. Safe from any thread.
    `build_indexes=False` (the supervisor, which forks later) starts no HNSW build thread."""
    with _reload_lock:
        return _reload(registry, settings, build_indexes)


def _reload(registry: ModelRegistry, settings: Settings, build_indexes: bool) -> ReloadReport:
    report = ReloadReport()
    current = registry.all()
    by_path = {m.path.resolve(): m for m in current}
    present = {p.resolve(): p for p in _present_paths(settings, current)}
    loaded: dict[str, LoadedModel] = {}  # name -> new version
    errors: dict[str, str] = {}  # name of a served model -> why its new version failed
    for key, path in present.items():
        old = by_path.get(key)
        if old is not None and old.unavailable is None and dict(old.stamps) == model_stamps(path):
            report.unchanged.append(old.name)
            continue
        result = _load(path, settings)
        if isinstance(result, str):
            if old is not None:
                errors[old.name] = result
            else:
                report.failed[str(path)] = result
            continue
        if old is not None and result.name != old.name:
            errors[old.name] = f"{path}: meta.json renamed the model to {result.name!r}; restart to rename"
            continue
        taken = {m.name for m in current if m.path.resolve() != key} | set(loaded)
        if result.name in taken:
            message = f"{path}: another model is already called {result.name!r}"
            if old is not None:
                errors[old.name] = message
            else:
                report.failed[str(path)] = message
            continue
        loaded[result.name] = result
        (report.reloaded if old is not None else report.added).append(result.name)
    gone = [m.name for k, m in by_path.items() if k not in present]
    if registry.default_name in gone:
        gone.remove(registry.default_name)
        errors[registry.default_name] = "the default model's directory is gone; it serves on until a restart"
    report.removed = gone
    report.failed.update(errors)

    def change(models: Mapping[str, LoadedModel]) -> dict[str, LoadedModel]:
        updated = {name: m for name, m in models.items() if name not in gone}
        for name, message in errors.items():
            if name in updated:
                updated[name] = dataclasses.replace(updated[name], load_error=message)
        updated.update(loaded)
        return updated

    registry.replace_all(change)
    for name in loaded:
        if build_indexes and loaded[name].hnsw_status == "building":
            start_hnsw_build(registry, loaded[name], settings)  # exact answers until it is ready
    _log(report)
    return report


def _log(report: ReloadReport) -> None:
    log.info(
        "reload: added %s, removed %s, reloaded %s, unchanged %d, failed %d",
        report.added,
        report.removed,
        report.reloaded,
        len(report.unchanged),
        len(report.failed),
    )
    for name, error in report.failed.items():
        log.error("reload of %s failed (the served version, if any, stays): %s", name, error)


def install_sighup(registry: ModelRegistry, settings: Settings) -> None:
    """SIGHUP reloads this worker's models in a background thread (the handler only starts it)."""

    def on_sighup(signum: int, frame: FrameType | None) -> None:
        threading.Thread(
            target=_reload_logged, args=(registry, settings), name="firth-reload", daemon=True
        ).start()

    signal.signal(signal.SIGHUP, on_sighup)


def _reload_logged(registry: ModelRegistry, settings: Settings) -> None:
    try:
        reload_models(registry, settings)
    except Exception:
        log.exception("reload failed; the models served before it stay")


def ask_siblings_to_reload() -> bool:
    """In a supervised worker, SIGHUP the supervisor, which reloads its own models (for workers
    forked later) and forwards it to every worker (this one too: its second reload finds nothing
    changed). False when this process has no supervisor."""
    if os.environ.get(SUPERVISED_ENV) != str(os.getppid()):
        return False
    os.kill(os.getppid(), signal.SIGHUP)
    return True


SUPERVISED_ENV = "FIRTH_SUPERVISOR_PID"  # set by the supervisor before it forks its workers
