"""Verified-once markers: a model's files are checked in full (sha256 of every file, every vector
scanned for NaN, Inf and zero rows) on their first load only.

After a full load of a large model (its files MARKER_MIN_BYTES or more; a smaller one hashes
in well under a second and is always checked in full) the service records each file's (size, mtime_ns, inode) and digest in
`verified.json` in the model's index directory. A later start whose files still have the same
stamps and digests loads them `trusted` (firth_core.artifact.load_artifact): for a 4.8 GB
fastText-sized model that is the difference between seconds of hashing and none. The stamps are
what a reload already compares (service/registry.py): a file replaced or rewritten gets a new
inode or mtime and is verified again. The trade-off: a bit flipped on disk under an unchanged
stamp is no longer noticed at start (a reload, `POST /admin/reload`, still verifies in full;
delete verified.json to force a full check).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("firth.verified")
MARKER = "verified.json"
MARKER_MIN_BYTES = 256 * 1024 * 1024


def _stamps(model_dir: Path, files: Mapping[str, str]) -> dict[str, list[Any]] | None:
    """Each file's [size, mtime_ns, inode, sha256 from meta.json], or None if one cannot be read."""
    out: dict[str, list[Any]] = {}
    for name, digest in files.items():
        try:
            st = os.stat(model_dir / name)
        except OSError:
            return None
        out[name] = [st.st_size, st.st_mtime_ns, st.st_ino, digest]
    return out


def is_verified(model_dir: Path, index_dir: Path, meta: Mapping[str, Any]) -> bool:
    """Whether every file meta.json names is, by stamp and digest, the one verified before."""
    try:
        recorded = json.loads((index_dir / MARKER).read_text())
    except (OSError, ValueError):
        return False
    current = _stamps(model_dir, meta["files"])
    return current is not None and _large(current) and recorded.get("files") == current


def _large(stamps: Mapping[str, list[Any]]) -> bool:
    return sum(int(stamp[0]) for stamp in stamps.values()) >= MARKER_MIN_BYTES


def record_verified(model_dir: Path, index_dir: Path, meta: Mapping[str, Any]) -> None:
    """Write the marker after a full load (best effort: a read-only directory just verifies again)."""
    current = _stamps(model_dir, meta["files"])
    if current is None or not _large(current):
        return
    tmp = index_dir / f".{MARKER}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"files": current}, indent=1) + "\n")
        os.replace(tmp, index_dir / MARKER)
    except OSError as exc:
        log.info("cannot record %s as verified in %s (%s)", model_dir, index_dir, exc.__class__.__name__)
        tmp.unlink(missing_ok=True)
