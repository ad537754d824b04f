"""Text to ids and back to vectors for a task: encode (Keras TextVectorization), the vocabulary
pages, and the embedding matrix for a task's vocabulary."""

from __future__ import annotations

import bisect
import io
import json
import threading
import weakref
from typing import Annotated, Any

import numpy as np
from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from firth_core.embedding_matrix import EmbeddingMatrix, matrix_for_max_tokens, matrix_for_vocabulary
from firth_core.errors import OutputTooLarge, VectorizationError
from firth_core.keyed_vectors import KeyedVectors
from firth_core.standardize import get_standardizer
from firth_core.text import TextPipeline
from firth_core.text_vectorization import PAD_TOKEN, UNK_TOKEN, Layer, encode_bag, encode_int, idf_from_counts
from firth_service import budget
from firth_service.admission import HEAVY_CELLS, heavy_texts
from firth_service.encode_schemas import (
    MAX_OUTPUT_CELLS,
    MAX_VOCABULARY_PAGE,
    EmbeddingMatrixRequest,
    EmbeddingMatrixResponse,
    EncodeRequest,
    EncodeResponse,
    VocabularyPage,
)
from firth_service.registry import LoadedModel
from firth_service.responses import FastJSONResponse
from firth_service.routes.queries import Model, model_router
from firth_service.settings import MAX_RESPONSE_BYTES, MAX_WORD_CHARS
from firth_service.work import run_sized

router = model_router("text")
NPY_MEDIA_TYPE = "application/x-npy"
MISSING_COUNT_HEADER = "X-Firth-Missing-Count"
MISSING_WORDS_HEADER = "X-Firth-Missing-Words"
VOCABULARY_ENTRY_BYTES = 80  # {"word": "...", "id": 400001, "rank": 400000, "count": 12345678901},
MISSING_HEADER_BYTES = 2048  # proxies cap a response's headers at 4-8 KiB (nginx proxy_buffer_size)


# -- encode ----------------------------------------------------------------------------------------


def encode(model: LoadedModel, body: EncodeRequest) -> dict[str, Any]:
    if body.output_mode != "int" and (body.output_sequence_length is not None or body.ragged):
        raise VectorizationError("output_sequence_length and ragged apply to output_mode 'int' only")
    kv = model.kv
    layer = Layer(len(kv), body.output_mode, body.max_tokens, body.pad_to_max_tokens)
    texts = TextPipeline.for_model(kv).tokenize_many(body.texts)
    rows = [t.rows for t in texts]
    width = 0
    if body.output_mode == "int":
        width = body.output_sequence_length or max((len(r) for r in rows), default=0)
        cells = sum(len(r) for r in rows) if body.ragged else len(rows) * width
    else:
        cells = len(rows) * layer.depth
    if cells > MAX_OUTPUT_CELLS:
        raise OutputTooLarge(
            f"the answer would hold {cells:,} numbers, more than {MAX_OUTPUT_CELLS:,}: send fewer texts"
            + (" or a smaller max_tokens" if body.output_mode != "int" else " or an output_sequence_length")
        )
    budget.check_response(
        encoded_bytes(layer, body, rows, width if body.output_mode == "int" else layer.depth)
        + sum(2 * budget.json_string_bytes(t.tokens) + budget.TEXT_BYTES for t in texts),  # tokens, oov
        "the answer lists every text's ids and tokens: send fewer or shorter texts, in several requests"
        + (", or an output_sequence_length" if body.output_mode == "int" else ", or a smaller max_tokens"),
    )
    ids: list[Any]
    if body.output_mode == "int":
        ids = encode_int(layer, rows, body.output_sequence_length, body.ragged)
    else:
        word_idf = idf_from_counts(kv.counts, len(kv)) if body.output_mode == "tf_idf" else None
        bag = encode_bag(layer, rows, word_idf)
        ids = bag.tolist() if body.output_mode == "tf_idf" else bag.astype(np.int64).tolist()
    tokens = []
    for text in texts:
        unknown = layer.ids(text.rows) == layer.unk_id
        oov = dict.fromkeys(t for t, u in zip(text.tokens, unknown.tolist(), strict=True) if u)
        tokens.append({"tokens": text.tokens, "oov": list(oov)})
    return {
        "model": model.name,
        "output_mode": body.output_mode,
        "vocabulary_size": layer.vocabulary_size,
        "ids": ids,
        "texts": tokens,
    }


