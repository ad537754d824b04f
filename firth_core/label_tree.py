"""The label tree of hierarchical softmax: a Huffman tree over the label counts, as fastText's
HierarchicalSoftmaxLoss::buildTree builds it, so frequent labels sit near the root.

Labels are the leaves 0 … n-1 (most frequent first, as the trainer orders them); the n-1 inner
nodes are numbered 0 … n-2 and are rows of the output matrix. A label's path lists the inner
nodes from its parent up to the root and the code taken at each (1: it is the node's right
child). Its probability is the product over the path of sigmoid(score) where the code is 1 and
1 - sigmoid(score) where it is 0, so the leaves' probabilities sum to one. Pure code, no I/O: the
trainer and the predictor both build the tree from meta.json's label counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

_NO_COUNT = 10**15  # fastText's 1e15: an inner node not built yet


class HuffmanTree(NamedTuple):
    """Each label's path, back to back: label i's inner nodes are nodes[offsets[i]:offsets[i+1]]
    and its codes codes[offsets[i]:offsets[i+1]] (a namedtuple, so numba kernels read it)."""

    nodes: np.ndarray  # int32 inner node numbers (rows of the output matrix)
    codes: np.ndarray  # int8, 1 where the path goes right
    offsets: np.ndarray  # int64, labels + 1


def huffman_tree(counts: Sequence[int]) -> HuffmanTree:
    """fastText's buildTree over counts sorted in descending order."""
    n = len(counts)
    if any(counts[i] < counts[i + 1] for i in range(n - 1)):
        raise ValueError("label counts must be in descending order")
    size = max(2 * n - 1, 1)
    count = [_NO_COUNT] * size
    parent = [-1] * size
    binary = [0] * size
    count[:n] = [int(c) for c in counts]
    leaf, node = n - 1, n
    for i in range(n, 2 * n - 1):
        chosen = []
        for _ in range(2):  # the two smallest of the next leaf and the next inner node
            if leaf >= 0 and count[leaf] < count[node]:
                chosen.append(leaf)
                leaf -= 1
            else:
                chosen.append(node)
                node += 1
        count[i] = count[chosen[0]] + count[chosen[1]]
        parent[chosen[0]] = parent[chosen[1]] = i
        binary[chosen[1]] = 1
    nodes: list[int] = []
    codes: list[int] = []
    offsets = [0]
    for label in range(n):
        j = label
        while parent[j] != -1:
            nodes.append(parent[j] - n)
            codes.append(binary[j])
            j = parent[j]
        offsets.append(len(nodes))
    return HuffmanTree(
        np.array(nodes, dtype=np.int32), np.array(codes, dtype=np.int8), np.array(offsets, dtype=np.int64)
    )


def empty_tree() -> HuffmanTree:
    """The tree of a model that is not trained with hs (the kernels take one all the same)."""
    return HuffmanTree(np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(1, np.int64))


def leaf_probabilities(tree: HuffmanTree, node_scores: np.ndarray) -> np.ndarray:
    """(texts, labels) probabilities from (texts, inner nodes) scores."""
    n_labels = tree.offsets.shape[0] - 1
    log_yes = -np.logaddexp(0.0, -node_scores)  # log sigmoid(score)
    log_no = -np.logaddexp(0.0, node_scores)  # log (1 - sigmoid(score))
    out = np.zeros((node_scores.shape[0], n_labels), dtype=np.float64)
    for label in range(n_labels):
        lo, hi = tree.offsets[label], tree.offsets[label + 1]
        nodes, codes = tree.nodes[lo:hi], tree.codes[lo:hi].astype(bool)
        out[:, label] = log_yes[:, nodes[codes]].sum(axis=1) + log_no[:, nodes[~codes]].sum(axis=1)
    return np.exp(out)
