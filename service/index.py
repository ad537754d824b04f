"""FAISS indexes over unit-normalised vectors, behind one small interface (gensim's `indexer=`).

- `ExactIndex` (IndexFlatIP): inner product of unit vectors = cosine; always available, and the
  answer to `exact: true` and to `restrict_vocab` queries.
- `HnswIndex` (IndexHNSWFlat, inner product): approximate and fast; built once, saved beside the
  artifact with its checksum, and loaded in seconds on later starts.

Searches return (scores, ids) with faiss's `-1` padding left in; callers drop it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import faiss as _faiss_swig
import numpy as np
from tqdm import tqdm

from firth_core.artifact import sha256_file

log = logging.getLogger("firth.index")
# faiss's SWIG bindings carry partial, partly wrong annotations (SearchParameters takes sel=).
faiss: Any = _faiss_swig
_BUILD_CHUNK = 10_000  # vectors added per step, so the build can show progress


class VectorIndex(Protocol):
    kind: str

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows by inner product for each query row; `restrict` limits to the first N rows."""
        ...


class ExactIndex:
    kind = "exact"

    def __init__(self, unit: np.ndarray) -> None:
        # faiss keeps its own copy of the unit matrix (n x d float32 beside KeyedVectors.unit)
        self._index = faiss.IndexFlatIP(unit.shape[1])
        self._index.add(np.ascontiguousarray(unit, dtype=np.float32))
        self.size = unit.shape[0]

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, restrict or self.size, self.size)
        if restrict is not None and restrict < self.size:
            params = faiss.SearchParameters(sel=faiss.IDSelectorRange(0, restrict))
            return self._index.search(queries, k, params=params)
        return self._index.search(queries, k)


class HnswIndex:
    kind = "hnsw"

    def __init__(self, index: Any, ef_search: int) -> None:
        self._index = index
        self._params = faiss.SearchParametersHNSW(efSearch=ef_search)
        self.ef_search = ef_search
        self.size = index.ntotal

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if restrict is not None and restrict < self.size:
            raise ValueError("HNSW does not search a vocabulary prefix; use the exact index")
        # efSearch must be at least k for HNSW to return k results
        params = self._params if k <= self.ef_search else faiss.SearchParametersHNSW(efSearch=k)
        return self._index.search(queries, min(k, self.size), params=params)


@dataclass(frozen=True)
class HnswSpec:
    m: int
    ef_construction: int

    @property
    def stem(self) -> str:
        return f"hnsw-m{self.m}-efc{self.ef_construction}"


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
        index = faiss.read_index(str(path))
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("saved index %s unreadable (%s); rebuilding", path, exc.__class__.__name__)
        return None
    return HnswIndex(index, ef_search)


def build_hnsw(unit: np.ndarray, spec: HnswSpec, ef_search: int, progress: bool = True) -> HnswIndex:
    index = faiss.IndexHNSWFlat(unit.shape[1], spec.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = spec.ef_construction
    with tqdm(total=unit.shape[0], desc="HNSW build", unit="vec", disable=not progress, mininterval=2) as bar:
        for start in range(0, unit.shape[0], _BUILD_CHUNK):
            block = np.ascontiguousarray(unit[start : start + _BUILD_CHUNK], dtype=np.float32)
            index.add(block)
            bar.update(block.shape[0])
    return HnswIndex(index, ef_search)


def save_hnsw(index: HnswIndex, index_dir: Path, spec: HnswSpec, vectors_sha256: str) -> None:
    """Write index and sidecar under temporary names, then rename into place (sidecar last)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path, sidecar = hnsw_files(index_dir, spec)
    suffix = f".tmp-{uuid.uuid4().hex[:8]}"
    tmp_index, tmp_sidecar = Path(f"{path}{suffix}"), Path(f"{sidecar}{suffix}")
    try:
        faiss.write_index(index._index, str(tmp_index))
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
