"""Projection kernels (PCA against an SVD oracle, seeded t-SNE), the point gathering against gensim,
and POST /v1/models/{model}/project in-process (JSON, CSV, problem+json errors and limits)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import numpy as np
import pytest

from firth_core.errors import InvalidQuery
from firth_service.projection import MAX_POINTS, pca, project, tsne
from firth_service.registry import ModelRegistry
from firth_service.routes.project import gather_analogy, gather_neighbourhood
from firth_service.schemas import AnalogyQuestion

TINY = "/v1/models/tiny/project"
RANDOM = "/v1/models/random/project"


def svd_oracle(x: np.ndarray, d: int) -> np.ndarray:
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :d] * s[:d]


def assert_equal_up_to_sign(got: np.ndarray, want: np.ndarray) -> None:
    for axis in range(want.shape[1]):
        sign = 1.0 if np.dot(got[:, axis], want[:, axis]) >= 0 else -1.0
        np.testing.assert_allclose(got[:, axis], sign * want[:, axis], atol=1e-9)


def blobs(seed: int = 0, per: int = 30, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2, dim)) * 10
    labels = np.repeat([0, 1], per)
    return centres[labels] + rng.standard_normal((2 * per, dim)), labels


# -- PCA ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dimensions", [2, 3])
def test_pca_matches_the_svd_oracle_up_to_sign(dimensions: int) -> None:
    x = np.random.default_rng(1).standard_normal((40, 16))
    got = pca(x, dimensions)
    assert got.coords.shape == (40, dimensions)
    assert_equal_up_to_sign(got.coords, svd_oracle(x, dimensions))
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    assert got.explained_variance == pytest.approx(list((s**2 / np.sum(s**2))[:dimensions]))


def test_pca_signs_do_not_depend_on_row_order() -> None:
    x = np.random.default_rng(2).standard_normal((25, 8))
    order = np.random.default_rng(3).permutation(25)
    np.testing.assert_allclose(pca(x[order], 2).coords, pca(x, 2).coords[order], atol=1e-9)


def test_pca_with_fewer_points_than_axes_pads_with_zeros() -> None:
    one = pca(np.ones((1, 5)), 2)
    assert one.coords.tolist() == [[0.0, 0.0]]
    two = pca(np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]), 3)
    assert np.abs(two.coords[:, 0]) == pytest.approx([1.0, 1.0])
    assert np.allclose(two.coords[:, 1:], 0.0)
    assert two.explained_variance is not None and two.explained_variance[0] == pytest.approx(1.0)


# -- t-SNE --------------------------------------------------------------------------------


def test_tsne_is_deterministic_for_a_seed() -> None:
    x, _ = blobs()
    first, again = tsne(x, 2, seed=7), tsne(x, 2, seed=7)
    np.testing.assert_array_equal(first.coords, again.coords)
    assert not np.allclose(first.coords, tsne(x, 2, seed=8).coords)
    assert first.perplexity == pytest.approx((60 - 1) / 3)


@pytest.mark.parametrize("dimensions", [2, 3])
def test_tsne_keeps_separate_clusters_apart(dimensions: int) -> None:
    x, labels = blobs(seed=4)
    coords = tsne(x, dimensions, seed=0).coords
    assert coords.shape == (60, dimensions)
    distances = np.linalg.norm(coords[:, None, :] - coords[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    assert (labels[np.argmin(distances, axis=1)] == labels).all()


def test_tsne_rejects_too_few_points_and_too_high_perplexity() -> None:
    x, _ = blobs(per=5)
    with pytest.raises(InvalidQuery, match="at least 4 points"):
        tsne(x[:3], 2, seed=0)
    with pytest.raises(InvalidQuery, match=r"perplexity must be at most \(points - 1\) / 3 = 3"):
        tsne(x, 2, seed=0, perplexity=3.5)
    assert tsne(x, 2, seed=0, perplexity=3).perplexity == 3
    with pytest.raises(InvalidQuery, match=f"at most {MAX_POINTS}"):
        project(np.zeros((MAX_POINTS + 1, 2)), "pca", 2, 0)


# -- gathering the points -----------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2])
def test_neighbourhood_equals_gensims(registry: ModelRegistry, gensim_random: Any, depth: int) -> None:
    model = registry.get("random")
    gathered = gather_neighbourhood(model, "w0042", 6, depth, "3cosadd", exact=True)
    first = [w for w, _ in gensim_random.most_similar("w0042", topn=6)]
    want = {"w0042", *first}
    if depth == 2:
        want |= {w for n in first for w, _ in gensim_random.most_similar(n, topn=6)}
    assert {p.word for p in gathered.points} == want
    assert len(gathered.points) == len(want)  # each word once
    assert [p.word for p in gathered.points if p.role == "neighbor"] == first
    sims = dict(gensim_random.most_similar("w0042", topn=6))
    for p in gathered.points:
        if p.role == "neighbor":
            assert p.parent == "w0042" and p.similarity == pytest.approx(sims[p.word], abs=1e-5)


def test_analogy_points_and_arrows(registry: ModelRegistry) -> None:
    model = registry.get("tiny")
    gathered = gather_analogy(model, AnalogyQuestion(a="Man", b="king", c="woman"), 3, "3cosadd", True)
    roles = {p.word: p.role for p in gathered.points}
    assert roles["man"] == "a" and roles["king"] == "b" and roles["woman"] == "c"
    assert roles["queen"] == "answer"
    assert gathered.arrows == (("man", "king"), ("woman", "queen"))


# -- the endpoint -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_word_neighbourhood_json(api: httpx.AsyncClient) -> None:
    response = await api.post(TINY, json={"word": "frog", "k": 3, "depth": 2, "exact": True})
    assert response.status_code == 200
    body = response.json()
    listed = (await api.get("/v1/models/tiny/neighbors", params={"word": "frog", "k": 3})).json()
    assert body["neighbors"] == listed["neighbors"]
    assert body["projection"] == "pca" and body["index"] == "exact" and body["arrows"] == []
    points = body["points"]
    assert points[0]["word"] == "frog" and points[0]["role"] == "query"
    assert [p["word"] for p in points if p["role"] == "neighbor"] == [n["word"] for n in listed["neighbors"]]
    assert any(p["role"] == "neighbor2" for p in points)
    assert all(set(p) == {"word", "role", "parent", "similarity", "x", "y"} for p in points)


@pytest.mark.anyio
async def test_word_list_coordinates_are_pca_of_unit_vectors(api: httpx.AsyncClient) -> None:
    from tests.conftest import TINY_VECTORS

    words = ["king", "queen", "man", "woman", "frog", "car"]
    body = (await api.post(TINY, json={"words": [*words, "KING"], "dimensions": 3})).json()
    assert [p["word"] for p in body["points"]] == words  # standardised, each once
    assert body["index"] is None and body["neighbors"] == []
    x = np.array([TINY_VECTORS[w] for w in words])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    got = np.array([[p["x"], p["y"], p["z"]] for p in body["points"]])
    np.testing.assert_allclose(np.abs(got), np.abs(svd_oracle(x, 3)), atol=1e-5)


@pytest.mark.anyio
async def test_analogy_json(api: httpx.AsyncClient) -> None:
    body = (await api.post(TINY, json={"analogy": {"a": "man", "b": "king", "c": "woman"}, "k": 2})).json()
    assert body["answer"] == "queen"
    assert body["arrows"] == [{"source": "man", "target": "king"}, {"source": "woman", "target": "queen"}]
    assert [p["role"] for p in body["points"]] == ["a", "b", "c", "answer", "candidate"]


@pytest.mark.anyio
async def test_tsne_over_http_is_seeded(api: httpx.AsyncClient) -> None:
    request = {"word": "w0001", "k": 8, "depth": 2, "projection": "tsne", "seed": 3}
    first = (await api.post(RANDOM, json=request)).json()
    again = (await api.post(RANDOM, json=request)).json()
    other = (await api.post(RANDOM, json={**request, "seed": 4})).json()
    assert first["points"] == again["points"]
    assert [p["x"] for p in first["points"]] != [p["x"] for p in other["points"]]
    assert first["perplexity"] == pytest.approx(min(30.0, (len(first["points"]) - 1) / 3))
    assert first["explained_variance"] is None


@pytest.mark.anyio
async def test_csv_download(api: httpx.AsyncClient) -> None:
    request = {"analogy": {"a": "man", "b": "king", "c": "woman"}, "k": 3, "dimensions": 3}
    as_json = (await api.post(TINY, json=request)).json()
    response = await api.post(TINY, json={**request, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="firth-tiny-pca.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["word", "role", "parent", "similarity", "x", "y", "z"]
    assert [r["word"] for r in rows] == [p["word"] for p in as_json["points"]]
    for row, point in zip(rows, as_json["points"], strict=True):
        assert float(row["x"]) == point["x"] and float(row["z"]) == point["z"]
        assert row["parent"] == (point["parent"] or "")


@pytest.mark.anyio
async def test_unknown_word_is_a_404_with_suggestions(api: httpx.AsyncClient) -> None:
    for body in (
        {"words": ["king", "kingg"]},
        {"word": "kingg"},
        {"analogy": {"a": "man", "b": "kingg", "c": "x"}},
    ):
        response = await api.post(TINY, json=body)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/unknown-word" and problem["word"] == "kingg"
        assert "king" in problem["suggestions"]
    unknown_model = await api.post("/v1/models/nope/project", json={"word": "king"})
    assert unknown_model.status_code == 404 and unknown_model.json()["type"] == "/problems/unknown-model"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"word": "king", "words": ["queen"]}, "exactly one of"),
        ({}, "exactly one of"),
        ({"word": "king", "k": 22, "depth": 2}, "at most 500 points"),
        ({"words": ["king"] * (MAX_POINTS + 1)}, "at most 500"),
        ({"word": "king", "k": 101}, "less than or equal to 100"),
        ({"words": ["king", "queen"], "depth": 2}, "depth 2 applies to 'word' only"),
        ({"word": "king", "perplexity": 5}, "applies to projection 'tsne' only"),
        ({"word": "king", "dimensions": 4}, "dimensions"),
        ({"word": "king", "projection": "umap"}, "projection"),
    ],
)
async def test_limits_are_422_problems(api: httpx.AsyncClient, body: dict[str, Any], fragment: str) -> None:
    response = await api.post(TINY, json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert fragment in problem["detail"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"words": ["king", "queen", "man"], "projection": "tsne"}, "at least 4 points"),
        ({"words": ["king", "King", "queen", "man"], "projection": "tsne"}, "at least 4 points, got 3"),
        # The bound holds for the points found, which only the model knows: a domain error.
        ({"word": "king", "k": 9, "projection": "tsne", "perplexity": 3.5}, "at most (points - 1) / 3 = 3"),
    ],
)
async def test_tsne_on_the_points_found_is_a_domain_422(
    api: httpx.AsyncClient, body: dict[str, Any], fragment: str
) -> None:
    response = await api.post(TINY, json=body)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-query"
    assert fragment in response.json()["detail"]
