"""Built HNSW indexes on disk: saved beside the artifact with a sidecar (checksum, parameters,
the vectors it was built from), loaded only when all of it matches, written under temporary names
and renamed, and built by one process at a time (an flock) while the others wait for the file."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from pathlib import Path
from typing import IO

from firth_core.artifact import sha256_file
from firth_service.index import HnswIndex, HnswSpec, faiss

log = logging.getLogger("firth.index")


def hnsw_files(index_dir: Path, spec: HnswSpec) -> tuple[Path, Path]:
    """The index file and its sidecar (checksum, parameters, the vectors it was built from)."""
    return index_dir / f"{spec.stem}.faiss", index_dir / f"{spec.stem}.json"


def load_hnsw(index_dir: Path, spec: HnswSpec, vectors_sha256: str, ef_search: int) -> HnswIndex | None:
    """A saved HNSW index that matches these vectors and parameters, or None."""
    path, sidecar = hnsw_files(index_dir, spec)
    if not (path.is_file() and sidecar.is_file()):
        return None
    try:
        info = json.loads(sidecar.read_text())
        if info.get("vectors_sha256") != vectors_sha256 or info.get("m") != spec.m:
            log.warning("saved index %s was built for other vectors or parameters; rebuilding", path)
            return None
        if sha256_file(path) != info.get("sha256"):
            log.warning("saved index %s does not match its checksum; rebuilding", path)
            return None
        return HnswIndex.read(path, ef_search)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("saved index %s unreadable (%s); rebuilding", path, exc.__class__.__name__)
        return None


def save_hnsw(index: HnswIndex, index_dir: Path, spec: HnswSpec, vectors_sha256: str) -> None:
    """Write index and sidecar under temporary names, then rename into place (sidecar last)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path, sidecar = hnsw_files(index_dir, spec)
    suffix = f".tmp-{uuid.uuid4().hex[:8]}"
    tmp_index, tmp_sidecar = Path(f"{path}{suffix}"), Path(f"{sidecar}{suffix}")
    try:
        index.write(tmp_index)
        info = {
            "kind": "hnsw",
            "m": spec.m,
            "ef_construction": spec.ef_construction,
            "vectors_sha256": vectors_sha256,
            "sha256": sha256_file(tmp_index),
            "faiss_version": faiss.__version__,
        }
        tmp_sidecar.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp_index, path)
        os.replace(tmp_sidecar, sidecar)
    finally:
        tmp_index.unlink(missing_ok=True)
        tmp_sidecar.unlink(missing_ok=True)


def remove_stale_temporaries(index_dir: Path, spec: HnswSpec) -> int:
    """Delete the half-written files a killed build left behind. Call it holding the build lock:
    only the lock holder writes temporaries, so any that exist belong to a dead process."""
    removed = 0
    for target in hnsw_files(index_dir, spec):
        for stale in index_dir.glob(f"{target.name}.tmp-*"):
            try:
                stale.unlink(missing_ok=True)
            except OSError as exc:  # leftovers must never stop the build itself
                log.warning("cannot remove %s (%s)", stale, exc.__class__.__name__)
                continue
            removed += 1
    return removed


def try_build_lock(index_dir: Path, spec: HnswSpec) -> IO[str] | None:
    """An exclusive lock on building this index, or None if another process holds it.
    Closing the returned handle releases the lock (the OS also releases it if we die)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / f"{spec.stem}.lock", "w")  # noqa: SIM115 - returned to the caller
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
