"""POST /v1/models/{model}/project: 2-D or 3-D coordinates of a word list, a word's neighbourhood
or an analogy, by PCA or t-SNE, as JSON or CSV. The explorer page at `/` draws its map from it.

The points are gathered through the engine (exact or HNSW, as asked), their unit vectors are
projected (cosine geometry, the one the neighbours are ranked by), and the whole computation runs
in the thread pool: t-SNE takes up to a second.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator
from starlette.responses import Response

from firth_service import engine
from firth_service.engine import NeighbourQuery, NeighbourResult
from firth_service.projection import MAX_POINTS, Projected, Projection, project
from firth_service.registry import LoadedModel
from firth_service.responses import FastJSONResponse
from firth_service.routes.queries import Model, model_router
from firth_service.schemas import (
    NULL,
    WHOLE_NUMBER,
    AnalogyQuestion,
    Method,
    Neighbor,
    Word,
    _Strict,
    exactly_one_of,
    given,
)
from firth_service.work import run_bounded

router = model_router("explorer")
MAX_PROJECT_K = 100
MAX_DEPTH2_K = 21  # 1 + k + k * k <= MAX_POINTS
Role = Literal["input", "query", "neighbor", "neighbor2", "a", "b", "c", "answer", "candidate"]


class ProjectRequest(_Strict):
    words: Annotated[list[Word], Field(min_length=1, max_length=MAX_POINTS)] | None = Field(
        None, description="Project these words."
    )
    word: Word | None = Field(None, description="Project this word and its k nearest neighbours.")
    analogy: AnalogyQuestion | None = Field(
        None, description="Project a, b, c and the k best answers to 'a is to b as c is to ?'."
    )
    k: Annotated[StrictInt, Field(ge=1, le=MAX_PROJECT_K), WHOLE_NUMBER] = Field(
        10, description="Neighbours of `word`, or answer candidates of `analogy`."
    )
    depth: Annotated[StrictInt, Field(ge=1, le=2), WHOLE_NUMBER] = Field(
        1, description="2 adds each neighbour's own k neighbours (`word` only, k <= 21)."
    )
    method: Method = Field("3cosadd", description="How neighbours and answers are ranked.")
    exact: StrictBool = Field(False, description="Search exhaustively instead of through the HNSW index.")
    projection: Projection = Field("pca", description="pca (exact, fast) or tsne (openTSNE, seeded).")
    dimensions: Annotated[StrictInt, Field(ge=2, le=3), WHOLE_NUMBER] = 2
    seed: Annotated[StrictInt, Field(ge=0, le=2**32 - 1), WHOLE_NUMBER] = Field(
        0, description="t-SNE's random seed."
    )
    perplexity: Annotated[StrictFloat, Field(ge=1, le=100)] | None = Field(
        None,
        description="t-SNE perplexity (projection 'tsne' only), at most (points - 1) / 3 of the points "
        "found, else a 422 invalid-query; default min(30, (points - 1) / 3).",
    )
    format: Literal["json", "csv"] = Field("json", description="csv answers text/csv as a download.")
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Exactly one of `words`, `word` or `analogy`; depth 2 only with `word` and "
            "k <= 21 (at most 500 points); perplexity only with projection 'tsne'.",
            "allOf": [
                exactly_one_of("words", "word", "analogy"),
                {
                    "anyOf": [
                        {"properties": {"depth": {"const": 1}}},
                        given("word", "depth", k={"maximum": MAX_DEPTH2_K}),
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"perplexity": NULL}},
                        {"required": ["projection"], "properties": {"projection": {"const": "tsne"}}},
                    ]
                },
            ],
            "examples": [
                {"word": "frog", "k": 10, "depth": 2, "projection": "tsne", "seed": 0},
                {"analogy": {"a": "man", "b": "king", "c": "woman"}, "k": 5},
                {"words": ["paris", "france", "rome", "italy"], "format": "csv"},
            ],
        },
    )

    def max_points(self) -> int:
        if self.words is not None:
            return len(self.words)
        if self.analogy is not None:
            return 3 + self.k
        return 1 + self.k + (self.k * self.k if self.depth == 2 else 0)

    @model_validator(mode="after")
    def _check(self) -> ProjectRequest:
        given = [name for name in ("words", "word", "analogy") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'words', 'word' or 'analogy'")
        if self.depth == 2 and self.word is None:
            raise ValueError("depth 2 applies to 'word' only")
        if self.max_points() > MAX_POINTS:
            raise ValueError(f"at most {MAX_POINTS} points: with depth 2, k may be at most {MAX_DEPTH2_K}")
        if self.perplexity is not None and self.projection != "tsne":
            raise ValueError("perplexity applies to projection 'tsne' only")
        # Its upper bound depends on the points found (a word list's duplicates, a small
        # vocabulary), which no schema can state: t-SNE checks it on them (422 invalid-query).
        return self


class ProjectedPoint(BaseModel):
    word: str
    role: Role = Field(
        description="input (a listed word), query, neighbor, neighbor2 (a neighbour's neighbour), "
        "a, b, c, answer or candidate (another answer to the analogy)."
    )
    parent: str | None = Field(description="The word this point is a neighbour or answer of.")
    similarity: float | None = Field(description="Cosine to `parent` (3CosMul: its score).")
    x: float
    y: float
    z: float | None = None


class Arrow(BaseModel):
    source: str
    target: str


class ProjectResponse(BaseModel):
    model: str
    projection: Projection
    dimensions: int
    seed: int
    perplexity: float | None = Field(description="t-SNE's perplexity; null for PCA.")
    explained_variance: list[float] | None = Field(description="PCA: variance fraction per axis.")
    index: Literal["exact", "hnsw"] | None = Field(description="The index searched; null for a word list.")
    answer: str | None = Field(None, description="The analogy's best answer.")
    neighbors: list[Neighbor] = Field(description="The ranked neighbours of `word` or answers of `analogy`.")
    arrows: list[Arrow] = Field(description="An analogy's two offsets: a -> b and c -> answer.")
    points: list[ProjectedPoint]


@dataclass
class Point:
    word: str
    role: Role
    parent: str | None = None
    similarity: float | None = None


@dataclass
class Gathered:
    points: list[Point]
    result: NeighbourResult | None = None
    arrows: tuple[tuple[str, str], ...] = ()


class _Points:
    """Points in insertion order, each word once (its first role wins)."""

    def __init__(self) -> None:
        self.items: list[Point] = []
        self._seen: set[str] = set()

    def add(self, point: Point) -> None:
        if point.word not in self._seen:
            self._seen.add(point.word)
            self.items.append(point)


def gather_words(model: LoadedModel, words: list[str]) -> Gathered:
    points = _Points()
    for word in words:
        points.add(Point(model.kv.resolve(word).word, "input"))
    return Gathered(points.items)


def gather_neighbourhood(
    model: LoadedModel, word: str, k: int, depth: int, method: engine.Method, exact: bool
) -> Gathered:
    (first,) = engine.neighbours(model, [NeighbourQuery([word], k=k, method=method, exact=exact)])
    centre = first.positive[0]
    assert centre is not None
    points = _Points()
    points.add(Point(centre, "query"))
    for w, s in first.neighbors:
        points.add(Point(w, "neighbor", centre, s))
    if depth == 2 and first.neighbors:
        queries = [NeighbourQuery([w], k=k, method=method, exact=exact) for w, _ in first.neighbors]
        for (parent, _), result in zip(first.neighbors, engine.neighbours(model, queries), strict=True):
            for w, s in result.neighbors:
                points.add(Point(w, "neighbor2", parent, s))
    return Gathered(points.items, first)


def gather_analogy(
    model: LoadedModel, question: AnalogyQuestion, k: int, method: engine.Method, exact: bool
) -> Gathered:
    (result,) = engine.analogies(model, [(question.a, question.b, question.c)], k, method, None, exact)
    b, c = result.positive
    (a,) = result.negative
    assert a is not None and b is not None and c is not None
    points = _Points()
    for word, role in ((a, "a"), (b, "b"), (c, "c")):
        points.add(Point(word, role))  # type: ignore[arg-type]
    for rank, (w, s) in enumerate(result.neighbors):
        points.add(Point(w, "answer" if rank == 0 else "candidate", c, s))
    arrows = ((a, b), (c, result.neighbors[0][0])) if result.neighbors else ((a, b),)
    return Gathered(points.items, result, arrows)


def _compute(model: LoadedModel, body: ProjectRequest) -> tuple[Gathered, Projected]:
    if body.words is not None:
        gathered = gather_words(model, body.words)
    elif body.analogy is not None:
        gathered = gather_analogy(model, body.analogy, body.k, body.method, body.exact)
    else:
        assert body.word is not None
        gathered = gather_neighbourhood(model, body.word, body.k, body.depth, body.method, body.exact)
    # a subword model's word outside the vocabulary has a vector too (from its n-grams)
    units = np.stack([model.kv.resolve(p.word).unit for p in gathered.points])
    projected = project(units, body.projection, body.dimensions, body.seed, body.perplexity)
    return gathered, projected


def _point_rows(gathered: Gathered, projected: Projected) -> list[dict[str, Any]]:
    rows = []
    for point, xyz in zip(gathered.points, projected.coords.tolist(), strict=True):
        row: dict[str, Any] = {
            "word": point.word,
            "role": point.role,
            "parent": point.parent,
            "similarity": point.similarity,
            "x": xyz[0],
            "y": xyz[1],
        }
        if len(xyz) == 3:
            row["z"] = xyz[2]
        rows.append(row)
    return rows


def _csv(model: LoadedModel, body: ProjectRequest, rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    columns = ["word", "role", "parent", "similarity", "x", "y"] + (["z"] if body.dimensions == 3 else [])
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", model.name)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="firth-{name}-{body.projection}.csv"'},
    )


@router.post(
    "/project",
    response_model=ProjectResponse,
    summary="2-D/3-D coordinates of words, a neighbourhood or an analogy (PCA or t-SNE)",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
async def post_project(request: Request, model: Model, body: ProjectRequest) -> Response:
    tsne = body.projection == "tsne"  # seconds of work: one of the worker's heavy slots (429 if none)
    gathered, projected = await run_bounded(request, _compute, model, body, heavy=tsne)
    rows = _point_rows(gathered, projected)
    if body.format == "csv":
        return _csv(model, body, rows)
    result = gathered.result
    neighbors = result.neighbors if result is not None else []
    return FastJSONResponse(
        {
            "model": model.name,
            "projection": body.projection,
            "dimensions": body.dimensions,
            "seed": body.seed,
            "perplexity": projected.perplexity,
            "explained_variance": projected.explained_variance,
            "index": result.index if result is not None else None,
            "answer": neighbors[0][0] if body.analogy is not None and neighbors else None,
            "neighbors": [{"word": w, "similarity": s} for w, s in neighbors],
            "arrows": [{"source": s, "target": t} for s, t in gathered.arrows],
            "points": rows,
        }
    )
