"""Request and response bodies. Limits live here so the OpenAPI schema declares them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from firth_core.evaluation import GENSIM_RESTRICT_VOCAB
from firth_service.engine import Method, OovPolicy
from firth_service.settings import (
    MAX_BATCH,
    MAX_EVAL_ITEMS,
    MAX_K,
    MAX_RESTRICT_VOCAB,
    MAX_TERMS,
    MAX_WORD_CHARS,
)


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: a number without a fraction, 10.0 as well as 10; never true or "10"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# A body's integer fields: Annotated[StrictInt, Field(limits), WHOLE_NUMBER] refuses what the
# schema's {"type": "integer"} refuses (in this order, or pydantic leaves the limits out of the schema).
WHOLE_NUMBER = BeforeValidator(_json_integer)
Word = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_WORD_CHARS),
    Field(description=f"A word (1 to {MAX_WORD_CHARS} characters); the model's standardisation applies."),
]
Vector = Annotated[
    list[StrictFloat],
    Field(min_length=1, max_length=4096, description="A raw vector with the model's dimension."),
]
K = Annotated[
    StrictInt, Field(ge=1, le=MAX_K, description=f"Number of neighbours, 1 to {MAX_K}."), WHOLE_NUMBER
]
RestrictVocab = Annotated[
    Annotated[StrictInt, Field(ge=1, le=MAX_RESTRICT_VOCAB), WHOLE_NUMBER] | None,
    Field(description="Search only the N most frequent words (gensim's restrict_vocab)."),
]


OOV_LIST_DESCRIPTION = (
    "A subword (fastText) model's words outside its vocabulary whose vectors were built from their "
    "character n-grams; present only when there are any."
)


def oov_list() -> Any:
    return Field(default_factory=list, description=OOV_LIST_DESCRIPTION)


class _Strict(BaseModel):
    """A request body: unknown fields refused. Booleans, integers and numbers are declared
    Strict*, so `"exact": 0` or `"k": "10"` is refused as the schema's types say."""

    model_config = ConfigDict(extra="forbid")


# JSON Schema for rules that span fields, so the OpenAPI document says what the validators
# enforce. A field given as null counts as not given, as in the validators.
NULL: dict[str, Any] = {"type": "null"}
NOT_NULL: dict[str, Any] = {"not": NULL}


def given(*names: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """Each of `names` present and not null; `extra` constrains other properties."""
    return {"required": list(names), "properties": {**dict.fromkeys(names, NOT_NULL), **extra}}


def exactly_one_of(*names: str) -> dict[str, Any]:
    return {"oneOf": [given(name, **dict.fromkeys([n for n in names if n != name], NULL)) for name in names]}


class WeightedTerm(_Strict):
    """A word or a raw vector with an explicit weight (gensim's `(key, weight)` tuples)."""

    word: Word | None = None
    vector: Vector | None = None
    weight: StrictFloat
    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one_of("word", "vector"))

    @model_validator(mode="after")
    def _one_of(self) -> WeightedTerm:
        if (self.word is None) == (self.vector is None):
            raise ValueError("give exactly one of 'word' or 'vector'")
        return self


Term = Word | Vector | WeightedTerm
Terms = Annotated[list[Term], Field(max_length=MAX_TERMS)]


# -- vectors -------------------------------------------------------------------------------


class VectorOut(BaseModel):
    word: str | None = Field(
        description="The vocabulary word used (after standardisation); null for an unknown word with oov 'null'."
    )
    input: str = Field(description="The word as given.")
    vector: list[float] | None
    oov: bool = Field(
        False,
        description="Present and true when the word is outside the vocabulary of a subword (fastText) "
        "model and its vector was built from its character n-grams (`word` is then the standardised input).",
    )
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"word": "king", "input": "King", "vector": [0.50451, 0.68607]}]}
    )


class VectorsRequest(_Strict):
    words: Annotated[list[Word], Field(min_length=1, max_length=MAX_BATCH)]
    oov: OovPolicy = Field(
        "error",
        description="Unknown words: 'error' answers 404, 'skip' leaves them out, 'null' returns vector null.",
    )
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"words": ["king", "queen", "qwzx"], "oov": "skip"}]}
    )


class VectorsResponse(BaseModel):
    model: str
    dim: int
    vectors: list[VectorOut]
    missing: list[str] = Field(
        description="Words without a vector (with oov 'skip' or 'null'): not in the vocabulary, and for a "
        "subword model without any n-gram either."
    )


# -- similarity ----------------------------------------------------------------------------


class SimilarityOut(BaseModel):
    a: str
    b: str
    similarity: float
    oov: list[str] = oov_list()
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"a": "cat", "b": "dog", "similarity": 0.9218}]}
    )


class SimilarityPairsRequest(_Strict):
    pairs: Annotated[list[tuple[Word, Word]], Field(min_length=1, max_length=MAX_BATCH)]
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"pairs": [["cat", "dog"], ["car", "banana"]]}]}
    )


class SimilarityPairsResponse(BaseModel):
    model: str
    similarities: list[SimilarityOut]


