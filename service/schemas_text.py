"""Request and response bodies of the text endpoints (/embed; texts in similarity and neighbours).

Limits live here so the OpenAPI schema declares them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    Tag,
)

from firth_core.pooling import SIF_A
from firth_service.schemas import (
    WHOLE_NUMBER,
    K,
    Neighbor,
    NeighborsQuery,
    RestrictVocab,
    SimilarityMatrixRequest,
    SimilarityPairsRequest,
    _Strict,
)
from firth_service.settings import MAX_K, MAX_TEXT_CHARS, MAX_TEXTS

Text = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT_CHARS),
    Field(
        description=f"A text (at most {MAX_TEXT_CHARS:,} characters), standardised and split "
        "as the model records it."
    ),
]
Pooling = Literal["mean", "sif"]
TextOov = Literal["error", "null"]

POOLING_DESCRIPTION = (
    "mean: gensim's get_mean_vector of the known tokens; sif: Arora et al. (2017) weights a/(a+p(w)) "
    "with the common component (fixed per model) removed."
)
OOV_DESCRIPTION = (
    "A text with no known token: 'error' answers 422 /problems/empty-text naming its index; "
    "'null' gives it a null vector (and null similarities). Unknown tokens in other texts are "
    "listed in `oov` and left out, but a subword model counts them with their n-gram vectors (listed in "
    "`subword`)."
)


class PoolingOptions(_Strict):
    pooling: Pooling = Field("mean", description=POOLING_DESCRIPTION)
    pre_normalize: StrictBool = Field(True, description="Average unit word vectors (gensim's default).")
    sif_a: StrictFloat = Field(
        SIF_A, gt=0, le=1, description="SIF's a (used by pooling 'sif'; ignored by 'mean')."
    )
    oov: TextOov = Field("error", description=OOV_DESCRIPTION)


class TextTokens(BaseModel):
    tokens: list[str] = Field(description="The text's standardised tokens, known or not, in order.")
    oov: list[str] = Field(
        description="Tokens not in the vocabulary, each once: left out, except those listed in `subword`."
    )
    subword: list[str] = Field(
        default_factory=list,
        description="A subword (fastText) model's tokens of `oov` that counted with the vector of their "
        "character n-grams; present only when there are any.",
    )


# -- embed ---------------------------------------------------------------------------------


class EmbedRequest(PoolingOptions):
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    post_normalize: StrictBool = Field(False, description="Scale each sentence vector to unit length.")
    encoding: Literal["float", "base64"] = Field(
        "float", description="float: JSON numbers; base64: each vector as base64 of little-endian float32."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"texts": ["The cat sat on the mat", "A dog barked"], "pooling": "mean"},
                {
                    "texts": ["paris is lovely"],
                    "pooling": "sif",
                    "post_normalize": True,
                    "encoding": "base64",
                },
            ]
        },
    )


class EmbedResponse(BaseModel):
    model: str
    dim: int
    vectors: list[list[float] | str | None] = Field(
        description="One per text, in order: a list of floats, or a base64 string with encoding "
        "'base64'; null for a text with no known token when oov is 'null'."
    )
    texts: list[TextTokens]


# -- classify ------------------------------------------------------------------------------


class ClassifyRequest(_Strict):
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    k: Annotated[
        StrictInt,
        Field(ge=1, le=MAX_K, description="Labels a text, most probable first (at most the model's labels)."),
        WHOLE_NUMBER,
    ] = 1
    threshold: StrictFloat = Field(
        0.0, ge=0.0, le=1.0, description="Leave out labels whose probability is below this."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"texts": ["a genus of small frogs", "the sixth tone of the major scale"], "k": 2},
            ]
        },
    )


class LabelOut(BaseModel):
    label: str
    probability: float


class ClassifiedText(TextTokens):
    labels: list[LabelOut] = Field(
        description="The top labels with their probabilities: a softmax over all labels (loss "
        "softmax), each label's own sigmoid (loss ova), or the product of the decisions on the label's "
        "path in the Huffman tree of labels (loss hs)."
    )


class ClassifyResponse(BaseModel):
    model: str
    loss: Literal["softmax", "ova", "hs"]
    texts: list[ClassifiedText]


# -- similarity of texts -------------------------------------------------------------------


class TextSimilarityPairsRequest(PoolingOptions):
    text_pairs: Annotated[list[tuple[Text, Text]], Field(min_length=1, max_length=MAX_TEXTS)]
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text_pairs": [["a cat sat on the mat", "a dog lay on the rug"]]}]},
    )


class TextSimilarityOut(BaseModel):
    a: TextTokens
    b: TextTokens
    similarity: float | None = Field(description="Cosine of the two sentence vectors.")


class TextSimilarityPairsResponse(BaseModel):
    model: str
    similarities: list[TextSimilarityOut]


class TextSimilarityMatrixRequest(PoolingOptions):
    texts_a: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    texts_b: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"texts_a": ["a cat sat on the mat"], "texts_b": ["a dog barked", "stocks fell"]}]
        },
    )


class TextSimilarityMatrixResponse(BaseModel):
    model: str
    a: list[TextTokens]
    b: list[TextTokens]
    matrix: list[list[float | None]] = Field(description="matrix[i][j] = cosine(texts_a[i], texts_b[j])")


# -- neighbours of a text ------------------------------------------------------------------


class TextNeighborsQuery(_Strict):
    text: Text
    k: K = 10
    method: Literal["3cosadd", "3cosmul"] = Field(
        "3cosadd",
        description="The text's known words as positive terms: 3cosadd (gensim most_similar, the "
        "mean of their unit vectors) or 3cosmul (most_similar_cosmul).",
    )
    restrict_vocab: RestrictVocab = None
    exact: StrictBool = Field(False, description="Search exhaustively instead of through the HNSW index.")
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "The capital of France", "k": 5}]}
    )


class TextNeighborsResponse(BaseModel):
    model: str
    text: TextTokens
    positive: list[str] = Field(description="The known tokens, the query's positive words.")
    negative: list[str]
    index: Literal["exact", "hnsw"]
    neighbors: list[Neighbor]


# -- the word endpoints' bodies: words, or texts -------------------------------------------


def _has(field: str) -> Callable[[Any], str]:
    """A discriminator: 'texts' when the body carries `field`, else 'words' (the word request)."""

    def kind(value: Any) -> str:
        present = field in value if isinstance(value, dict) else hasattr(value, field)
        return "texts" if present else "words"

    return kind


SimilarityBody = Annotated[
    Annotated[SimilarityPairsRequest, Tag("words")] | Annotated[TextSimilarityPairsRequest, Tag("texts")],
    Discriminator(_has("text_pairs")),
]
SimilarityMatrixBody = Annotated[
    Annotated[SimilarityMatrixRequest, Tag("words")] | Annotated[TextSimilarityMatrixRequest, Tag("texts")],
    Discriminator(_has("texts_a")),
]
NeighborsBody = Annotated[
    Annotated[NeighborsQuery, Tag("words")] | Annotated[TextNeighborsQuery, Tag("texts")],
    Discriminator(_has("text")),
]
