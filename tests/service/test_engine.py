"""firth_service.engine: neighbour queries over a model's indexes, against gensim's answers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from firth_service import engine
from firth_service.registry import load_model
from firth_service.settings import Settings
from tests.service.conftest import WORDS


def test_engine_over_hnsw_never_returns_inputs_or_short_lists(random_model_dir: Path, hnsw) -> None:  # type: ignore[no-untyped-def]
    model = load_model(random_model_dir, Settings(index="exact", build_hnsw=False))
    model = dataclasses.replace(model, hnsw=hnsw, hnsw_status="ready")
    queries = [
        engine.NeighbourQuery(positive=[WORDS[i], WORDS[i + 1]], negative=[WORDS[i + 2]], k=25)
        for i in range(50)
    ]
    results = engine.neighbours(model, queries)
    for query, result in zip(queries, results, strict=True):
        words = [w for w, _ in result.neighbors]
        assert len(words) == 25 and result.index == "hnsw"
        assert not set(words) & (set(query.positive) | set(query.negative))
    exact = engine.neighbours(model, [dataclasses.replace(queries[0], exact=True)])[0]
    assert exact.index == "exact"
    oracle = model.kv.most_similar(queries[0].positive, queries[0].negative, topn=25)
    assert [w for w, _ in exact.neighbors] == [w for w, _ in oracle]
