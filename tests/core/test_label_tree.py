"""The hierarchical softmax's label tree: fastText's buildTree, worked by hand, and leaf
probabilities that sum to one."""

from __future__ import annotations

import numpy as np
import pytest

from firth_core.label_tree import huffman_tree, leaf_probabilities


def _paths(counts: list[int]) -> list[tuple[list[int], list[int]]]:
    tree = huffman_tree(counts)
    return [
        (tree.nodes[lo:hi].tolist(), tree.codes[lo:hi].tolist())
        for lo, hi in zip(tree.offsets[:-1], tree.offsets[1:], strict=True)
    ]


def test_the_tree_of_four_labels_worked_by_hand() -> None:
    # buildTree on 9, 5, 3, 1: inner node 0 joins labels 3 and 2 (count 4), node 1 joins node 0
    # and label 1 (9), node 2 (the root) joins node 1 and label 0 (18); the second child is code 1.
    assert _paths([9, 5, 3, 1]) == [
        ([2], [1]),
        ([1, 2], [1, 0]),
        ([0, 1, 2], [1, 0, 0]),
        ([0, 1, 2], [0, 0, 0]),
    ]


def test_frequent_labels_have_short_paths_and_leaves_sum_to_one() -> None:
    counts = [400, 200, 100, 50, 25, 12, 6, 3, 2, 1]
    paths = _paths(counts)
    lengths = [len(nodes) for nodes, _ in paths]
    assert lengths == sorted(lengths) and lengths[0] == 1 and lengths[-1] == 9
    assert len({tuple(zip(n, c, strict=True)) for n, c in paths}) == len(counts)  # every leaf its own path
    scores = np.random.default_rng(0).normal(0, 3, (5, len(counts) - 1))
    probs = leaf_probabilities(huffman_tree(counts), scores)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_counts_must_be_sorted() -> None:
    with pytest.raises(ValueError):
        huffman_tree([1, 5])
