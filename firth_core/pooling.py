"""Sentence vectors from word vectors: mean (gensim's get_mean_vector) and SIF (Arora et al. 2017).

Pure numerics over a KeyedVectors and the rows firth_core.text found. A batch is one sparse
(texts x vocabulary) weight matrix times the word vectors, row by row, so a text's vector never
depends on the other texts it came with.

- mean: gensim 4.4 `get_mean_vector(tokens, pre_normalize, post_normalize)` with its defaults
  (unit word vectors, result not normalised); unknown tokens are left out (ignore_missing), a
  repeated word counts each time. A subword model's unknown tokens count with their n-gram vectors
  (as gensim's FastTextKeyedVectors.get_mean_vector counts them): `text_rows` gives them rows past
  the vocabulary, into one small matrix of the batch's n-gram vectors; only a token without any
  n-gram is left out.
- sif: Arora, Liang and Ma (2017), "A simple but tough-to-beat baseline for sentence embeddings":
  v_s = (1/|s|) sum_w a/(a + p(w)) v_w, then the projection on the first principal component u
  removed: v_s - u u^T v_s. p(w) is the word's count over the total when the model records counts
  (vocab.txt), else Zipf's law on its frequency rank, p = 1 / (rank * H_V). u is computed once per
  model (and per a and pre_normalize) from a fixed reference: REFERENCE_TEXTS pseudo-sentences of
  REFERENCE_LENGTH words drawn from p(w) with a fixed seed, pooled the same way, and the first right
  singular vector of that matrix taken uncentred (as the paper's TruncatedSVD does). A token built
  from n-grams is rarer than every vocabulary word: it gets the smallest p(w) of the vocabulary.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse

from firth_core.errors import EmptyText
from firth_core.keyed_vectors import KeyedVectors
from firth_core.text import UNKNOWN_ROW, TokenizedText

Pooling = Literal["mean", "sif"]
SIF_A = 1e-3  # the paper's a; its experiments found 1e-3 to 1e-4 best
REFERENCE_TEXTS = 10_000  # pseudo-sentences in the fixed reference for the common component
REFERENCE_LENGTH = 20  # words in each (about the length of a benchmark-corpus line)
REFERENCE_SEED = 0

_cache_lock = threading.Lock()
_probabilities: weakref.WeakKeyDictionary[KeyedVectors, np.ndarray] = weakref.WeakKeyDictionary()
_components: weakref.WeakKeyDictionary[KeyedVectors, dict[tuple[float, bool], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def word_probabilities(kv: KeyedVectors) -> np.ndarray:
    """p(w) for every row: counts / total when the model has counts, else Zipf on the rank."""
    with _cache_lock:
        cached = _probabilities.get(kv)
    if cached is not None:
        return cached
    if kv.counts is not None and int(np.sum(kv.counts)) > 0:
        counts = np.asarray(kv.counts, dtype=np.float64)
        p = counts / counts.sum()
    else:
        ranks = np.arange(1, len(kv) + 1, dtype=np.float64)  # rows are in frequency order
        p = 1.0 / ranks
        p /= p.sum()  # 1 / (rank * H_V)
    p.setflags(write=False)
    with _cache_lock:
        _probabilities[kv] = p
    return p


def probability_source(kv: KeyedVectors) -> Literal["counts", "zipf"]:
    return "counts" if kv.counts is not None and int(np.sum(kv.counts)) > 0 else "zipf"


def sif_weights(kv: KeyedVectors, rows: np.ndarray, a: float = SIF_A) -> np.ndarray:
    """a / (a + p(w)) for the given rows; rows past the vocabulary (tokens built from n-grams) get
    the vocabulary's smallest p(w)."""
    probabilities = word_probabilities(kv)
    inside = rows < len(kv)
    p = probabilities[np.where(inside, rows, 0)]
    if not inside.all():
        p = np.where(inside, p, probabilities.min())
    return (a / (a + p)).astype(np.float32)


@dataclass(frozen=True)
class TextRows:
    """Each text's rows for pooling: vocabulary rows, and `len(kv) + j` for a subword model's
    unknown token whose n-gram vector is row j of `extra` (each distinct token once a batch)."""

    rows: list[np.ndarray]
    extra: np.ndarray  # (m, d) float32 raw n-gram vectors
    subword: list[list[str]]  # per text: its tokens built from n-grams, each once, in order


def text_rows(kv: KeyedVectors, texts: Sequence[TokenizedText]) -> TextRows:
    """The rows of the known tokens (a model without subwords), plus the n-gram rows of unknown
    tokens for a subword model, in the tokens' order."""
    empty = np.zeros((0, kv.dim), dtype=np.float32)
    if kv.subwords is None:
        return TextRows([t.known_rows for t in texts], empty, [[] for _ in texts])
    unknown = list(dict.fromkeys(token for t in texts for token in t.oov))
    vectors, found = kv.subword_vectors(unknown)
    extra_row = {
        token: len(kv) + j for j, token in enumerate(t for t, f in zip(unknown, found, strict=True) if f)
    }
    rows: list[np.ndarray] = []
    subword: list[list[str]] = []
    for text in texts:
        if not text.oov:
            rows.append(text.known_rows)
            subword.append([])
            continue
        filled = [
            r if r != UNKNOWN_ROW else extra_row.get(token, UNKNOWN_ROW)
            for token, r in zip(text.tokens, text.rows.tolist(), strict=True)
        ]
        array = np.array(filled, dtype=np.int64)
        rows.append(array[array != UNKNOWN_ROW])
        subword.append([token for token in text.oov if token in extra_row])
    return TextRows(rows, np.ascontiguousarray(vectors[found]), subword)


