"""Bodies of the OpenAI-compatible endpoints, in the shape OpenAI's API reference documents
(POST /v1/embeddings, GET /v1/models). Limits are firth's own."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from firth_service.encode_schemas import MAX_SEQUENCE_LENGTH, MAX_TEXT_CHARS, MAX_TEXTS
from firth_service.schemas import WHOLE_NUMBER

OpenAIText = Annotated[StrictStr, StringConstraints(max_length=MAX_TEXT_CHARS)]
# firth's encode ids: 0 and up; the model's vocabulary size bounds them (400 id_out_of_range)
TokenId = Annotated[StrictInt, Field(ge=0), WHOLE_NUMBER]
TokenIds = Annotated[list[TokenId], Field(min_length=1, max_length=MAX_SEQUENCE_LENGTH)]
EmbeddingInput = (
    OpenAIText
    | Annotated[list[OpenAIText], Field(min_length=1, max_length=MAX_TEXTS)]
    | TokenIds
    | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_TEXTS)]
)


class EmbeddingsRequest(BaseModel):
    input: EmbeddingInput = Field(
        description="A text, a list of texts, a list of token ids or a list of id lists. Ids are firth's "
        "own `encode` ids (0 pad, skipped; 1 [UNK]; 2 + frequency rank - 1 for a word), not tiktoken's."
    )
    model: StrictStr = Field(description="Any firth model name, `default` included.")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="base64: little-endian float32, as OpenAI's clients decode it."
    )
    dimensions: Annotated[StrictInt, Field(ge=1), WHOLE_NUMBER] | None = Field(
        None,
        description="Accepted only when equal to the model's dimension (firth does not shorten vectors).",
    )
    user: StrictStr | None = Field(None, description="Accepted and ignored.")
    # Fields a newer OpenAI client may add are ignored, as OpenAI-compatible servers commonly do.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"model": "default", "input": ["The cat sat on the mat.", "a dog"]}]},
    )


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(description="The unit-length mean of the text's word vectors.")


class Usage(BaseModel):
    prompt_tokens: int = Field(description="Tokens after firth's standardisation and split (or ids given).")
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.0123, -0.2211]}],
                    "model": "glove-6b-50d",
                    "usage": {"prompt_tokens": 6, "total_tokens": 6},
                }
            ]
        }
    )


class OpenAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time the model was written (meta.json `created`), 0 if unknown.")
    owned_by: str = "firth"


class OpenAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "list",
                    "data": [
                        {"id": "glove-6b-50d", "object": "model", "created": 1796250262, "owned_by": "firth"}
                    ],
                }
            ]
        }
    )


class OpenAIErrorBody(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, or server_error for a 5xx.")
    param: str | None
    code: str | None = Field(description="firth's problem slug with underscores; model_not_found for a 404.")


class OpenAIError(BaseModel):
    """OpenAI's error shape, which its clients parse into their exceptions."""

    error: OpenAIErrorBody
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "message": "model 'gpt-4' is not loaded",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_found",
                    }
                }
            ]
        }
    )
