"""What the text endpoints compute, apart from HTTP: sentence vectors (/embed), and texts where
the word queries take words (similarity of text pairs, a text-by-text cosine matrix, a text's
nearest words). Each function returns the response body.

Every text goes through firth_core.text (the model's standardiser, whitespace split, lookup) and
firth_core.pooling; a text's nearest words go through the engine's one neighbour path.

A subword model's unknown tokens count with their n-gram vectors: `oov` still lists every token
outside the vocabulary, and `subword` (present when not empty) those of them that got an n-gram
vector and counted; the others (no n-gram at all) were left out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from firth_core.classifier import describe_model
from firth_core.errors import EmptyText, NotAClassifier
from firth_core.pooling import TextRows, embed_texts, text_rows
from firth_core.query import NeighbourQuery
from firth_core.text import TextPipeline, TokenizedText
from firth_service import budget, engine
from firth_service.metrics import record_queries
from firth_service.registry import LoadedModel
from firth_service.schemas_text import (
    ClassifyRequest,
    EmbedRequest,
    PoolingOptions,
    TextNeighborsQuery,
    TextSimilarityMatrixRequest,
    TextSimilarityPairsRequest,
)


def _tokens(text: TokenizedText, subword: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"tokens": text.tokens, "oov": text.oov}
    if subword:
        body["subword"] = subword
    return body


def _base64(vector: np.ndarray) -> str:
    return base64.b64encode(vector.astype("<f4", copy=False).tobytes()).decode("ascii")


LABEL_ENTRY_BYTES = 48  # {"label": ..., "probability": -1.2345678901234567e-05}, around the label
TEXTS_ADVICE = "the answer lists every text's tokens: send fewer or shorter texts, in several requests"


def _tokenize(model: LoadedModel, texts: Sequence[str]) -> tuple[list[TokenizedText], TextRows]:
    tokenized = TextPipeline.for_model(model.kv).tokenize_many(texts)
    return tokenized, text_rows(model.kv, tokenized)


def _echo_bytes(tokenized: Sequence[TokenizedText], rows: TextRows) -> int:
    """The answer's token lists (`tokens`, `oov`, `subword`) at their longest."""
    return sum(
        budget.json_string_bytes(t.tokens)
        + budget.json_string_bytes(t.oov)
        + budget.json_string_bytes(s)
        + budget.TEXT_BYTES
        for t, s in zip(tokenized, rows.subword, strict=True)
    )


def _embed(
    model: LoadedModel,
    tokenized: list[TokenizedText],
    rows: TextRows,
    options: PoolingOptions,
    field: str,
    post_normalize: bool = False,
) -> tuple[list[dict[str, Any]], list[np.ndarray | None]]:
    """The texts' token lists (for the response) and their sentence vectors."""
    vectors = embed_texts(
        model.kv,
        tokenized,
        options.pooling,
        options.pre_normalize,
        post_normalize,
        options.sif_a,
        options.oov,
        field,
        rows,
    )
    return [_tokens(t, s) for t, s in zip(tokenized, rows.subword, strict=True)], vectors


def _vectors(
    model: LoadedModel,
    texts: Sequence[str],
    options: PoolingOptions,
    field: str,
    post_normalize: bool = False,
    answer_bytes: int = 0,
) -> tuple[list[dict[str, Any]], list[np.ndarray | None]]:
    """_embed, once the texts' tokens and `answer_bytes` (the rest of the answer) fit the budget:
    the tokens echoed can take an answer past 16 MiB from a body within 8 MiB."""
    tokenized, rows = _tokenize(model, texts)
    budget.check_response(answer_bytes + _echo_bytes(tokenized, rows), TEXTS_ADVICE)
    return _embed(model, tokenized, rows, options, field, post_normalize)


def embed(model: LoadedModel, body: EmbedRequest) -> dict[str, Any]:
    vectors_bytes = len(body.texts) * budget.vector_bytes(model.kv.dim, body.encoding)
    tokenized, vectors = _vectors(model, body.texts, body, "texts", body.post_normalize, vectors_bytes)
    out: list[Any] = vectors
    if body.encoding == "base64":
        out = [None if v is None else _base64(v) for v in vectors]
    return {
        "model": model.name,
        "dim": model.kv.dim,
        "vectors": out,
        "texts": tokenized,
    }