def _pool(
    kv: KeyedVectors,
    rows: Sequence[np.ndarray],
    sif_a: float | None,
    pre_normalize: bool,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Row i: sum_j w(rows_i[j]) x[rows_i[j]] / len(rows_i): x unit or raw vectors (rows past the
    vocabulary: rows of `extra`), w the SIF weight (1 when sif_a is None).
    Every rows_i must be non-empty."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    values = np.ones(indices.shape[0], dtype=np.float32) if sif_a is None else sif_weights(kv, indices, sif_a)
    n = len(kv)
    width = n + (0 if extra is None else extra.shape[0])
    matrix = scipy.sparse.csr_matrix((values, indices, indptr), shape=(len(rows), width))
    source = kv.unit if pre_normalize else np.asarray(kv.vectors, dtype=np.float32)
    if width == n:
        sums = np.asarray(matrix @ source, dtype=np.float32)
    else:
        assert extra is not None
        extra_source = _unit(extra) if pre_normalize else extra
        sums = np.asarray(matrix[:, :n] @ source, dtype=np.float32)
        sums += np.asarray(matrix[:, n:] @ extra_source, dtype=np.float32)
    return sums / lengths[:, None].astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """gensim's matutils.unitvec row by row: a zero row stays zero."""
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    norms[norms == 0.0] = 1.0
    return (vectors / norms[:, None]).astype(np.float32)


def common_component(kv: KeyedVectors, a: float = SIF_A, pre_normalize: bool = True) -> np.ndarray:
    """The unit first principal component of the fixed reference's SIF vectors (cached per model)."""
    key = (a, pre_normalize)
    with _cache_lock:
        cached = _components.get(kv, {}).get(key)
    if cached is not None:
        return cached
    rng = np.random.default_rng(REFERENCE_SEED)
    draws = rng.choice(len(kv), size=(REFERENCE_TEXTS, REFERENCE_LENGTH), p=word_probabilities(kv))
    reference = _pool(kv, list(draws), a, pre_normalize)
    # The first right singular vector of X is the top eigenvector of the d x d matrix X^T X.
    gram = reference.astype(np.float64).T @ reference.astype(np.float64)
    _, eigenvectors = np.linalg.eigh(gram)  # ascending eigenvalues
    u = eigenvectors[:, -1].astype(np.float32)
    u.setflags(write=False)
    with _cache_lock:
        _components.setdefault(kv, {})[key] = u
    return u


def sentence_vectors(
    kv: KeyedVectors,
    rows: Sequence[np.ndarray],
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    post_normalize: bool = False,
    a: float = SIF_A,
    extra: np.ndarray | None = None,
) -> list[np.ndarray | None]:
    """One vector per text (None for a text with no known row), in the order given; rows past the
    vocabulary are rows of `extra` (TextRows)."""
    present = [i for i, r in enumerate(rows) if len(r)]
    out: list[np.ndarray | None] = [None] * len(rows)
    if not present:
        return out
    chosen = [rows[i] for i in present]
    if pooling == "mean":
        pooled = _pool(kv, chosen, None, pre_normalize, extra)
    else:
        pooled = _pool(kv, chosen, a, pre_normalize, extra)
        u = common_component(kv, a, pre_normalize)
        # einsum, not BLAS: BLAS blocks by batch size, so a row's rounding could depend on the batch
        pooled = pooled - np.einsum("i,j->ij", np.einsum("ij,j->i", pooled, u), u)
    if post_normalize:
        pooled = _unit(pooled)
    for i, vector in zip(present, pooled, strict=True):
        out[i] = vector
    return out


def embed_texts(
    kv: KeyedVectors,
    texts: Sequence[TokenizedText],
    pooling: Pooling = "mean",
    pre_normalize: bool = True,
    post_normalize: bool = False,
    a: float = SIF_A,
    empty: Literal["error", "null"] = "error",
    field: str = "texts",
    rows: TextRows | None = None,
) -> list[np.ndarray | None]:
    """Sentence vectors of tokenised texts; a text with no token that has a vector raises
    EmptyText naming its index (empty 'error') or gets None (empty 'null'). `rows`: the texts'
    `text_rows`, when the caller has them already."""
    if rows is None:
        rows = text_rows(kv, texts)
    if empty == "error":
        for i, (text, found) in enumerate(zip(texts, rows.rows, strict=True)):
            if not len(found):
                raise EmptyText(i, text.tokens, field)
    return sentence_vectors(kv, rows.rows, pooling, pre_normalize, post_normalize, a, rows.extra)
