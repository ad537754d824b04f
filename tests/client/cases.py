"""One call of every client method, each checked against firth_core's KeyedVectors on the same
matrix (built here from the test vectors, not taken from the service): the exact oracle.

Shared by the sync and async tests and by the coverage test, which checks that these calls
reach every operation of the OpenAPI spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from firth_client import (
    AnalogyResult,
    Classification,
    EmbeddingMatrix,
    Embeddings,
    Encoding,
    Evaluation,
    Health,
    ModelInfo,
    Neighbor,
    NeighborQuery,
    ProblemType,
    Projection,
    Readiness,
    ReloadResult,
    Similarity,
    Vectors,
    VocabularyPage,
)
from firth_core.evaluation import evaluate_lines
from firth_core.keyed_vectors import KeyedVectors
from firth_service.errors import problem_catalogue
from tests.conftest import (
    TINY_CLASSIFIER_LABELS,
    TINY_CLASSIFIER_VECTORS,
    random_matrix,
    tiny_classifier_probabilities,
    tiny_matrix,
    tiny_words,
)

TINY = KeyedVectors(tiny_words(), tiny_matrix(), standardize="lower")
RANDOM = KeyedVectors(*random_matrix())
SIM_TOLERANCE = 1e-5  # FAISS and numpy sum float32 products in different orders


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    args: tuple[Any, ...]
    check: Callable[[Any], None]
    kwargs: dict[str, Any] = field(default_factory=dict)
    model: str = "tiny"


def same_neighbors(got: Sequence[Neighbor], expected: Sequence[tuple[str, float]]) -> None:
    assert got, "no neighbours returned"
    assert all(isinstance(n, Neighbor) for n in got)
    assert [n.word for n in got] == [w for w, _ in expected]
    assert [n.similarity for n in got] == pytest.approx([s for _, s in expected], abs=SIM_TOLERANCE)


def _health(got: Health) -> None:
    assert got == Health("ok")


def _ready(got: Readiness) -> None:
    assert got.status == "ready" and set(got.models) == {"tiny", "random", "labels"}


def _problems(got: list[ProblemType]) -> None:
    assert got == [ProblemType(p["type"], p["status"], p["title"]) for p in problem_catalogue()]


def _models(got: list[ModelInfo]) -> None:
    assert [(m.name, m.default, m.dim, m.vocab_size) for m in got] == [
        ("tiny", True, TINY.dim, len(TINY)),
        ("random", False, RANDOM.dim, len(RANDOM)),
        ("labels", False, 3, len(TINY_CLASSIFIER_VECTORS)),
    ]
    assert all(len(m.sha256) == 64 and m.index_kinds == ("exact",) for m in got)


def _reload(got: ReloadResult) -> None:
    assert (got.added, got.removed, got.reloaded, dict(got.failed)) == ((), (), (), {})
    assert (
        set(got.unchanged) == {"tiny", "random", "labels"}
        and got.others_reloading is False
        and got.worker > 0
    )


def _model_info_default(got: ModelInfo) -> None:
    assert (got.name, got.default, got.standardize, got.dim) == ("tiny", True, "lower", TINY.dim)


def _model_info_random(got: ModelInfo) -> None:
    assert (got.name, got.default, got.vocab_size) == ("random", False, len(RANDOM))


def _vector_king(got: np.ndarray) -> None:
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, TINY.vector("king"))


def _vector_random(got: np.ndarray) -> None:
    np.testing.assert_array_equal(got, RANDOM.vector("w0042"))


def _vectors_null(got: Vectors) -> None:
    assert got.inputs == ("cat", "zebra", "Dog") and got.words == ("cat", None, "dog")
    assert got.missing == ("zebra",) and got.dim == TINY.dim and got.array.shape == (3, TINY.dim)
    np.testing.assert_array_equal(got.array[0], TINY.vector("cat"))
    np.testing.assert_array_equal(got["Dog"], TINY.vector("dog"))
    assert np.isnan(got.array[1]).all()
    assert set(got.as_dict()) == {"cat", "Dog"}


def _vectors_skip(got: Vectors) -> None:
    assert got.words == ("w0001", "w0002") and got.missing == ("nope",)
    np.testing.assert_array_equal(got.array, np.stack([RANDOM.vector("w0001"), RANDOM.vector("w0002")]))


def _similarity(got: float) -> None:
    assert got == pytest.approx(TINY.similarity("cat", "dog"), abs=SIM_TOLERANCE)


PAIRS = [("w0001", "w0002"), ("w0003", "w0004"), ("w0005", "w0005")]


def _similarities(got: list[Similarity]) -> None:
    assert [(s.a, s.b) for s in got] == PAIRS
    assert [s.similarity for s in got] == pytest.approx(
        [RANDOM.similarity(a, b) for a, b in PAIRS], abs=SIM_TOLERANCE
    )


MATRIX_A, MATRIX_B = ["w0010", "w0011"], ["w0020", "w0021", "w0022"]


def _similarity_matrix(got: np.ndarray) -> None:
    expected = [[RANDOM.similarity(a, b) for b in MATRIX_B] for a in MATRIX_A]
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, expected, atol=SIM_TOLERANCE)


def _n_similarity(got: float) -> None:
    expected = RANDOM.n_similarity(["w0001", "w0002"], ["w0003", "w0004", "w0005"])
    assert got == pytest.approx(expected, abs=SIM_TOLERANCE)


QUERY_VECTOR = (RANDOM.vector("w0007") + RANDOM.vector("w0008")).astype(np.float32)


def _similar_by_word(got: list[Neighbor]) -> None:
    same_neighbors(got, RANDOM.most_similar(["w0001"], topn=5))


def _most_similar(got: list[Neighbor]) -> None:
    same_neighbors(got, RANDOM.most_similar(["w0001", "w0002"], ["w0003"], topn=10))


def _most_similar_weighted(got: list[Neighbor]) -> None:
    expected = RANDOM.most_similar(
        ["w0001", QUERY_VECTOR], ["w0003"], topn=7, positive_weights=[2.0, 1.0], negative_weights=[-1.0]
    )
    same_neighbors(got, expected)


def _most_similar_restricted(got: list[Neighbor]) -> None:
    same_neighbors(got, RANDOM.most_similar(["w0001"], topn=5, restrict_vocab=300))
    assert all(RANDOM.key_to_index[n.word] < 300 for n in got)


def _most_similar_cosmul(got: list[Neighbor]) -> None:
    same_neighbors(got, RANDOM.most_similar_cosmul(["w0001", "w0002"], ["w0003"], topn=10))


def _similar_by_vector(got: list[Neighbor]) -> None:
    same_neighbors(got, RANDOM.similar_by_vector(QUERY_VECTOR, topn=6))


BATCH = [
    NeighborQuery(positive="w0001", topn=3),
    NeighborQuery(positive=["w0002", "w0004"], negative=["w0006"], topn=4, method="3cosmul"),
]


def _most_similar_batch(got: list[list[Neighbor]]) -> None:
    assert len(got) == 2
    same_neighbors(got[0], RANDOM.most_similar(["w0001"], topn=3))
    same_neighbors(got[1], RANDOM.most_similar_cosmul(["w0002", "w0004"], ["w0006"], topn=4))


def _analogy(got: AnalogyResult) -> None:
    expected = TINY.most_similar(["king", "woman"], ["man"], topn=3)
    assert (got.a, got.b, got.c, got.index) == ("man", "king", "woman", "exact")
    assert got.answer == expected[0][0] == "queen"
    same_neighbors(got.neighbors, expected)


QUESTIONS = [("man", "king", "woman"), ("woman", "princess", "man"), ("frog", "toad", "cat")]


def _analogies(got: list[AnalogyResult]) -> None:
    assert [(r.a, r.b, r.c) for r in got] == QUESTIONS
    for result, (a, b, c) in zip(got, QUESTIONS, strict=True):
        same_neighbors(result.neighbors, TINY.most_similar_cosmul([b, c], [a], topn=2))
        assert result.answer == result.neighbors[0].word


ODD_ONE_OUT = ["cat", "dog", "car", "snake"]


def _doesnt_match(got: str) -> None:
    assert got == TINY.doesnt_match(ODD_ONE_OUT)


def _rank_by_centrality(got: list[Neighbor]) -> None:
    same_neighbors(got, [(w, s) for s, w in TINY.rank_by_centrality(ODD_ONE_OUT)])


PAIR_LINES = [f"w{i:04d}\tw{i + 1:04d}\t{(i * 7) % 10}.5" for i in range(40)] + ["w0001\tnope\t3"]
ANALOGY_LINES = [
    ": family",
    "man king woman queen",
    "man prince woman princess",
    ": nature",
    "frog toad cat dog",
]


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in result.items() if k not in ("seconds", "kind", "benchmark")}
    return json.loads(json.dumps(kept))  # tuples become lists, as on the wire


def _evaluation_check(kind: str, kv: KeyedVectors, lines: list[str]) -> Callable[[Evaluation], None]:
    def check(got: Evaluation) -> None:
        assert (got.benchmark, got.kind) == ("items", kind)
        expected = _comparable(evaluate_lines(kv, kind, lines))  # type: ignore[arg-type]
        if kind == "pairs":
            assert _comparable(dict(got.result)) == pytest.approx(expected)
        else:  # counts and per-section scores (nested): exact
            assert _comparable(dict(got.result)) == expected

    return check


PROJECTED = ["king", "queen", "man", "woman", "cat", "car"]


def _project_words(got: Projection) -> None:
    assert got.words == tuple(PROJECTED) and got.coordinates.shape == (len(PROJECTED), 2)
    unit = TINY.unit[[TINY.key_to_index[w] for w in PROJECTED]].astype(np.float64)
    u, s, _ = np.linalg.svd(unit - unit.mean(axis=0), full_matrices=False)
    # PCA is defined up to the sign of each axis
    np.testing.assert_allclose(np.abs(got.coordinates), np.abs(u[:, :2] * s[:2]), atol=1e-5)
    assert got.explained_variance is not None
    assert got.explained_variance == pytest.approx((s[:2] ** 2 / np.sum(s**2)).tolist(), abs=1e-6)


def _project_neighbourhood(got: Projection) -> None:
    expected = TINY.most_similar(["frog"], topn=3)
    same_neighbors(got.neighbors, expected)
    assert got.words == ("frog", *(w for w, _ in expected))
    assert [p.role for p in got.points] == ["query", "neighbor", "neighbor", "neighbor"]
    assert got.coordinates.shape == (4, 3)


TEXTS = ["The King and the QUEEN", "zebra unicorn", "frog toad frog"]


def _unit_mean(kv: KeyedVectors, words: list[str]) -> np.ndarray:
    return np.mean([kv.unit[kv.key_to_index[w]] for w in words], axis=0)


def _embed(got: Embeddings) -> None:
    assert got.model == "tiny" and got.array.shape == (3, TINY.dim) and got.array.dtype == np.float32
    assert got.tokens[0] == ("the", "king", "and", "the", "queen") and got.oov[0] == ("and",)
    np.testing.assert_allclose(got.array[0], _unit_mean(TINY, ["the", "king", "the", "queen"]), atol=1e-6)
    assert np.isnan(got.array[1]).all() and got.oov[1] == ("zebra", "unicorn")
    np.testing.assert_allclose(got.array[2], _unit_mean(TINY, ["frog", "toad", "frog"]), atol=1e-6)


def _embed_json_unit(got: Embeddings) -> None:
    mean = _unit_mean(TINY, ["king", "queen"])
    np.testing.assert_allclose(got.array[0], mean / np.linalg.norm(mean), atol=1e-6)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _text_similarities(got: list[float | None]) -> None:
    expected = _cosine(_unit_mean(TINY, ["king", "queen"]), _unit_mean(TINY, ["cat", "dog"]))
    assert got[0] == pytest.approx(expected, abs=1e-6) and got[1] is None


def _text_similarity_matrix(got: np.ndarray) -> None:
    assert got.shape == (1, 2)
    assert got[0, 0] == pytest.approx(_cosine(TINY.unit[7], _unit_mean(TINY, ["toad", "snake"])), abs=1e-6)
    assert np.isnan(got[0, 1])


def _similar_by_text(got: list[Neighbor]) -> None:
    same_neighbors(got, TINY.most_similar(positive=["king", "woman"], topn=3))


def _metrics(got: str) -> None:
    assert "# TYPE firth_http_requests" in got


def _id(word: str) -> int:
    return TINY.index(word) + 2  # encode ids: 0 pad, 1 [UNK], then the rows


def _encode_int(got: Encoding) -> None:
    assert got.output_mode == "int" and got.vocabulary_size == len(TINY) + 2
    assert isinstance(got.ids, np.ndarray) and got.ids.dtype == np.int64
    np.testing.assert_array_equal(got.ids, [[_id("the"), _id("king"), 1], [_id("frog"), 0, 0]])
    assert got.tokens == (("the", "king", "qwzx"), ("frog",)) and got.oov == (("qwzx",), ())


def _encode_count(got: Encoding) -> None:
    assert isinstance(got.ids, np.ndarray) and got.ids.dtype == np.float32
    np.testing.assert_array_equal(got.ids, [[1, 2, 0, 0, 1]])  # [UNK], the, man, woman, king


def _encode_ragged(got: Encoding) -> None:
    assert isinstance(got.ids, list)
    assert [row.tolist() for row in got.ids] == [[_id("cat"), _id("dog")], [_id("car")]]


def _vocabulary(got: VocabularyPage) -> None:
    assert got.total == 2 and [(w.word, w.id, w.rank) for w in got.words] == [
        ("prince", _id("prince"), TINY.index("prince") + 1),
        ("princess", _id("princess"), TINY.index("princess") + 1),
    ]
    assert all(w.count is not None for w in got.words)  # the tiny model records counts


def _classify(got: list[Classification]) -> None:
    assert all(isinstance(c, Classification) for c in got)
    assert [c.tokens for c in got] == [("frog", "oak", "oak"), ("green", "qwzx")]
    assert [c.oov for c in got] == [(), ("qwzx",)]
    for c, words in zip(got, (["frog", "oak", "oak"], ["green"]), strict=True):
        probs = tiny_classifier_probabilities(words)
        order = np.argsort(-probs)[:2]
        assert [label for label, _ in c.labels] == [TINY_CLASSIFIER_LABELS[i] for i in order]
        assert [p for _, p in c.labels] == pytest.approx(probs[order].tolist(), abs=1e-6)
    assert got[0].label == "plant" and got[1].label == "colour"


def _embedding_matrix_npy(got: EmbeddingMatrix) -> None:
    assert got.matrix.dtype == np.float32 and got.matrix.shape == (4, 3)
    np.testing.assert_array_equal(got.matrix[2], TINY.vector("cat"))
    assert not got.matrix[[0, 1, 3]].any()
    assert got.missing == ("zebra",) and got.missing_count == 1


def _embedding_matrix_json(got: EmbeddingMatrix) -> None:
    assert got.words is not None and got.words[:2] == ("", "[UNK]") and got.matrix.shape == (5, 3)
    np.testing.assert_allclose(got.matrix[2:], TINY.unit[:3], rtol=1e-6)


CASES: list[Case] = [
    Case("health", "health", (), _health),
    Case("ready", "ready", (), _ready),
    Case("problems", "problems", (), _problems),
    Case("metrics", "metrics", (), _metrics),
    Case("embed", "embed", (TEXTS,), _embed, {"oov": "null"}),
    Case(
        "embed-json-unit",
        "embed",
        (["king queen"],),
        _embed_json_unit,
        {"encoding": "float", "post_normalize": True},
    ),
    Case(
        "text_similarities",
        "text_similarities",
        ([("king queen", "cat dog"), ("cat", "zebra")],),
        _text_similarities,
        {"oov": "null"},
    ),
    Case(
        "text_similarity_matrix",
        "text_similarity_matrix",
        (["frog"], ["toad snake", "zebra"]),
        _text_similarity_matrix,
        {"oov": "null"},
    ),
    Case("similar_by_text", "similar_by_text", ("King and WOMAN", 3), _similar_by_text),
    Case("models", "models", (), _models),
    Case("reload_models", "reload_models", (), _reload),
    Case("model_info", "model_info", (), _model_info_default),
    Case("model_info-named", "model_info", ("random",), _model_info_random),
    Case("vector-standardised", "vector", ("King",), _vector_king),
    Case("vector-random", "vector", ("w0042",), _vector_random, model="random"),
    Case("vectors-null", "vectors", (["cat", "zebra", "Dog"],), _vectors_null, {"oov": "null"}),
    Case("vectors-skip", "vectors", (["w0001", "nope", "w0002"], "skip"), _vectors_skip, model="random"),
    Case("similarity", "similarity", ("cat", "dog"), _similarity),
    Case("similarities", "similarities", (PAIRS,), _similarities, model="random"),
    Case("similarity_matrix", "similarity_matrix", (MATRIX_A, MATRIX_B), _similarity_matrix, model="random"),
    Case(
        "n_similarity",
        "n_similarity",
        (["w0001", "w0002"], ["w0003", "w0004", "w0005"]),
        _n_similarity,
        model="random",
    ),
    Case("similar_by_word", "similar_by_word", ("w0001", 5), _similar_by_word, model="random"),
    Case(
        "most_similar",
        "most_similar",
        (),
        _most_similar,
        {"positive": ["w0001", "w0002"], "negative": ["w0003"]},
        model="random",
    ),
    Case(
        "most_similar-weighted-vector",
        "most_similar",
        ([("w0001", 2.0), QUERY_VECTOR], "w0003", 7),
        _most_similar_weighted,
        model="random",
    ),
    Case(
        "most_similar-restricted",
        "most_similar",
        ("w0001",),
        _most_similar_restricted,
        {"topn": 5, "restrict_vocab": 300, "exact": True},
        model="random",
    ),
    Case(
        "most_similar_cosmul",
        "most_similar_cosmul",
        (["w0001", "w0002"], ["w0003"]),
        _most_similar_cosmul,
        model="random",
    ),
    Case("similar_by_vector", "similar_by_vector", (QUERY_VECTOR, 6), _similar_by_vector, model="random"),
    Case("most_similar_batch", "most_similar_batch", (BATCH,), _most_similar_batch, model="random"),
    Case("analogy", "analogy", ("man", "king", "woman", 3), _analogy),
    Case("analogies", "analogies", (QUESTIONS, 2), _analogies, {"method": "3cosmul"}),
    Case("doesnt_match", "doesnt_match", (ODD_ONE_OUT,), _doesnt_match),
    Case("rank_by_centrality", "rank_by_centrality", (ODD_ONE_OUT,), _rank_by_centrality),
    Case(
        "evaluate-pairs",
        "evaluate",
        (),
        _evaluation_check("pairs", RANDOM, PAIR_LINES),
        {"items": PAIR_LINES, "kind": "pairs"},
        model="random",
    ),
    Case(
        "evaluate-analogies",
        "evaluate",
        (),
        _evaluation_check("analogies", TINY, ANALOGY_LINES),
        {"items": ANALOGY_LINES, "kind": "analogies"},
    ),
    Case("project-words", "project", (PROJECTED,), _project_words),
    Case(
        "project-neighbourhood",
        "project",
        (),
        _project_neighbourhood,
        {"word": "frog", "k": 3, "dimensions": 3},
    ),
    Case("encode-int", "encode", (["The King qwzx", "frog"],), _encode_int),
    Case("encode-count", "encode", (["the king the qwzx"], "count"), _encode_count, {"max_tokens": 5}),
    Case("encode-ragged", "encode", (["cat dog", "car"],), _encode_ragged, {"ragged": True}),
    Case("vocabulary", "vocabulary", (), _vocabulary, {"prefix": "prin"}),
    Case("classify", "classify", (["Frog oak OAK", "green qwzx"],), _classify, {"k": 2}, model="labels"),
    Case("embedding_matrix-npy", "embedding_matrix", (["", "[UNK]", "Cat", "zebra"],), _embedding_matrix_npy),
    Case(
        "embedding_matrix-json",
        "embedding_matrix",
        (),
        _embedding_matrix_json,
        {"max_tokens": 5, "normalize": True, "format": "json"},
    ),
]