class SimilarityMatrixRequest(_Strict):
    a: Annotated[list[Word], Field(min_length=1, max_length=MAX_BATCH)]
    b: Annotated[list[Word], Field(min_length=1, max_length=MAX_BATCH)]
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"a": ["cat", "dog"], "b": ["tiger", "wolf", "car"]}]}
    )


class SimilarityMatrixResponse(BaseModel):
    model: str
    a: list[str]
    b: list[str]
    matrix: list[list[float]] = Field(description="matrix[i][j] = cosine(a[i], b[j])")
    oov: list[str] = oov_list()


class NSimilarityRequest(_Strict):
    a: Annotated[list[Word], Field(min_length=1, max_length=MAX_BATCH)]
    b: Annotated[list[Word], Field(min_length=1, max_length=MAX_BATCH)]
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"a": ["sushi", "shop"], "b": ["japanese", "restaurant"]}]},
    )


class NSimilarityResponse(BaseModel):
    model: str
    a: list[str]
    b: list[str]
    similarity: float = Field(description="gensim n_similarity: cosine of the two sets' mean vectors.")
    oov: list[str] = oov_list()


# -- neighbours ----------------------------------------------------------------------------


class Neighbor(BaseModel):
    word: str
    similarity: float


class RankedWord(Neighbor):
    oov: bool = Field(
        False, description="Present and true for a word built from its n-grams (subword models)."
    )


class NeighborsQuery(_Strict):
    positive: Terms = Field(default_factory=list, description="Words or vectors that pull (weight +1).")
    negative: Terms = Field(default_factory=list, description="Words or vectors that push (weight -1).")
    k: K = 10
    method: Method = Field(
        "3cosadd", description="3cosadd (gensim most_similar) or 3cosmul (most_similar_cosmul)."
    )
    restrict_vocab: RestrictVocab = None
    exact: StrictBool = Field(False, description="Search exhaustively instead of through the HNSW index.")
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"positive": ["king", "woman"], "negative": ["man"], "k": 3}],
            "description": "At least one term; negative terms alone only with 3cosadd (3cosmul needs a "
            "positive one); weighted terms only with 3cosadd.",
            "allOf": [
                {
                    "anyOf": [
                        {"required": ["positive"], "properties": {"positive": {"minItems": 1}}},
                        {
                            "required": ["negative"],
                            "properties": {"negative": {"minItems": 1}, "method": {"const": "3cosadd"}},
                        },
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"method": {"const": "3cosadd"}}},
                        {
                            "properties": {
                                "positive": {"items": {"type": ["string", "array"]}},
                                "negative": {"items": {"type": ["string", "array"]}},
                            }
                        },
                    ]
                },
            ],
        },
    )


class NeighborsResponse(BaseModel):
    model: str
    positive: list[str | None] = Field(
        description="The vocabulary word each positive term used (null: a vector)."
    )
    negative: list[str | None]
    index: Literal["exact", "hnsw"]
    neighbors: list[Neighbor]
    oov: list[str] = oov_list()
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "glove-6b-50d",
                    "positive": ["frog"],
                    "negative": [],
                    "index": "hnsw",
                    "neighbors": [
                        {"word": "snake", "similarity": 0.8445},
                        {"word": "ape", "similarity": 0.7938},
                    ],
                }
            ]
        }
    )


class NeighborsBatchRequest(_Strict):
    queries: Annotated[list[NeighborsQuery], Field(min_length=1, max_length=MAX_BATCH)]
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"queries": [{"positive": ["frog"], "k": 3}, {"positive": ["paris"], "k": 3}]}]
        },
    )


class NeighborsBatchResponse(BaseModel):
    model: str
    results: list[NeighborsResponse]


# -- analogies -----------------------------------------------------------------------------


class AnalogyQuestion(_Strict):
    a: Word
    b: Word
    c: Word


class AnalogyResponse(BaseModel):
    model: str
    a: str
    b: str
    c: str
    answer: str | None = Field(description="The best answer: a is to b as c is to answer.")
    index: Literal["exact", "hnsw"]
    neighbors: list[Neighbor]
    oov: list[str] = oov_list()
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "glove-6b-50d",
                    "a": "man",
                    "b": "king",
                    "c": "woman",
                    "answer": "queen",
                    "index": "exact",
                    "neighbors": [{"word": "queen", "similarity": 0.8524}],
                }
            ]
        }
    )


class AnalogyBatchRequest(_Strict):
    questions: Annotated[list[AnalogyQuestion], Field(min_length=1, max_length=MAX_BATCH)]
    k: K = 1
    method: Method = "3cosadd"
    restrict_vocab: RestrictVocab = None
    exact: StrictBool = False
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "questions": [
                        {"a": "man", "b": "king", "c": "woman"},
                        {"a": "paris", "b": "france", "c": "rome"},
                    ]
                }
            ]
        },
    )


class AnalogyBatchResponse(BaseModel):
    model: str
    results: list[AnalogyResponse]


# -- doesnt-match --------------------------------------------------------------------------


