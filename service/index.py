"""FAISS indexes over unit-normalised vectors: the service's two `firth_core.query.Indexer`s.

- `ExactIndex` (IndexFlatIP): inner product of unit vectors = cosine; always available, and the
  answer to `exact: true`, to `restrict_vocab` queries and to every query while HNSW builds.
- `HnswIndex` (IndexHNSWFlat, inner product): approximate and fast; built once (`build_hnsw`) and
  saved beside the artifact (service/index_store.py).

Searches return (scores, ids) with faiss's `-1` padding left in; the query rules drop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss as _faiss_swig
import numpy as np
from tqdm import tqdm

# faiss's SWIG bindings carry partial, partly wrong annotations (SearchParameters takes sel=).
faiss: Any = _faiss_swig
_BUILD_CHUNK = 10_000  # vectors added per step, so the build can show progress


class ExactIndex:
    kind = "exact"
    prefix_search = True

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
    prefix_search = False  # a graph walk cannot be limited to a vocabulary prefix

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

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def read(cls, path: Path, ef_search: int) -> HnswIndex:
        return cls(faiss.read_index(str(path)), ef_search)


@dataclass(frozen=True)
class HnswSpec:
    """The build-time parameters of an HNSW graph (efSearch is a per-query knob, not here)."""

    m: int
    ef_construction: int

    @property
    def stem(self) -> str:
        return f"hnsw-m{self.m}-efc{self.ef_construction}"


def build_hnsw(unit: np.ndarray, spec: HnswSpec, ef_search: int, progress: bool = True) -> HnswIndex:
    index = faiss.IndexHNSWFlat(unit.shape[1], spec.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = spec.ef_construction
    with tqdm(total=unit.shape[0], desc="HNSW build", unit="vec", disable=not progress, mininterval=2) as bar:
        for start in range(0, unit.shape[0], _BUILD_CHUNK):
            block = np.ascontiguousarray(unit[start : start + _BUILD_CHUNK], dtype=np.float32)
            index.add(block)
            bar.update(block.shape[0])
    return HnswIndex(index, ef_search)
