"""Bodies of the text-to-ids endpoints: encode, vocabulary, embedding-matrix. Limits live here so
the OpenAPI schema declares them."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

from firth_core.text_vectorization import OutputMode
from firth_service.schemas import NOT_NULL, NULL, WHOLE_NUMBER, exactly_one_of

MAX_TEXTS = 1000  # texts in one request
MAX_TEXT_CHARS = 100_000  # characters in one text
MAX_SEQUENCE_LENGTH = 100_000  # output_sequence_length; a text of 100,000 characters has fewer tokens
MAX_TOKENS_LIMIT = 2**31 - 1  # max_tokens beyond the vocabulary just keeps every word
MAX_OUTPUT_CELLS = 4_000_000  # numbers in one encode answer (texts x sequence length or width)
MAX_VOCABULARY_PAGE = 1000  # words in one vocabulary page
MAX_MATRIX_WORDS = 200_000  # words given to embedding-matrix

Text = Annotated[
    StrictStr,
    StringConstraints(max_length=MAX_TEXT_CHARS),
    Field(description=f"A text of at most {MAX_TEXT_CHARS} characters."),
]
Texts = Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
MaxTokens = Annotated[
    StrictInt,
    Field(
        ge=2,
        le=MAX_TOKENS_LIMIT,
        description="Keras' max_tokens: the layer's vocabulary size, counting the pad and [UNK].",
    ),
    WHOLE_NUMBER,
]
BAG_MODES: list[Any] = [mode for mode in get_args(OutputMode) if mode != "int"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EncodeRequest(_Strict):
    texts: Texts
    output_mode: OutputMode = Field(
        "int",
        description="int: ids (0 pad, 1 [UNK], then the words by frequency); multi_hot, count, tf_idf: "
        "one row per text over the ids ([UNK] at 0, no pad), as Keras' TextVectorization.",
    )
    max_tokens: MaxTokens | None = None
    output_sequence_length: Annotated[StrictInt, Field(ge=1, le=MAX_SEQUENCE_LENGTH), WHOLE_NUMBER] | None = (
        Field(None, description="int mode: pad with 0 or truncate at the end to this length.")
    )
    pad_to_max_tokens: StrictBool = Field(
        False, description="Bag modes, with max_tokens: rows as wide as max_tokens."
    )
    ragged: StrictBool = Field(False, description="int mode: unpadded id lists, one length per text.")
    # Keras' own rules, checked by firth_core's Layer (422 invalid-vectorization); stated here too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "output_sequence_length and ragged only in output_mode int (the default); "
            "pad_to_max_tokens only in a bag mode and with max_tokens.",
            "allOf": [
                {
                    "anyOf": [
                        {"properties": {"output_mode": {"const": "int"}}},
                        {"properties": {"output_sequence_length": NULL, "ragged": {"const": False}}},
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"pad_to_max_tokens": {"const": False}}},
                        {
                            "required": ["output_mode", "max_tokens"],
                            "properties": {"output_mode": {"enum": BAG_MODES}, "max_tokens": NOT_NULL},
                        },
                    ]
                },
            ],
            "examples": [
                {"texts": ["The cat sat on the mat.", "qwzx cat"], "output_sequence_length": 8},
                {"texts": ["the cat", "the the dog"], "output_mode": "count", "max_tokens": 10},
            ],
        },
    )


class EncodedTextTokens(BaseModel):
    tokens: list[str] = Field(description="The standardised tokens, in order.")
    oov: list[str] = Field(description="Tokens the layer maps to [UNK], once each.")


class EncodeResponse(BaseModel):
    model: str
    output_mode: OutputMode
    vocabulary_size: int = Field(description="Keras' vocabulary_size(): the specials plus the words.")
    ids: list[list[float]] = Field(
        description="int: one id list per text; other modes: one row of `vocabulary_size` values "
        "(max_tokens with pad_to_max_tokens) per text."
    )
    texts: list[EncodedTextTokens]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "glove-6b-50d",
                    "output_mode": "int",
                    "vocabulary_size": 400002,
                    "ids": [[2, 5452, 3225, 15, 2, 1, 0, 0], [1, 5452, 0, 0, 0, 0, 0, 0]],
                    "texts": [
                        {"tokens": ["the", "cat", "sat", "on", "the", "mat."], "oov": ["mat."]},
                        {"tokens": ["qwzx", "cat"], "oov": ["qwzx"]},
                    ],
                }
            ]
        }
    )


class VocabularyWord(BaseModel):
    word: str
    id: int = Field(description="The word's id in int mode (its frequency rank + 1); bag modes: id - 1.")
    rank: int = Field(description="Frequency rank, 1 = the most frequent word.")
    count: int | None = Field(description="Corpus count, when the model records counts.")


class VocabularyPage(BaseModel):
    model: str
    special_tokens: dict[str, int] = Field(description='int-mode ids of the pad "" and "[UNK]".')
    total: int = Field(description="Words matching the prefix (all words without one).")
    offset: int
    limit: int
    prefix: str | None
    words: list[VocabularyWord]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "glove-6b-50d",
                    "special_tokens": {"": 0, "[UNK]": 1},
                    "total": 400000,
                    "offset": 0,
                    "limit": 3,
                    "prefix": None,
                    "words": [
                        {"word": "the", "id": 2, "rank": 1, "count": None},
                        {"word": ",", "id": 3, "rank": 2, "count": None},
                        {"word": ".", "id": 4, "rank": 3, "count": None},
                    ],
                }
            ]
        }
    )


MatrixWord = Annotated[StrictStr, StringConstraints(max_length=1024)]


class EmbeddingMatrixRequest(_Strict):
    vocabulary: Annotated[list[MatrixWord], Field(min_length=1, max_length=MAX_MATRIX_WORDS)] | None = Field(
        None,
        description="A task's vocabulary, e.g. TextVectorization.get_vocabulary(): row i is word i's vector; \"\" "
        'and "[UNK]" get zero rows, as do words not found (listed in `missing`).',
    )
    max_tokens: MaxTokens | None = Field(
        None,
        description='Instead of a vocabulary: the model\'s own ids, "", "[UNK]" and max_tokens - 2 words.',
    )
    format: Literal["npy", "json"] = Field("npy", description="npy: a float32 .npy file; json: nested lists.")
    normalize: StrictBool = Field(
        False, description="Unit-length word rows (the special and missing rows stay 0)."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Either a `vocabulary` or `max_tokens`. The answer must fit the 16 MiB response "
            "budget, estimated before any work: rows x dimension x 4 bytes (and a 128-byte header) for .npy, "
            "83,885 rows of 50 dimensions; 16 bytes a number plus the words listed for JSON, about 20,000 rows "
            "of 50. Beyond it a 422 `/problems/over-budget`.",
            **exactly_one_of("vocabulary", "max_tokens"),
            "examples": [
                {"vocabulary": ["", "[UNK]", "the", "cat", "qwzx"], "format": "json"},
                {"max_tokens": 20000},
            ],
        },
    )

    @model_validator(mode="after")
    def _one_source(self) -> EmbeddingMatrixRequest:
        if (self.vocabulary is None) == (self.max_tokens is None):
            raise ValueError("give exactly one of 'vocabulary' or 'max_tokens'")
        return self


class EmbeddingMatrixResponse(BaseModel):
    model: str
    shape: Annotated[list[int], Field(min_length=2, max_length=2, description="Rows, columns.")]
    words: list[str] = Field(description="Row i's word: as given, or the model's for max_tokens.")
    missing: list[str] = Field(description='Words with no vector (zero rows), "" and "[UNK]" not included.')
    subword: list[str] = Field(
        default_factory=list,
        description="A subword (fastText) model's words outside its vocabulary, given the vector of their "
        "character n-grams; present only when there are any.",
    )
    matrix: list[list[float]]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "glove-6b-50d",
                    "shape": [3, 2],
                    "words": ["", "[UNK]", "cat"],
                    "missing": [],
                    "matrix": [[0.0, 0.0], [0.0, 0.0], [0.45281, -0.50108]],
                }
            ]
        }
    )