def encoded_bytes(layer: Layer, body: EncodeRequest, rows: list[np.ndarray], width: int) -> int:
    """`ids` as JSON at its longest, from the token counts: a token's id at the widest id, a pad
    or a bag's zero "0," ("0.0," in tf_idf), a bag's non-zero at most one per token."""
    longest_id = len(str(layer.vocabulary_size)) + 1
    total = 0
    for row in rows:
        tokens = len(row)
        if body.output_mode == "int":
            shown = tokens if body.ragged else min(tokens, width)
            total += shown * longest_id + (0 if body.ragged else width - shown) * 2
        else:
            nonzero = min(tokens, width)
            number = {"multi_hot": 2, "count": len(str(tokens)) + 1}.get(body.output_mode, budget.FLOAT_BYTES)
            total += nonzero * number + (width - nonzero) * (4 if body.output_mode == "tf_idf" else 2)
        total += 2
    return total


@router.post(
    "/encode",
    response_model=EncodeResponse,
    summary="Texts to ids, multi-hot, counts or tf-idf (Keras TextVectorization over the model's vocabulary)",
)
async def post_encode(request: Request, model: Model, body: EncodeRequest) -> FastJSONResponse:
    heavy = heavy_texts(body.texts) or bag_cells(model, body) > HEAVY_CELLS
    return FastJSONResponse(await run_sized(request, heavy, encode, model, body))


def bag_cells(model: LoadedModel, body: EncodeRequest) -> int:
    """The numbers in a multi_hot / count / tf_idf answer (texts x the layer's width), known before
    any text is read; 0 for 'int' (its answer is bounded by the texts' characters) or a bad layer."""
    if body.output_mode == "int":
        return 0
    try:
        layer = Layer(len(model.kv), body.output_mode, body.max_tokens, body.pad_to_max_tokens)
    except VectorizationError:
        return 0  # encode() answers it at once
    return len(body.texts) * layer.depth


# -- vocabulary ------------------------------------------------------------------------------------


_sorted_lock = threading.Lock()
_sorted: weakref.WeakKeyDictionary[KeyedVectors, tuple[list[str], list[int]]] = weakref.WeakKeyDictionary()


def _alphabetical(kv: KeyedVectors) -> tuple[list[str], list[int]]:
    """The words sorted, with their rows: a prefix is one bisected range (built once per model)."""
    with _sorted_lock:
        cached = _sorted.get(kv)
        if cached is None:
            order = sorted(range(len(kv)), key=kv.words.__getitem__)
            cached = _sorted[kv] = ([kv.words[r] for r in order], order)
    return cached


def rows_with_prefix(kv: KeyedVectors, prefix: str) -> list[int]:
    """Rows of the words starting with `prefix`, in frequency order."""
    words, rows = _alphabetical(kv)
    lo = bisect.bisect_left(words, prefix)
    hi = bisect.bisect_left(words, prefix + chr(0x10FFFF), lo)
    return sorted(rows[lo:hi])


def vocabulary_page(model: LoadedModel, offset: int, limit: int, prefix: str | None) -> dict[str, Any]:
    kv = model.kv
    if prefix:
        rows = rows_with_prefix(kv, get_standardizer(kv.standardize_name)(prefix))
        total, page = len(rows), rows[offset : offset + limit]
    else:
        total, page = len(kv), list(range(offset, min(offset + limit, len(kv))))
    counts = kv.counts
    return {
        "model": model.name,
        "special_tokens": {"": 0, "[UNK]": 1},
        "total": total,
        "offset": offset,
        "limit": limit,
        "prefix": prefix,
        "words": [
            {
                "word": kv.words[r],
                "id": r + 2,
                "rank": r + 1,
                "count": int(counts[r]) if counts is not None else None,
            }
            for r in page
        ],
    }


@router.get(
    "/vocabulary",
    response_model=VocabularyPage,
    summary="Page through the words in frequency order, with their ids, ranks and counts",
)
async def get_vocabulary(
    model: Model,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Words to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_VOCABULARY_PAGE, description="Words in the page.")] = 100,
    prefix: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_WORD_CHARS,
            description="Only words starting with this (after the model's standardisation).",
            examples=["cat"],
        ),
    ] = None,
) -> FastJSONResponse:
    # a page of a model's longest words within the budget (only a model of 16 KB words could pass it)
    budget.check_response(
        limit * (model.longest_word_bytes + VOCABULARY_ENTRY_BYTES), "ask for a smaller limit"
    )
    # the first prefix query of a model sorts its vocabulary (about a second for 400,000 words)
    return FastJSONResponse(await run_in_threadpool(vocabulary_page, model, offset, limit, prefix))


# -- embedding matrix --------------------------------------------------------------------------------


def matrix_rows(model: LoadedModel, body: EmbeddingMatrixRequest) -> int:
    if body.vocabulary is not None:
        return len(body.vocabulary)
    return min(len(model.kv), (body.max_tokens or 2) - 2) + 2


