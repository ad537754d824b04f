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
        self, queries: np.ndarray, k: int, restrict: int | None = None, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, restrict or self.size, self.size)
        if restrict is not None and restrict < self.size:
            params = faiss.SearchParameters(sel=faiss.IDSelectorRange(0, restrict))
            return self._index.search(queries, k, params=params)
        return self._index.search(queries, k)


# efSearch by a query's frequency rank (firth_core.query.Query.rank): (first rank, multiple of the
# configured efSearch). An HNSW graph finds the neighbourhoods of rare words less well: on GloVe 6B
# 50d (M=32, efConstruction=100) recall@10 at efSearch 64 is 0.999 for the 10,000 most frequent
# words but 0.975 for ranks 100,000-400,000, which need efSearch 256-384 for 0.996-0.998. Most
# traffic asks about frequent words, so those keep the cheap search (README, Performance).
EF_SEARCH_BY_RANK: tuple[tuple[int, int], ...] = ((0, 1), (30_000, 3), (100_000, 6))


class HnswIndex:
    kind = "hnsw"
    prefix_search = False  # a graph walk cannot be limited to a vocabulary prefix

    def __init__(
        self, index: Any, ef_search: int, by_rank: tuple[tuple[int, int], ...] = EF_SEARCH_BY_RANK
    ) -> None:
        self._index = index
        self.ef_search = ef_search
        self.by_rank = by_rank
        self.size = index.ntotal
        self._params: dict[int, Any] = {}  # faiss search parameters by efSearch, made once

    def tuned(self, ef_search: int, by_rank: tuple[tuple[int, int], ...] = EF_SEARCH_BY_RANK) -> HnswIndex:
        """The same graph searched with other settings (`by_rank=()`: one efSearch for every query)."""
        return HnswIndex(self._index, ef_search, by_rank)

    def ef_for(self, k: int, ranks: np.ndarray | None) -> np.ndarray:
        """efSearch for each query: at least k (HNSW returns no more than efSearch results), times
        the multiple for the query's rank; no ranks = the rarest (the most careful search)."""
        base = max(self.ef_search, k)
        if not self.by_rank:
            return np.array([base])
        firsts = np.array([first for first, _ in self.by_rank])
        multiples = np.array([multiple for _, multiple in self.by_rank])
        if ranks is None:
            return np.array([base * int(multiples[-1])])
        return base * multiples[np.searchsorted(firsts, ranks, side="right") - 1]

    def search(
        self, queries: np.ndarray, k: int, restrict: int | None = None, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if restrict is not None and restrict < self.size:
            raise ValueError("HNSW does not search a vocabulary prefix; use the exact index")
        k = min(k, self.size)
        efs = self.ef_for(k, ranks)
        if len(set(efs.tolist())) == 1:  # one faiss call for the batch (always so for one query)
            return self._search(queries, k, int(efs[0]))
        scores = np.full((queries.shape[0], k), -np.inf, dtype=np.float32)
        ids = np.full((queries.shape[0], k), -1, dtype=np.int64)
        for ef in np.unique(efs):
            members = np.flatnonzero(efs == ef)
            scores[members], ids[members] = self._search(queries[members], k, int(ef))
        return scores, ids

    def _search(self, queries: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        params = self._params.get(ef)
        if params is None:
            params = self._params.setdefault(ef, faiss.SearchParametersHNSW(efSearch=ef))
        return self._index.search(queries, k, params=params)

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
