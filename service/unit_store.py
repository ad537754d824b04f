"""The unit-normalised vectors of a large model, saved once beside its indexes and memory-mapped.

Every query scores unit vectors (gensim's rules), so a model keeps an n x d float32 unit matrix
beside its raw vectors. For GloVe's 400,000 x 50 that is 80 MB, computed in a blink at each start;
for a fastText-sized 2,000,000 x 300 it is 2.4 GB, over a second to compute and, held in memory, a
private copy in every process. So a model of UNIT_FILE_MIN_BYTES or more gets its unit vectors
and norms written once, in blocks (never a second full copy in memory), to `unit-vectors.npy`
and `norms.npy` in its index directory, under temporary names renamed into place, with a sidecar
naming the vectors' sha256; every later start memory-maps them: the page cache holds one copy
that all workers share. A read-only index directory falls back to computing them in memory.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np

from firth_core.destination import INDEX_FILES
from firth_core.keyed_vectors import unit_rows

log = logging.getLogger("firth.unit_store")
UNIT_FILE_MIN_BYTES = 256 * 1024 * 1024  # smaller models compute their unit vectors in memory
UNIT_FILE, NORMS_FILE = INDEX_FILES  # names `firth ... --overwrite` knows as the service's own
SIDECAR = "unit-vectors.json"
_BLOCK_ROWS = 65_536


def _load(index_dir: Path, vectors: np.ndarray, sha256: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        info = json.loads((index_dir / SIDECAR).read_text())
        if info.get("vectors_sha256") != sha256:
            return None
        unit = np.load(index_dir / UNIT_FILE, mmap_mode="r", allow_pickle=False)
        norms = np.load(index_dir / NORMS_FILE, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if unit.shape != vectors.shape or unit.dtype != np.float32 or norms.shape != (vectors.shape[0],):
        return None
    return unit, norms


def _write(index_dir: Path, vectors: np.ndarray, sha256: str) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp-{uuid.uuid4().hex[:8]}"
    tmp_unit, tmp_norms = index_dir / (UNIT_FILE + suffix), index_dir / (NORMS_FILE + suffix)
    try:
        unit = np.lib.format.open_memmap(tmp_unit, mode="w+", dtype=np.float32, shape=vectors.shape)
        norms = np.empty(vectors.shape[0], dtype=np.float32)
        for start in range(0, vectors.shape[0], _BLOCK_ROWS):
            block_unit, block_norms = unit_rows(np.asarray(vectors[start : start + _BLOCK_ROWS]))
            unit[start : start + _BLOCK_ROWS] = block_unit
            norms[start : start + _BLOCK_ROWS] = block_norms
        unit.flush()
        del unit
        with open(tmp_norms, "wb") as handle:  # a handle: np.save would append ".npy" to the name
            np.save(handle, norms, allow_pickle=False)
        os.replace(tmp_unit, index_dir / UNIT_FILE)
        os.replace(tmp_norms, index_dir / NORMS_FILE)
        (index_dir / SIDECAR).write_text(json.dumps({"vectors_sha256": sha256}) + "\n")
    finally:
        tmp_unit.unlink(missing_ok=True)
        tmp_norms.unlink(missing_ok=True)


def unit_vectors(index_dir: Path, vectors: np.ndarray, sha256: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(unit vectors, norms) memory-mapped from the index directory, written there first if
    missing; None for a model small enough to compute them in memory, or a directory that
    cannot be written."""
    if vectors.nbytes < UNIT_FILE_MIN_BYTES:
        return None
    found = _load(index_dir, vectors, sha256)
    if found is not None:
        return found
    try:
        (index_dir / SIDECAR).unlink(missing_ok=True)  # the files are replaced: never pair old and new
        _write(index_dir, vectors, sha256)
    except OSError as exc:
        log.warning("cannot save unit vectors in %s (%s); computing them in memory", index_dir, exc)
        return None
    return _load(index_dir, vectors, sha256)