def check_matrix_budget(model: LoadedModel, body: EmbeddingMatrixRequest) -> None:
    """The answer's numbers, from the request alone: the .npy file exactly (rows x dim x 4 bytes and
    its header), JSON's at their longest. Cheap, so the route refuses before taking a slot."""
    rows, dim = matrix_rows(model, body), model.kv.dim
    if body.format == "npy":
        budget.check_npy(
            rows, dim, _matrix_advice(body, (MAX_RESPONSE_BYTES - budget.NPY_HEADER_BYTES) // (dim * 4))
        )
    else:
        budget.check_float32_json(
            rows, dim, advice=_matrix_advice(body, MAX_RESPONSE_BYTES // (dim * budget.FLOAT32_BYTES))
        )


def _matrix_advice(body: EmbeddingMatrixRequest, rows_that_fit: int) -> str:
    fit = f"about {rows_that_fit:,} rows of this model fit in format {body.format!r}"
    if body.vocabulary is None:
        advice = f"{fit}: ask for a smaller max_tokens (the rarer words as a vocabulary, in parts)"
    else:
        advice = f"{fit}: send the vocabulary in parts"
    return advice + (", or format 'npy' (4 bytes a number)" if body.format == "json" else "")


def check_json_words_budget(model: LoadedModel, body: EmbeddingMatrixRequest) -> None:
    """JSON's numbers plus its words: listed in `words`, and once more at most in `missing` or
    `subword` (disjoint subsets of them). Counted in the worker thread: a pass over the words."""
    rows = matrix_rows(model, body)
    words = (
        body.vocabulary
        if body.vocabulary is not None
        else [PAD_TOKEN, UNK_TOKEN, *model.kv.words[: rows - 2]]
    )
    budget.check_float32_json(
        rows,
        model.kv.dim,
        2 * budget.json_string_bytes(words),
        "ask for fewer or shorter words, or format 'npy'",
    )


def build_matrix(model: LoadedModel, body: EmbeddingMatrixRequest) -> EmbeddingMatrix:
    kv = model.kv
    if body.format == "json":
        check_json_words_budget(model, body)
    if body.vocabulary is not None:
        return matrix_for_vocabulary(kv, body.vocabulary, body.normalize)
    assert body.max_tokens is not None
    return matrix_for_max_tokens(kv, body.max_tokens, body.normalize)


def missing_headers(missing: list[str]) -> dict[str, str]:
    """The count, and as many missing words as fit in MISSING_HEADER_BYTES as a JSON array (ASCII:
    non-ASCII characters \\u-escaped). format 'json' lists them all."""
    shown: list[str] = []
    size = 2
    for word in missing:
        size += len(json.dumps(word)) + 2  # ensure_ascii: the \\u escapes a header needs
        if size > MISSING_HEADER_BYTES:
            break
        shown.append(word)
    return {MISSING_COUNT_HEADER: str(len(missing)), MISSING_WORDS_HEADER: json.dumps(shown)}


MATRIX_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The matrix: a float32 .npy file (words not found in the X-Firth-Missing-Count and "
        "X-Firth-Missing-Words headers), or JSON with `format: json`.",
        "content": {
            NPY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/EmbeddingMatrixResponse"}},
        },
        "headers": {
            MISSING_COUNT_HEADER: {
                "description": "How many words were not found (.npy).",
                "schema": {"type": "integer"},
            },
            MISSING_WORDS_HEADER: {
                "description": f"The first words not found, a JSON array of at most {MISSING_HEADER_BYTES} "
                "ASCII bytes (.npy; format json lists all).",
                "schema": {"type": "string"},
            },
        },
    }
}


@router.post(
    "/embedding-matrix",
    response_model=EmbeddingMatrixResponse,
    responses=MATRIX_RESPONSES,
    summary="The embedding matrix for a task's vocabulary (row i = word i; pad, [UNK], unknown words zero)",
)
async def post_embedding_matrix(request: Request, model: Model, body: EmbeddingMatrixRequest) -> Response:
    check_matrix_budget(model, body)  # 422 over-budget past 16 MiB, before any work
    heavy = matrix_rows(model, body) * model.kv.dim > HEAVY_CELLS  # 20,000 words of 50 dimensions
    result = await run_sized(request, heavy, build_matrix, model, body)
    if body.format == "json":
        return FastJSONResponse(
            {
                "model": model.name,
                "shape": list(result.matrix.shape),
                "words": result.words,
                "missing": result.missing,
                **({"subword": result.subword} if result.subword else {}),
                "matrix": result.matrix,
            }
        )
    buffer = io.BytesIO()
    np.save(buffer, result.matrix, allow_pickle=False)
    headers = {
        **missing_headers(result.missing),
        "Content-Disposition": f'attachment; filename="{model.name}-embedding-matrix.npy"',
    }
    return Response(buffer.getvalue(), media_type=NPY_MEDIA_TYPE, headers=headers)
