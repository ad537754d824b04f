"""The vocabulary as a task sees it: texts to ids (Keras' TextVectorization), pages of the word
list, and the embedding matrix for a task's own vocabulary."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import httpx
import numpy as np

from firth_client._calls import Call, call, without_none
from firth_client.results import EmbeddingMatrix, Encoding, VocabularyEntry, VocabularyPage


def encode(
    model: str,
    /,
    texts: Sequence[str],
    output_mode: str = "int",
    *,
    max_tokens: int | None = None,
    output_sequence_length: int | None = None,
    pad_to_max_tokens: bool = False,
    ragged: bool = False,
) -> Call[Encoding]:
    """Keras TextVectorization over the model's vocabulary: ids (0 pad, 1 [UNK], then the words
    by frequency), or multi_hot / count / tf_idf rows."""

    def parse(r: httpx.Response) -> Encoding:
        body = r.json()
        rows = body["ids"]
        ids: np.ndarray | list[np.ndarray]
        if body["output_mode"] != "int":
            ids = np.array(rows, dtype=np.float32).reshape(len(rows), -1)
        elif ragged:
            ids = [np.array(row, dtype=np.int64) for row in rows]
        else:
            ids = np.array(rows, dtype=np.int64).reshape(len(rows), -1)
        return Encoding(
            model=str(body["model"]),
            output_mode=str(body["output_mode"]),
            vocabulary_size=int(body["vocabulary_size"]),
            ids=ids,
            tokens=tuple(tuple(t["tokens"]) for t in body["texts"]),
            oov=tuple(tuple(t["oov"]) for t in body["texts"]),
        )

    body = without_none(
        texts=list(texts),
        output_mode=output_mode,
        pad_to_max_tokens=pad_to_max_tokens,
        ragged=ragged,
        max_tokens=max_tokens,
        output_sequence_length=output_sequence_length,
    )
    return call("POST", "/v1/models/{model}/encode", parse, json=body, model=model)


def vocabulary(
    model: str, /, offset: int = 0, limit: int = 100, *, prefix: str | None = None
) -> Call[VocabularyPage]:
    """A page of the words in frequency order, with their ids, ranks and counts."""

    def parse(r: httpx.Response) -> VocabularyPage:
        body = r.json()
        return VocabularyPage(
            model=str(body["model"]),
            total=int(body["total"]),
            offset=int(body["offset"]),
            limit=int(body["limit"]),
            prefix=body["prefix"],
            words=tuple(
                VocabularyEntry(w["word"], int(w["id"]), int(w["rank"]), w["count"]) for w in body["words"]
            ),
        )

    params = {"offset": offset, "limit": limit, "prefix": prefix}
    return call("GET", "/v1/models/{model}/vocabulary", parse, params=params, model=model)


def embedding_matrix(
    model: str,
    /,
    vocabulary: Sequence[str] | None = None,
    *,
    max_tokens: int | None = None,
    normalize: bool = False,
    format: str = "npy",
) -> Call[EmbeddingMatrix]:
    """The matrix for a task's vocabulary (e.g. TextVectorization.get_vocabulary()), or for
    firth's own ids up to max_tokens: row i = word i's vector, "", "[UNK]" and unknown words 0."""

    def parse(r: httpx.Response) -> EmbeddingMatrix:
        if format == "json":
            body = r.json()
            rows, dim = body["shape"]
            return EmbeddingMatrix(
                model=str(body["model"]),
                matrix=np.array(body["matrix"], dtype=np.float32).reshape(rows, dim),
                words=tuple(body["words"]),
                missing=tuple(body["missing"]),
                missing_count=len(body["missing"]),
            )
        matrix = np.load(io.BytesIO(r.content), allow_pickle=False)
        return EmbeddingMatrix(
            model=model,
            matrix=matrix,
            words=tuple(vocabulary) if vocabulary is not None else None,
            missing=tuple(json.loads(r.headers["x-firth-missing-words"])),
            missing_count=int(r.headers["x-firth-missing-count"]),
        )

    body = without_none(
        normalize=normalize,
        format=format,
        vocabulary=list(vocabulary) if vocabulary is not None else None,
        max_tokens=max_tokens,
    )
    return call("POST", "/v1/models/{model}/embedding-matrix", parse, json=body, model=model)
