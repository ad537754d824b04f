"""Supervised (fastText-style) classifier kernels: pure numba, no I/O.

An example is a run of input rows (its known words, the end-of-line token, its word n-grams) and
one or more labels. `example_step` is the whole model for one example, as fastText's
Model::update: the hidden vector is the mean of the input rows, the output layer scores every
label against it, and one SGD step moves the output rows and then every input row by the same
vector (the gradient at the mean divided by the number of rows, a row seen twice moving twice).

- softmax: one target label a step, drawn uniformly among the example's labels when it has
  several (fastText's supervised()); loss -log p(target);
- ova (one-vs-all): every label is a binary logistic question, the example's labels the positives;
  loss the sum of the binary log-losses;
- hs (hierarchical softmax): the labels are the leaves of a Huffman tree over their counts
  (firth_core/label_tree.py, fastText's buildTree); the target's probability is the product of
  the binary decisions on its path, each inner node a row of the output matrix: log2(labels)
  rows a step instead of all of them.

Each output row's gradient is taken before that row moves, as fastText does. Probabilities and
losses use exact exponentials (12 labels cost nothing next to the input rows), so the step is the
gradient of the reported loss, which the finite-difference tests check.

`train_chunk` runs a range of a fixed example order with the GIL released, so several Python
threads train the shared matrices at once (Hogwild, as fastText's threads do); its random stream
(only the choice among several labels) is seeded from (seed, epoch, chunk), so one thread is
reproducible bit for bit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from firth_core.label_tree import HuffmanTree
from firth_core.labelled_text import NGRAM_MULTIPLIER
from firth_trainer.word2vec_kernels import Chunk, xorshift

SOFTMAX, OVA, HS = 0, 1, 2  # loss_kind: --loss softmax, ova, hs
LOSS_KINDS = {"softmax": SOFTMAX, "ova": OVA, "hs": HS}


class SupervisedConfig(NamedTuple):
    """What every chunk of one run shares (one record, as word2vec_kernels.KernelConfig)."""

    rows: np.ndarray  # int64 input rows of all examples, back to back
    offsets: np.ndarray  # int64, n_examples + 1: example i's rows are rows[offsets[i]:offsets[i+1]]
    labels: np.ndarray  # int32 label ids of all examples, back to back
    label_offsets: np.ndarray  # int64, n_examples + 1
    order: np.ndarray  # int64: the order examples are visited in (a seeded permutation)
    w_in: np.ndarray  # (words + buckets, dim) float32 input rows, trained in place
    w_out: np.ndarray  # (labels, dim) float32 output rows, trained in place
    loss_kind: int  # SOFTMAX, OVA or HS
    tree: HuffmanTree  # hs: each label's path of inner nodes (rows of w_out) and the codes on it
    update_input: bool  # False: the input rows are frozen, only the output layer learns


@numba.njit(inline="always")
def _log_sigmoid_loss(f: float, positive: bool) -> float:
    """-log sigmoid(f) for a positive, -log sigmoid(-f) for a negative, computed stably."""
    z = -f if positive else f
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@numba.njit(inline="always")
def _sigmoid(f: float) -> float:
    return 1.0 / (1.0 + math.exp(-f)) if f >= 0 else math.exp(f) / (1.0 + math.exp(f))


@numba.njit(inline="always")
def _move(w_out: np.ndarray, i: int, alpha: float, hidden: np.ndarray, grad: np.ndarray) -> None:
    """Output row i's share of the input gradient first, then the row moves (fastText's order)."""
    for d in range(hidden.shape[0]):
        grad[d] += alpha * w_out[i, d]
        w_out[i, d] += alpha * hidden[d]


@numba.njit(inline="always")
def _dot(w_out: np.ndarray, i: int, hidden: np.ndarray) -> float:
    f = np.float32(0.0)
    for d in range(hidden.shape[0]):
        f += w_out[i, d] * hidden[d]
    return float(f)


@numba.njit(nogil=True, cache=True, fastmath=True)
def example_step(
    w_in: np.ndarray,
    w_out: np.ndarray,
    rows: np.ndarray,
    s: int,
    e: int,
    labels: np.ndarray,
    ls: int,
    le: int,
    target: int,
    lr: float,
    loss_kind: int,
    tree: HuffmanTree,
    update_input: bool,
    hidden: np.ndarray,
    grad: np.ndarray,
    scores: np.ndarray,
) -> float:
    """One SGD step on the example whose input rows are rows[s:e] and labels labels[ls:le];
    `target` is the label softmax and hs train towards (ova ignores it). Returns the example's
    loss before the step. hidden, grad (dim) and scores (labels) are scratch space."""
    dim = w_in.shape[1]
    n_labels = w_out.shape[0]
    hidden[:] = 0.0
    for k in range(s, e):
        r = rows[k]
        for d in range(dim):
            hidden[d] += w_in[r, d]
    inv = np.float32(1.0 / (e - s))
    for d in range(dim):
        hidden[d] *= inv
    grad[:] = 0.0
    loss = 0.0
    if loss_kind == HS:  # the binary decisions on the target's path from the root of the label tree
        for j in range(tree.offsets[target], tree.offsets[target + 1]):
            node = tree.nodes[j]
            score = _dot(w_out, node, hidden)
            positive = tree.codes[j] == 1
            loss += _log_sigmoid_loss(score, positive)
            _move(w_out, node, lr * ((1.0 if positive else 0.0) - _sigmoid(score)), hidden, grad)
    elif loss_kind == OVA:
        for i in range(n_labels):
            positive = False
            for j in range(ls, le):
                if labels[j] == i:
                    positive = True
            score = _dot(w_out, i, hidden)
            loss += _log_sigmoid_loss(score, positive)
            _move(w_out, i, lr * ((1.0 if positive else 0.0) - _sigmoid(score)), hidden, grad)
    else:
        for i in range(n_labels):
            scores[i] = _dot(w_out, i, hidden)
        top = scores[0]
        for i in range(1, n_labels):
            top = max(top, scores[i])
        total = 0.0
        for i in range(n_labels):
            total += math.exp(float(scores[i] - top))
        loss = math.log(total) + float(top - scores[target])
        for i in range(n_labels):
            p = math.exp(float(scores[i] - top)) / total
            _move(w_out, i, lr * ((1.0 if i == target else 0.0) - p), hidden, grad)
    if update_input:
        for d in range(dim):
            grad[d] *= inv
        for k in range(s, e):
            r = rows[k]
            for d in range(dim):
                w_in[r, d] += grad[d]
    return loss


@numba.njit(nogil=True, cache=True)
def train_chunk(cfg: SupervisedConfig, chunk: Chunk) -> tuple[float, int, int]:
    """Train on the examples at positions chunk.start ... chunk.end of cfg.order, the rate falling
    linearly from alpha_start to alpha_end. Returns (loss sum, examples, input rows)."""
    dim = cfg.w_in.shape[1]
    hidden = np.empty(dim, dtype=np.float32)
    grad = np.empty(dim, dtype=np.float32)
    scores = np.empty(cfg.w_out.shape[0], dtype=np.float32)
    state = chunk.seed
    span = max(chunk.end - chunk.start, 1)
    loss = 0.0
    tokens = 0
    for pos in range(chunk.start, chunk.end):
        ex = cfg.order[pos]
        s, e = cfg.offsets[ex], cfg.offsets[ex + 1]
        ls, le = cfg.label_offsets[ex], cfg.label_offsets[ex + 1]
        target = cfg.labels[ls]
        if le - ls > 1 and cfg.loss_kind != OVA:
            state = xorshift(state)
            target = cfg.labels[ls + np.int64((state >> np.uint64(33)) % np.uint64(le - ls))]
        lr = chunk.alpha_start + (chunk.alpha_end - chunk.alpha_start) * (pos - chunk.start) / span
        loss += example_step(
            cfg.w_in,
            cfg.w_out,
            cfg.rows,
            s,
            e,
            cfg.labels,
            ls,
            le,
            target,
            lr,
            cfg.loss_kind,
            cfg.tree,
            cfg.update_input,
            hidden,
            grad,
            scores,
        )
        tokens += e - s
    return loss, chunk.end - chunk.start, tokens


@numba.njit(nogil=True, cache=True)
def assemble_rows(
    token_ids: np.ndarray,
    token_offsets: np.ndarray,
    final_id: np.ndarray,
    token_hash: np.ndarray,
    eos_row: int,
    eos_hash: np.int32,
    n: int,
    bucket: int,
    n_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every example's input rows from its tokens (provisional ids, each line's run in
    token_ids[token_offsets[i]:token_offsets[i+1]]): the kept words (final_id >= 0), the end-of-line
    row, then the word n-grams over all tokens and the end-of-line token (firth_core.labelled_text
    .ngram_rows, fastText's addWordNgrams)."""
    n_examples = token_offsets.shape[0] - 1
    offsets = np.zeros(n_examples + 1, dtype=np.int64)
    for i in range(n_examples):
        m = token_offsets[i + 1] - token_offsets[i]
        kept = 1
        for k in range(token_offsets[i], token_offsets[i + 1]):
            if final_id[token_ids[k]] >= 0:
                kept += 1
        grams = 0
        if n > 1:
            for a in range(m + 1):
                grams += min(m + 1 - a, n) - 1
        offsets[i + 1] = offsets[i] + kept + grams
    rows = np.empty(offsets[n_examples], dtype=np.int64)
    hashes = np.empty(0, dtype=np.int32)
    for i in range(n_examples):
        o = offsets[i]
        a0, a1 = token_offsets[i], token_offsets[i + 1]
        for k in range(a0, a1):
            w = final_id[token_ids[k]]
            if w >= 0:
                rows[o] = w
                o += 1
        rows[o] = eos_row
        o += 1
        if n > 1:
            m = a1 - a0 + 1
            if hashes.shape[0] < m:
                hashes = np.empty(m, dtype=np.int32)
            for k in range(a0, a1):
                hashes[k - a0] = token_hash[token_ids[k]]
            hashes[m - 1] = eos_hash
            for a in range(m):
                h = np.uint64(np.int64(hashes[a]))
                for b in range(a + 1, min(m, a + n)):
                    h = h * np.uint64(NGRAM_MULTIPLIER) + np.uint64(np.int64(hashes[b]))
                    rows[o] = n_words + np.int64(h % np.uint64(bucket))
                    o += 1
    return rows, offsets