def _cosines(left: list[np.ndarray | None], right: list[np.ndarray | None]) -> list[list[float | None]]:
    """cosine(left[i], right[j]); None where either side has no vector."""
    dim = next((v.shape[0] for v in left + right if v is not None), 0)

    def unit(vectors: list[np.ndarray | None]) -> np.ndarray:
        stacked = np.stack([np.zeros(dim, np.float32) if v is None else v for v in vectors]).astype(
            np.float64
        )
        norms = np.linalg.norm(stacked, axis=1)
        norms[norms == 0.0] = 1.0
        return stacked / norms[:, None]

    matrix = (unit(left) @ unit(right).T).tolist()
    for i, v in enumerate(left):
        for j, w in enumerate(right):
            if v is None or w is None:
                matrix[i][j] = None
    return matrix


def similarity_pairs(model: LoadedModel, body: TextSimilarityPairsRequest) -> dict[str, Any]:
    flat = [text for pair in body.text_pairs for text in pair]
    try:
        tokenized, vectors = _vectors(
            model, flat, body, "text_pairs", answer_bytes=len(flat) * budget.FLOAT_BYTES
        )
    except EmptyText as exc:  # name the pair and its side, not the flattened position
        position = exc.index or 0
        raise EmptyText(position % 2, exc.tokens, f"text_pairs[{position // 2}]") from None
    rows = []
    for i in range(0, len(flat), 2):
        ((sim,),) = _cosines([vectors[i]], [vectors[i + 1]])
        rows.append({"a": tokenized[i], "b": tokenized[i + 1], "similarity": sim})
    return {"model": model.name, "similarities": rows}


def similarity_matrix(model: LoadedModel, body: TextSimilarityMatrixRequest) -> dict[str, Any]:
    tokenized_a, rows_a = _tokenize(model, body.texts_a)
    tokenized_b, rows_b = _tokenize(model, body.texts_b)
    matrix_bytes = len(body.texts_a) * len(body.texts_b) * budget.FLOAT_BYTES  # checked by the route too
    echoed = _echo_bytes(tokenized_a, rows_a) + _echo_bytes(tokenized_b, rows_b)
    budget.check_response(matrix_bytes + echoed, TEXTS_ADVICE)
    tokens_a, vectors_a = _embed(model, tokenized_a, rows_a, body, "texts_a")
    tokens_b, vectors_b = _embed(model, tokenized_b, rows_b, body, "texts_b")
    return {
        "model": model.name,
        "a": tokens_a,
        "b": tokens_b,
        "matrix": _cosines(vectors_a, vectors_b),
    }


def neighbours(model: LoadedModel, body: TextNeighborsQuery) -> dict[str, Any]:
    """most_similar(positive=the text's tokens that have vectors): gensim's query for a bag of words."""
    tokenized = TextPipeline.for_model(model.kv).tokenize(body.text)
    rows: TextRows = text_rows(model.kv, [tokenized])
    (subword,) = rows.subword
    built = set(subword)
    positive = [
        t for t, r in zip(tokenized.tokens, tokenized.rows.tolist(), strict=True) if r >= 0 or t in built
    ]
    if not positive:
        raise EmptyText(None, tokenized.tokens, "text")
    query = NeighbourQuery(
        positive=positive,
        k=body.k,
        method=body.method,
        restrict_vocab=body.restrict_vocab,
        exact=body.exact,
    )
    (result,) = engine.neighbours(model, [query])
    record_queries(model.name, [result])
    return {
        "model": model.name,
        "text": _tokens(tokenized, subword),
        "positive": result.positive,
        "negative": [],
        "index": result.index,
        "neighbors": [{"word": w, "similarity": s} for w, s in result.neighbors],
    }


def classify(model: LoadedModel, body: ClassifyRequest) -> dict[str, Any]:
    """Each text's top labels (fastText's predict) from a model trained with --algorithm supervised."""
    classifier = model.classifier
    if classifier is None:
        raise NotAClassifier(model.name, describe_model(model.meta))
    parsed = [classifier.text_rows(text) for text in body.texts]
    label_entry = max(budget.json_string_bytes([label]) for label in classifier.labels) + LABEL_ENTRY_BYTES
    labels_bytes = len(parsed) * min(body.k, len(classifier.labels)) * label_entry
    echoed = sum(budget.json_string_bytes(p.tokens) + budget.json_string_bytes(p.oov) for p in parsed)
    budget.check_response(
        labels_bytes + echoed + len(parsed) * budget.TEXT_BYTES,
        "the answer lists every text's tokens and k labels: send fewer or shorter texts, or a smaller k",
    )
    predictions = classifier.predict_rows(parsed, body.k, body.threshold)
    return {
        "model": model.name,
        "loss": classifier.loss,
        "texts": [
            {
                "tokens": p.tokens,
                "oov": p.oov,
                "labels": [{"label": label, "probability": prob} for label, prob in p.labels],
            }
            for p in predictions
        ],
    }