class DoesntMatchRequest(_Strict):
    words: Annotated[list[Word], Field(min_length=2, max_length=MAX_BATCH)]
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"words": ["breakfast", "cereal", "dinner", "lunch"]}]},
    )


class DoesntMatchResponse(BaseModel):
    model: str
    words: list[str] = Field(description="The vocabulary words used.")
    doesnt_match: str
    ranking: list[RankedWord] = Field(description="Words by cosine to the mean, most central first.")
    oov: list[str] = oov_list()


# -- evaluation ----------------------------------------------------------------------------


class EvaluateRequest(_Strict):
    benchmark: Literal["questions-words", "wordsim353", "simlex999"] | None = Field(
        None, description="A bundled benchmark; or give `items` instead."
    )
    kind: Literal["analogies", "pairs"] | None = Field(
        None,
        description="For `items`: analogies (questions-words format) or pairs (word<TAB>word<TAB>score).",
    )
    items: (
        Annotated[
            list[Annotated[str, StringConstraints(max_length=4 * MAX_WORD_CHARS)]],
            Field(max_length=MAX_EVAL_ITEMS),
        ]
        | None
    ) = Field(None, description="Uploaded lines, in the format of the bundled files.")
    restrict_vocab: Annotated[StrictInt, Field(ge=1, le=MAX_RESTRICT_VOCAB), WHOLE_NUMBER] = (
        GENSIM_RESTRICT_VOCAB
    )
    case_insensitive: StrictBool = True
    dummy4unknown: StrictBool = Field(
        False,
        description="gensim's dummy4unknown: count pairs with unknown words at similarity 0 and questions "
        "with unknown words as wrong, instead of skipping them.",
    )
    subwords: StrictBool = Field(
        False,
        description="A subword (fastText) model only: also score with its unknown words given their "
        "n-gram vectors, reported in `result.subwords` beside gensim's figures (which skip them).",
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Either a bundled `benchmark`, or `items` with their `kind`.",
            "oneOf": [given("benchmark", items=NULL, kind=NULL), given("items", "kind", benchmark=NULL)],
            "examples": [
                {"benchmark": "wordsim353"},
                {"kind": "pairs", "items": ["cat\tdog\t8.5", "car\tbanana\t0.5", "king\tqueen\t8.0"]},
            ],
        },
    )

    @model_validator(mode="after")
    def _source(self) -> EvaluateRequest:
        if (self.benchmark is None) == (self.items is None):
            raise ValueError("give exactly one of 'benchmark' or 'items'")
        if self.items is not None and self.kind is None:
            raise ValueError("'items' needs 'kind': 'analogies' or 'pairs'")
        if self.benchmark is not None and self.kind is not None:
            raise ValueError("'kind' goes with 'items'; a bundled benchmark has its own kind")
        return self


class EvaluateResponse(BaseModel):
    model: str
    benchmark: str
    kind: Literal["analogies", "pairs"]
    result: dict[str, Any] = Field(
        description="gensim-compatible figures: score/correct/incorrect/oov/sections for analogies; "
        "pearson/spearman/oov_ratio for pairs; seconds taken. With `subwords`, `subwords` holds the "
        "same figures with the unknown words given n-gram vectors (and how many were: oov_answered, "
        "oov_scored, oov_spearman; no_vector for words without any n-gram)."
    )


# -- models --------------------------------------------------------------------------------


class ModelInfo(BaseModel):
    name: str
    default: bool
    dim: int
    vocab_size: int
    index_kinds: list[str]
    hnsw_status: str
    sha256: str
    standardize: str
    meta: dict[str, Any]
    evaluation: dict[str, Any] | None = None
    load_error: str | None = Field(
        default=None, description="Why the last reload of this model failed; the version described serves on."
    )
    unavailable: str | None = Field(
        default=None,
        description="Why this model is refused (its vectors file changed in place); a good reload clears it.",
    )


class ModelList(BaseModel):
    models: list[ModelInfo]


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error (media type application/problem+json)."""

    type: str = Field(description="A URI reference naming the problem type; see GET /problems.")
    title: str
    status: int
    detail: str
    instance: str
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/unknown-word",
                    "title": "Word not in vocabulary",
                    "status": 404,
                    "detail": "word 'quen' is not in the vocabulary",
                    "instance": "/v1/models/default/neighbors",
                    "word": "quen",
                    "suggestions": ["queen", "queens"],
                }
            ]
        },
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring the problem+json errors a route can answer."""
    descriptions = {
        400: "Malformed JSON",
        404: "Unknown model or word (with close spellings as suggestions)",
        413: "Request body too large",
        415: "Request body not sent as JSON (Content-Type: application/json)",
        422: "Invalid request: limits, dimensions, NaN/zero vectors, empty queries, over the cost budget",
        429: "Too many requests (or heavy requests) in flight on this worker; retry after Retry-After seconds",
        503: "Not ready, or still computing at the 30 s deadline",
    }
    retry_after = {
        "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions[status],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": retry_after} if status == 429 else {}),
        }
        for status in statuses
    }
