"""Fixtures of the service tests: an HNSW index over the random test matrix (test_index.py, test_engine.py)."""

from __future__ import annotations

import pytest

from firth_core.keyed_vectors import KeyedVectors
from firth_service.index import HnswIndex, HnswSpec, build_hnsw
from tests.conftest import random_matrix

WORDS, VECTORS = random_matrix()
UNIT = KeyedVectors(WORDS, VECTORS).unit
SPEC = HnswSpec(m=16, ef_construction=80)


@pytest.fixture(scope="session")
def hnsw() -> HnswIndex:
    return build_hnsw(UNIT, SPEC, ef_search=64, progress=False)
